"""Every cell of the packaged template survives every shape of data.

The cells are the template's own code, parameters injected exactly as build_report does, data
staged as build_report stages a frame; they run in this process (magics dropped, Agg backend)
because a kernel per shape would cost seconds each. One shape (the outage) also goes the whole
way through a real kernel in test_report_runs-style, below.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import nbformat
import polars as pl
import pytest

from wsframes import Config
from wsframes.fake import generate_activity
from wsframes.report import builder
from wsframes.report.coverage import NO_DATA_TITLE, NO_SUCCESS_TITLE
from wsframes.report.index import SUMMARY_MIME
from wsframes.schema import empty_activity

matplotlib.use("Agg")

START = datetime(2026, 11, 10, tzinfo=UTC)
DAY = timedelta(days=1)
END = START + DAY


def _base() -> pl.DataFrame:
    return generate_activity(600, start=START - DAY, end=END, seed=11)


def _current(df: pl.DataFrame) -> pl.Expr:
    return pl.col("timestamp") >= START


def _shape(name: str) -> pl.DataFrame:
    df = _base()
    cur, prev = df.filter(_current(df)), df.filter(~_current(df))
    if name == "empty current (outage after traffic)":
        return prev
    if name == "empty previous":
        return cur
    if name == "both empty":
        return empty_activity()
    if name == "one row":
        return cur.head(1)
    if name == "one hour":
        return cur.filter(pl.col("timestamp") < START + timedelta(hours=1))
    if name == "all failures":
        return cur.filter(pl.col("error_reason").is_not_null())
    if name == "no failures":
        return cur.filter(pl.col("error_reason").is_null())
    if name == "only null tunnels":
        return cur.with_columns(pl.lit(None, pl.Float64).alias("tunnel_duration"))
    raise AssertionError(name)


SHAPES = [
    "empty current (outage after traffic)",
    "empty previous",
    "both empty",
    "one row",
    "one hour",
    "all failures",
    "no failures",
    "only null tunnels",
]


def run_template(frame: pl.DataFrame, out: Path, *, compare: bool) -> dict[str, Any]:
    """Execute the packaged template's cells on *frame* the way build_report would; return the namespace."""
    job = builder._validate(
        START, END, period=None, plan_id=None, tz="Europe/Berlin", compare_previous=compare,
        data=frame, archive=None, config=Config(), out_dir=out, anonymize_clients=False, template=None,
        now=None, source_label=None, cell_timeout=60,
    )
    parameters = dict(job.parameters)
    parameters.update(builder._stage_frame(frame, job))
    nb = builder._with_parameters(nbformat.read(job.template, as_version=4), parameters)
    namespace: dict[str, Any] = {"__name__": "__template__"}
    cwd = os.getcwd()
    os.chdir(out)  # the kernel runs in the report's folder
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith("%"))
            exec(compile(code, f"<cell {cell.metadata.get('tags')}>", "exec"), namespace)
    finally:
        os.chdir(cwd)
        matplotlib.pyplot.close("all")
    # find_alerts turns a failing check into a "Section failed" alert; here that is a failure.
    assert not [a.detail for a in namespace.get("alerts", []) if a.title == "Section failed"]
    return namespace


@pytest.mark.parametrize("shape", SHAPES)
def test_every_cell_survives(shape: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run_template(_shape(shape), tmp_path, compare=True)
    titles = [a.title for a in ns["alerts"]]
    df = ns["df"].collect()  # the template's periods are lazy scans
    empty = df.height == 0
    # No data is news: an empty period is a critical alert, never a green all-clear.
    assert (NO_DATA_TITLE in titles) == empty
    if empty:
        assert ns["alerts"][0].level == "critical"
    # Nothing succeeded is never a quiet period either (uniformly bad hours raise no spike).
    nothing_ok = not empty and df["error_reason"].is_not_null().all()
    assert (NO_SUCCESS_TITLE in titles) == nothing_ok
    assert nothing_ok == (shape == "all failures")
    summary = ns["summary"][SUMMARY_MIME]
    assert summary["critical_alerts"] == sum(a.level == "critical" for a in ns["alerts"])
    assert "Traceback" not in capsys.readouterr().out


def test_outage_names_the_previous_volume(tmp_path: Path) -> None:
    frame = _shape("empty current (outage after traffic)")
    ns = run_template(frame, tmp_path, compare=True)
    alert = next(a for a in ns["alerts"] if a.title == NO_DATA_TITLE)
    assert f"the previous period had {frame.height:,}" in alert.detail
    assert "2026-11-10 01:00 CET" in alert.detail  # the period, in the report's zone
