"""The helpers' types as a user's checker sees them: ``mypy --strict`` over small user snippets."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent
GOOD, BAD = "typed_user_code.py", "bad_user_code.py"


@pytest.fixture(scope="module")
def findings() -> dict[str, list[str]]:
    """mypy's error lines per snippet, from one run over both (mypy's start-up dominates)."""
    # As in a user's project: the package is read for its types, its own findings are not shown.
    args = ["--strict", "--follow-imports=silent", "--no-error-summary", str(HERE / GOOD), str(HERE / BAD)]
    out, err, _ = api.run(args)
    assert not err, err
    lines = out.splitlines()
    return {name: [line for line in lines if Path(line.split(":")[0]).name == name] for name in (GOOD, BAD)}


def test_each_helper_returns_the_kind_it_was_given(findings: dict[str, list[str]]) -> None:
    assert findings[GOOD] == []


def test_a_lazy_result_used_as_eager_is_a_type_error(findings: dict[str, list[str]]) -> None:
    [error] = findings[BAD]
    assert 'Incompatible types in assignment (expression has type "LazyFrame"' in error
