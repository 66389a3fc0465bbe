"""One plan-id rule: a positive int or None, refused the same way by every entry point.

``plan_id=0`` used to load (the activity filters and the pool allowed it) and then fail in the
archive and the report; now each entry point refuses it, and any other non-id, before a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import wsframes as wsf
from wsframes import ConfigurationError
from wsframes.fake import FakeWebshare, generate_activity

KEY = "sk-plan-ids-5e1a9c"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START = NOW - timedelta(hours=6)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWebshare]:
    history = generate_activity(300, start=NOW - timedelta(days=1), end=NOW, seed=5, plan_id=1)
    with FakeWebshare(KEY, plans={1: history}) as server:
        yield server


@pytest.fixture(scope="module")
def archive(fake: FakeWebshare, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plan-ids") / "archive"
    wsf.sync(root, start=START, end=NOW, plan_id=1, api_key=KEY, base_url=fake.base_url, progress=False)
    return root


ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "load_activity": lambda root, pid, **kw: wsf.load_activity(START, NOW, plan_id=pid, **kw),
    "load_activity(plans)": lambda root, pid, **kw: wsf.load_activity(START, NOW, plan_id=[1, pid], **kw),
    "Client.activity": lambda root, pid, **kw: wsf.Client(**kw).activity(START, NOW, plan_id=pid),
    "load_activity(archive=)": lambda root, pid, **kw: wsf.load_activity(
        START, NOW, plan_id=pid, archive=root, **kw),
    "sync": lambda root, pid, **kw: wsf.sync(root, start=START, end=NOW, plan_id=pid, **kw),
    "scan_activity": lambda root, pid, **kw: wsf.scan_activity(root, START, NOW, plan_id=pid),
    "check_completeness": lambda root, pid, **kw: wsf.check_completeness(root, plan_id=pid, **kw),
    "load_proxies": lambda root, pid, **kw: wsf.load_proxies(plan_id=pid, **kw),
    "load_replaced_proxies": lambda root, pid, **kw: wsf.load_replaced_proxies(plan_id=pid, **kw),
    "load_error_reasons": lambda root, pid, **kw: wsf.load_error_reasons(plan_id=pid, **kw),
    "build_report": lambda root, pid, **kw: wsf.build_report(
        START, NOW, plan_id=pid, out_dir=root.parent / "reports", compare_previous=False, **kw),
}


@pytest.mark.parametrize("plan_id", [0, -3, True, "1", 1.0])
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_a_non_plan_id_before_any_request(
    fake: FakeWebshare, archive: Path, entry: str, plan_id: object
) -> None:
    fake.requests.clear()
    with pytest.raises(ConfigurationError, match=r"plan_id must be a positive integer .* got "):
        ENTRY_POINTS[entry](archive, plan_id, api_key=KEY, base_url=fake.base_url, progress=False)
    assert fake.requests == []


@pytest.mark.parametrize("entry", ["load_activity", "sync", "scan_activity", "load_proxies"])
def test_a_positive_plan_id_is_accepted(fake: FakeWebshare, archive: Path, entry: str) -> None:
    ENTRY_POINTS[entry](archive, 1, api_key=KEY, base_url=fake.base_url, progress=False)
