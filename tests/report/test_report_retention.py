"""The 90-day floor: a window the builder accepts must not fail later inside the kernel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.report import build_report
from wsframes.report.builder import _packaged_template
from wsframes.timeutil import API_RETENTION, utc_now

# Run in the kernel before the data is loaded: its clock reads *minutes* later than the builder's,
# as if the kernel had taken that long to start. Every wsframes module's utc_now is replaced,
# wherever it was imported, so the loader checks the floor at that later instant too.
LATE_KERNEL = (
    "import datetime as _dt, sys as _sys\n"
    "import wsframes.loader, wsframes.report.data, wsframes.timeutil as _tu\n"
    "_real_now = _tu.utc_now\n"
    "def _late_now():\n"
    "    return _real_now() + _dt.timedelta(minutes={minutes})\n"
    "for _m in list(_sys.modules.values()):\n"
    "    ours = getattr(_m, '__name__', '').startswith('wsframes')\n"
    "    if ours and getattr(_m, 'utc_now', None) is _real_now:\n"
    "        _m.utc_now = _late_now"
)


def _late_template(tmp_path: Path, minutes: int) -> Path:
    nb = nbformat.read(_packaged_template(), as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if "setup" in c.metadata.get("tags", []))
    nb.cells.insert(setup, nbformat.v4.new_code_cell(LATE_KERNEL.format(minutes=minutes)))
    path = tmp_path / "late.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("late_minutes", [0, 5], ids=["kernel-on-time", "kernel-5-minutes-late"])
def test_a_start_exactly_90_days_back_builds_against_the_fake_api(tmp_path: Path, late_minutes: int) -> None:
    now = utc_now()
    history = generate_activity(3_000, start=now - API_RETENTION, end=now, seed=9)
    with FakeWebshare("retention-key", plans={1: history}, page_cap=5_000) as fake:
        result = build_report(
            "90d",
            plan_id=1,
            api_key=fake.api_key,
            base_url=fake.base_url,
            out_dir=tmp_path / "out",
            template=_late_template(tmp_path, late_minutes),
            page_size=5_000, requests_per_minute=None,
        )
    assert result.end - result.start == API_RETENTION
    # Only what expired while the kernel was late is missing (the fake's records are uniform).
    assert 0.95 * history.height <= result.summary["requests"] <= history.height
    page = result.html_path.read_text(encoding="utf-8")
    assert ("90-day limit when read" in page) == (late_minutes > 1)


def test_a_start_past_the_floor_is_refused_before_the_kernel(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="last 90 days"):
        build_report("91d", api_key="k", base_url="http://127.0.0.1:9", out_dir=tmp_path / "out")
    assert not list((tmp_path / "out").glob("*"))


def test_a_window_ending_at_the_floor_builds_empty_instead_of_failing(tmp_path: Path) -> None:
    # Accepted by the builder (the start is within the loader's slack), but by the time the kernel
    # asks, the loader would move the start past the end: the report says "no requests".
    now = utc_now()
    with FakeWebshare("retention-key", plans={1: generate_activity(100, seed=3)}) as fake:
        result = build_report(
            now - API_RETENTION,
            now - API_RETENTION + timedelta(seconds=30),
            plan_id=1,
            api_key=fake.api_key,
            base_url=fake.base_url,
            out_dir=tmp_path / "out",
        )
    assert result.summary["requests"] == 0
