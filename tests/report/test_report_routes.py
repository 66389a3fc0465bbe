"""The report's numbers do not depend on the route its data took (issue 19).

A file report reads lazy scans of Parquet files in batches; an API report holds the rows it
loaded in memory. Every section computed both ways, on the same records, must say the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from wsframes.analysis import error_taxonomy, latency_ccdf, latency_over_time, traffic_over_time
from wsframes.fake import Incident, generate_activity
from wsframes.report import sections
from wsframes.report.data import ReportData, collect, coverage, load_report_data
from wsframes.report.findings import PHASES, alerts_html, find_alerts, headline
from wsframes.report.pool_section import PoolInputs, pool_section_html

END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=3)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportData, ReportData]:
    plain = generate_activity(30_000, start=START - timedelta(days=3), end=END, seed=21)
    busiest = plain["domain"].cast(pl.String).value_counts(sort=True)["domain"][0]
    burst = Incident("error_burst", START + timedelta(days=2), hours=4, dimension="domain", value=busiest)
    frame = generate_activity(30_000, start=START - timedelta(days=3), end=END, seed=21, incidents=[burst])
    folder = tmp_path_factory.mktemp("days")
    for day, part in frame.group_by(pl.col("timestamp").dt.date()):  # one file per day, unordered
        part.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(folder / f"{day[0]}.parquet")
    on_disk = load_report_data(
        start=START.isoformat(), end=END.isoformat(), data_path=str(folder), compare_previous=True
    )
    inside = pl.col("timestamp") >= START
    current, previous = frame.filter(inside), frame.filter(~inside)
    in_memory = ReportData(
        current.lazy(), previous.lazy(), START, END, START - timedelta(days=3),
        coverage(current, START, END), "test",
    )  # fmt: skip
    return on_disk, in_memory


def _sections(data: ReportData) -> dict[str, object]:
    df, prev = data.current, data.previous
    alerts = find_alerts(data, tz="Europe/Berlin")
    return {
        "headline": headline(df),
        "previous": headline(prev) if prev is not None else None,
        "alerts": [(a.level, a.title, a.detail) for a in alerts],
        "alerts html": alerts_html(alerts, df, tz="Europe/Berlin"),
        "standing": sections.standing_html(df, prev),
        "ccdf": [collect(latency_ccdf(df, metric=c)).rows() for c, _ in PHASES],
        "over time": collect(latency_over_time(df, every="1h", tz="Europe/Berlin")).rows(),
        "taxonomy": sections.taxonomy_html(collect(error_taxonomy(df))),
        "traffic": collect(traffic_over_time(df, every="1h")).rows(),
        "top": sections.top_html(df),
        "pool": pool_section_html(df, PoolInputs(None, None, ""), allowed_clients=["10.0.0.0/8"]),
        "rows": data.coverage.rows,
    }


Routes = tuple[ReportData, ReportData]


def test_every_section_says_the_same_from_files_and_from_memory(routes: Routes) -> None:
    on_disk, in_memory = (_sections(data) for data in routes)
    assert on_disk["rows"] == in_memory["rows"] > 10_000
    assert any(title == "Error burst" for _, title, _ in on_disk["alerts"])  # the planted incident
    for name, value in in_memory.items():
        assert on_disk[name] == value, name


def test_the_file_route_keeps_no_rows_in_memory(routes: tuple[ReportData, ReportData]) -> None:
    on_disk, _ = routes
    assert isinstance(on_disk.current, pl.LazyFrame) and isinstance(on_disk.previous, pl.LazyFrame)
    # A scan, not a frame held in the plan: reading it again reads the files.
    assert "Parquet SCAN" in on_disk.current.explain() and "DF [" not in on_disk.current.explain()


def test_a_relative_data_path_still_reads_after_the_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_activity(500, start=START, end=END, seed=2).write_parquet(tmp_path / "week.parquet")
    monkeypatch.chdir(tmp_path)
    data = load_report_data(start=START.isoformat(), end=END.isoformat(), data_path="week.parquet")
    monkeypatch.chdir("/")
    assert headline(data.current)["requests"] == 500
