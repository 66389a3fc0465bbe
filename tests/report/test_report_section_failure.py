"""One failing section must not cost the whole report: it says so, and cron hears of it (exit 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from wsframes import build_report
from wsframes.fake import generate_activity
from wsframes.report import data as report_data
from wsframes.report import findings
from wsframes.report.builder import _packaged_template

END = datetime(2026, 11, 20, tzinfo=UTC)


def _broken_template(tmp_path: Path, tag: str) -> Path:
    nb = json.loads(_packaged_template().read_text())
    cell = next(c for c in nb["cells"] if tag in c["metadata"].get("tags", []))
    cell["source"] = ['raise RuntimeError("boom <b>&")\n', *cell["source"]]
    path = tmp_path / "template.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_a_failing_section_is_named_and_the_report_still_builds(tmp_path):
    df = generate_activity(1_500, start=END - timedelta(days=1), end=END, seed=2)
    result = build_report(END - timedelta(days=1), END, data=df, out_dir=tmp_path / "out",
                          template=_broken_template(tmp_path, "errors-taxonomy"), compare_previous=False)
    critical = result.summary["critical"]
    assert result.summary["critical_alerts"] >= 1
    assert any(t == "Section failed" and "'errors-taxonomy'" in d and "boom <b>&" in d for t, d in critical)
    page = result.html_path.read_text()
    assert page.count("Section failed") >= 2  # in the Alerts, and where the section was
    assert "boom &lt;b&gt;&amp;" in page and "&amp;lt;" not in page  # escaped exactly once
    assert "Traffic" in page and "About this report" in page  # the rest was built
    assert not (tmp_path / "out" / f"{result.html_path.stem}.failed.ipynb").exists()


def test_a_failing_check_is_a_critical_alert_beside_the_others(monkeypatch):
    df = generate_activity(500, start=END - timedelta(days=1), end=END, seed=3)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) < 40).then(pl.lit("weird_new_code"))
                         .otherwise(pl.col("error_reason").cast(pl.String)).alias("error_reason"))
    data = report_data.ReportData(df, None, END - timedelta(days=1), END, None,
                                  report_data.coverage(df, END - timedelta(days=1), END), "test")

    def broken(*args, **kwargs):
        raise ValueError("no such column\nlong polars trace")

    monkeypatch.setattr(findings, "incident_alerts", broken)
    alerts = findings.find_alerts(data)
    failed = [a for a in alerts if a.title == "Section failed"]
    assert len(failed) == 1 and failed[0].level == "critical"
    assert "incident search" in failed[0].detail and "no such column" in failed[0].detail
    assert "long polars trace" not in failed[0].detail
    assert any(a.title == "Unknown error codes" for a in alerts)  # the other checks still ran
