"""Build outcomes: a failing cell, re-running a period, bad parameters, the CLI and the demo."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from wsframes.cli import main
from wsframes.errors import ConfigurationError, ReportError
from wsframes.fake import generate_activity
from wsframes.fake.catalog import universe
from wsframes.report import build_report, demo
from wsframes.report.builder import _packaged_template
from wsframes.report.index import SUMMARY_MIME

END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=1)


@pytest.fixture(scope="module")
def activity() -> pl.DataFrame:
    return generate_activity(3_000, start=START, end=END, seed=5)


RAISES = 'raise RuntimeError("boom from the template")'
# A cell that "succeeds" but shows a traceback, as a figure that fails to render does.
SHOWS_TRACEBACK = (
    'try:\n    raise RuntimeError("boom from the template")\nexcept RuntimeError:\n'
    "    get_ipython().showtraceback()"
)


def _failing_template(tmp_path: Path, source: str = RAISES) -> Path:
    """The setup cell fails: without its data no section can be built (a failing section is
    shown as failed instead: tests/report/test_report_section_failure.py)."""
    nb = nbformat.read(_packaged_template(), as_version=4)
    setup = next(c for c in nb.cells if "setup" in c.metadata.get("tags", []))
    setup.source = source + "\n" + setup.source
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("source", [RAISES, SHOWS_TRACEBACK], ids=["raises", "shows-traceback"])
def test_failing_cell_raises_report_error_naming_it_and_keeps_the_notebook(
    tmp_path: Path, activity: pl.DataFrame, source: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(ReportError) as caught:
        build_report(START, END, data=activity, out_dir=out, template=_failing_template(tmp_path, source))
    message = str(caught.value)
    assert "'setup'" in message and "RuntimeError: boom from the template" in message
    kept = out / "wsframes-2026-11-25_2026-11-26-default-plan.failed.ipynb"
    assert str(kept) in message
    nb = nbformat.read(kept, as_version=4)
    failed = next(c for c in nb.cells if "setup" in c.metadata.get("tags", []))
    assert failed.outputs[0].output_type == "error" and failed.outputs[0].ename == "RuntimeError"
    assert not list(out.glob("*.html"))  # no half report, no index entry for it


def test_a_dying_kernel_is_one_report_error_not_an_error_log(
    tmp_path: Path, activity: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    with caplog.at_level("WARNING"), pytest.raises(ReportError) as caught:
        build_report(START, END, data=activity, out_dir=out,
                     template=_failing_template(tmp_path, "import os; os._exit(1)"))
    assert "'setup'" in str(caught.value) and "Kernel died" in str(caught.value)
    # nbclient's own "Kernel died while waiting for execute reply" stays out of cron mail: the
    # error above says it once (and after a Ctrl-C it would be a false ERROR).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_rerun_replaces_the_report_atomically(tmp_path: Path, activity: pl.DataFrame) -> None:
    first = build_report(START, END, data=activity.head(1_000), out_dir=tmp_path, plan_id=3)
    with first.html_path.open(encoding="utf-8") as reader:  # a reader holding the old report
        inode = os.stat(first.html_path).st_ino
        second = build_report(START, END, data=activity, out_dir=tmp_path, plan_id=3)
        old = reader.read()
    assert second.html_path == first.html_path
    assert os.stat(second.html_path).st_ino != inode  # a new file was renamed over the old one
    assert old.rstrip().endswith("</html>")  # the old reader still sees the whole old report
    assert (first.summary["requests"], second.summary["requests"]) == (1_000, 3_000)
    staged = first.html_path.with_suffix(".parquet").name  # the data, so the notebook can rerun
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["index.html", first.html_path.name, first.notebook_path.name, staged]
    )  # no temp files left behind
    index = second.index_path.read_text(encoding="utf-8")
    assert index.count(f'href="{second.html_path.name}"') == 1 and "3,000" in index


def test_a_period_without_requests_renders_as_critical_news(tmp_path: Path, activity: pl.DataFrame) -> None:
    later = END + timedelta(days=3)
    result = build_report(
        later, later + timedelta(days=1), data=activity.clear(), out_dir=tmp_path, compare_previous=True
    )
    page = result.html_path.read_text(encoding="utf-8")
    assert result.summary["requests"] == 0 and result.summary["success_rate"] is None
    assert result.summary["critical_alerts"] >= 1
    assert "No data" in page and "no requests at all in" in page and "No failed requests" in page
    assert "No alerts" not in page  # never the green all-clear on nothing
    assert not re.search(r'class="?ws-ok', page) and "nothing to rate" in page  # nor a green all-clear
    assert "Traceback" not in page
    assert page.count("<img ") == 4  # no failures, so no taxonomy chart; the other four say "no requests"


def test_data_that_does_not_cover_the_window_is_refused_before_any_work(
    tmp_path: Path, activity: pl.DataFrame
) -> None:
    later = END + timedelta(days=3)
    refused = r"covers 20\d\d-\d\d-\d\d .* holds nothing in the report.s window"
    with pytest.raises(ConfigurationError, match=refused):
        build_report(later, later + timedelta(days=1), data=activity, out_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_the_kept_notebook_of_a_frame_report_reruns_without_raw_addresses_on_disk(
    tmp_path: Path, activity: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "reports"
    result = build_report(START, END, data=activity, out_dir=out, anonymize_clients=True)
    staged = result.notebook_path.with_suffix(".parquet")
    addresses = set(activity["client_address"].cast(pl.String).drop_nulls())
    kept = pl.read_parquet(staged)["client_address"].cast(pl.String)
    assert kept.str.starts_with("client-").all() and not addresses & set(kept)
    # Rerun it as Jupyter would (kernel in the notebook's folder), from elsewhere, after a move.
    moved = tmp_path / "moved"
    out.rename(moved)
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(moved / result.notebook_path.name, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(moved)}}
    ).execute()
    rerun = next(
        o["data"][SUMMARY_MIME]
        for c in nb.cells
        for o in c.get("outputs", [])
        if SUMMARY_MIME in o.get("data", {})
    )
    assert rerun["requests"] == result.summary["requests"] == activity.height
    text = nbformat.writes(nb)
    assert not any(f">{a}<" in text for a in addresses)  # pseudonyms only, not hashed twice away
    assert "client-" in text


def test_pandas_frames_are_accepted(tmp_path: Path, activity: pl.DataFrame) -> None:
    result = build_report(START, END, data=activity.to_pandas(), out_dir=tmp_path)
    assert result.summary["requests"] == activity.height


def test_parquet_file_with_anonymized_clients(tmp_path: Path, activity: pl.DataFrame) -> None:
    data = tmp_path / "activity.parquet"
    activity.write_parquet(data)
    result = build_report(data=data, out_dir=tmp_path / "out", anonymize_clients=True, tz="Asia/Kolkata")
    assert result.summary["requests"] == activity.height  # the window defaults to the data's extent
    page = result.html_path.read_text(encoding="utf-8")
    assert "Busiest clients" in page and page.count(">client-") >= 5
    assert not [a for a in activity["client_address"].cast(pl.String).unique() if f">{a}<" in page]
    nb = result.notebook_path.read_text(encoding="utf-8")
    assert "anonymize_clients = True" in nb and "activity.parquet" in result.html_path.read_text(
        encoding="utf-8"
    )
    assert result.start <= activity["timestamp"].min() and result.end > activity["timestamp"].max()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"tz": "Mars/Olympus"}, "IANA time zone"),
        ({"period": "last-7d", "start": "2026-11-01"}, "either period or start/end"),
        ({"period": "fortnight"}, "not one of"),
        ({"plan_id": 0}, "positive integer"),
        ({"start": "2026-11-02", "end": "2026-11-01"}, "must be before end"),
        ({"data": "missing.parquet"}, "does not exist"),
        ({"data": 42}, "Parquet file"),
        ({"data": pl.DataFrame({"timestamp": ["noon"]})}, r"build_report\(data=...\) found text timestamps"),
        ({"data": pl.LazyFrame({"timestamp": ["noon"]})}, r"build_report\(data=...\) found text timestamps"),
        ({"api_options": {"page_size": 5}}, "unknown setting"),
        ({"start": "2026-11-01", "template": "nope.ipynb"}, "template"),
        ({"start": "2026-11-01", "cell_timeout": 0}, "cell_timeout"),
        ({"start": "2026-11-01", "out_dir": "/proc/wsframes-reports"}, "cannot be used"),
    ],
)
def test_bad_parameters_fail_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEBSHARE_API_KEY", "k")
    with pytest.raises(ConfigurationError, match=words):
        build_report(**{"out_dir": tmp_path / "out", "now": END, **kwargs})
    assert not list(tmp_path.glob("out/*"))


def test_missing_key_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"WEBSHARE_API_KEY.*--demo"):
        build_report(period="yesterday", out_dir=tmp_path)


def test_cli_demo_leaves_a_finished_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], chromium_visit: Any
) -> None:
    monkeypatch.setattr(demo, "DEMO_RECORDS", 12_000)  # the real default is a heavy week
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    # The demo's planted incidents include a critical one, but the demo (the README's main job)
    # succeeds once its report is written; exit 3 is for real accounts (tested elsewhere).
    assert main(["report", "--demo", "--out", str(tmp_path), "--tz", "America/New_York"]) == 0
    printed = capsys.readouterr().out
    assert "critical alerts: " in printed and "planted" in printed
    html_file = Path(printed.split("report: ")[1].split("\n")[0])
    assert html_file.parent == tmp_path and html_file.name.endswith("-plan1-America-New-York.html")
    page = html_file.read_text(encoding="utf-8")
    assert "Error burst" in page  # the demo's incidents are found and shown first
    assert page.index("Error burst") < page.index(">Latency<")
    # The demo's failure-prone target fails ~46% all week and the week before: a standing problem.
    standing = page[page.index(">Standing problems<") : page.index(">Latency<")]
    chronic = str(universe().domains[universe().slow][0])
    assert f">{chronic}<" in standing and "yes (" in standing
    nb = json.loads(html_file.with_suffix(".ipynb").read_text(encoding="utf-8"))
    assert all(c.get("outputs") is not None for c in nb["cells"] if c["cell_type"] == "code")
    visit = chromium_visit(html_file)
    drilldowns = page.count("drill-down")  # one small figure per incident, beside its sentence
    assert visit.requests == [] and visit.console_errors == [] and len(visit.images) == 5 + drilldowns
    # Rerun the kept notebook offline, as the README invites: no key, no fake API, same data.
    monkeypatch.delenv("WEBSHARE_BASE_URL", raising=False)
    kept = nbformat.read(html_file.with_suffix(".ipynb"), as_version=4)
    injected = next(c for c in kept.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f"data_path = '{html_file.with_suffix('.parquet').name}'" in injected.source
    where = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(kept, timeout=120, kernel_name="python3", resources=where)
    client.execute()
    assert _summary_of(kept)["requests"] == _summary_of(nbformat.from_dict(nb))["requests"] > 0


def _summary_of(nb: Any) -> dict[str, Any]:
    mime = "application/vnd.wsframes.summary+json"
    return next(o["data"][mime] for c in nb.cells for o in c.get("outputs", []) if mime in o.get("data", {}))


def test_cli_exit_code_and_message_on_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--data", "x.parquet", "--out", str(tmp_path)]) == 2
    assert "--demo makes its own data; drop --data" in capsys.readouterr().err
