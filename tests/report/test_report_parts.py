"""The pieces under the builder: periods and names, the standalone audit, index, alerts, privacy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import polars as pl
import pytest

from wsframes.errors import ConfigurationError, ReportError
from wsframes.fake import generate_activity
from wsframes.report.data import ReportData, anonymize_clients, coverage
from wsframes.report.export import check_standalone, notebook_to_html, page
from wsframes.report.findings import find_alerts
from wsframes.report.index import SUMMARY_MIME, render_index, write_index
from wsframes.report.period import report_stem, resolve_period

NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("period", "tz", "now", "start", "end"),
    [
        ("last-24h", "UTC", NOW, "2026-11-25T06:00:00+00:00", "2026-11-26T06:00:00+00:00"),
        ("last-7d", "UTC", NOW, "2026-11-19T00:00:00+00:00", "2026-11-26T00:00:00+00:00"),
        ("yesterday", "Europe/Berlin", NOW, "2026-11-24T23:00:00+00:00", "2026-11-25T23:00:00+00:00"),
        ("last-week", "UTC", NOW, "2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00"),
        ("last-month", "UTC", NOW, "2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"),
        # across the end of summer time (2026-10-25): local midnight to local midnight, 169 hours
        (
            "last-7d",
            "Europe/Berlin",
            NOW - timedelta(days=29),
            "2026-10-20T22:00:00+00:00",
            "2026-10-27T23:00:00+00:00",
        ),
    ],
)
def test_named_periods_align_in_the_display_zone(
    period: str, tz: str, now: datetime, start: str, end: str
) -> None:
    lo, hi = resolve_period(period, tz=tz, now=now)
    assert (lo.isoformat(), hi.isoformat()) == (start, end)


def test_last_month_in_january_is_december() -> None:
    lo, hi = resolve_period("last-month", now=datetime(2027, 1, 15, tzinfo=UTC))
    assert (lo.date().isoformat(), hi.date().isoformat()) == ("2026-12-01", "2027-01-01")


def test_stems_are_deterministic_and_distinct() -> None:
    lo, hi = resolve_period("yesterday", tz="Europe/Berlin", now=NOW)
    assert (
        report_stem(lo, hi, plan_id=7, tz="Europe/Berlin")
        == "wsframes-2026-11-25_2026-11-26-plan7-Europe-Berlin"
    )
    assert report_stem(lo, hi, plan_id=7, tz="UTC") == "wsframes-2026-11-24T2300_2026-11-25T2300-plan7"
    with pytest.raises(ConfigurationError, match="last-7d"):
        resolve_period("last-fortnight", now=NOW)


@pytest.mark.parametrize(
    "fragment",
    [
        "<script>alert(1)</script>",
        '<img src="https://tracker.example/p.gif">',
        '<link rel="stylesheet" href="https://cdn.example/x.css">',
        '<p onclick="x()">hi</p>',
        "<style>@import 'https://fonts.example/f.css';</style>",
        '<div style="background:url(https://x.example/a.png)">x</div>',
        '<meta http-equiv="refresh" content="0;url=https://x.example">',
        '<iframe src="data:text/html,hi"></iframe>',
        '<a href="https://example.com">x</a>',
    ],
)
def test_standalone_audit_rejects_anything_that_runs_or_fetches(fragment: str) -> None:
    with pytest.raises(ReportError, match="not self-contained"):
        check_standalone(page("t", fragment))


def test_standalone_audit_allows_inline_images_and_sibling_links() -> None:
    check_standalone(
        page("t", '<img src="data:image/png;base64,AAAA" alt="x"><a href="r.html">r</a><a href="#s">s</a>')
    )


def test_export_hides_code_logs_notes_and_the_machine_summary() -> None:
    nb = nbformat.v4.new_notebook()
    note = nbformat.v4.new_markdown_cell("for notebook readers only", metadata={"tags": ["hide-in-html"]})
    code = nbformat.v4.new_code_cell("secret_code_marker = 1")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="WARNING noisy log line"),
        nbformat.v4.new_output("display_data", data={SUMMARY_MIME: {"requests": 1}}),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>shown</p>", "text/plain": "x"}),
    ]
    nb.cells = [note, code]
    document = notebook_to_html(nb, title="<t>")
    assert "<p>shown</p>" in document and "<title>&lt;t&gt;</title>" in document
    for hidden in ("notebook readers", "secret_code_marker", "noisy log line", '"requests"'):
        assert hidden not in document


def test_index_escapes_and_orders_newest_first(tmp_path: Path) -> None:
    for stem, start, period in [
        ("wsframes-a", "2026-11-01", "<b>old</b>"),
        ("wsframes-b", "2026-11-20", "new"),
    ]:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("")
        summary = {"period": period, "start": start, "requests": 1234567, "success_rate": 0.5, "alerts": 2}
        cell.outputs = [nbformat.v4.new_output("display_data", data={SUMMARY_MIME: summary})]
        nb.cells = [cell]
        nbformat.write(nb, tmp_path / f"{stem}.ipynb")
        (tmp_path / f"{stem}.html").write_text("<html></html>")
    (tmp_path / "wsframes-c.failed.ipynb").write_text("{}")
    index = write_index(tmp_path).read_text(encoding="utf-8")
    assert index.index('href="wsframes-b.html"') < index.index('href="wsframes-a.html"')
    assert "&lt;b&gt;old&lt;/b&gt;" in index and "<b>old</b>" not in index
    assert "1,234,567" in index and "50.00%" in index and "wsframes-c" not in index
    assert "No reports yet" in render_index([])


def test_anonymized_clients_are_consistent_distinct_and_keep_the_dtype(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WSFRAMES_ANONYMIZE_SALT", raising=False)
    df = generate_activity(500, start="2026-11-01", end="2026-11-02", seed=2)
    once = anonymize_clients(df)
    assert once["client_address"].dtype == df["client_address"].dtype
    original = df["client_address"].cast(pl.String)
    pseudonyms = once["client_address"].cast(pl.String)
    # One address, one pseudonym, within a call (per-client tables still add up).
    assert pl.DataFrame({"a": original, "p": pseudonyms}).unique().height == original.n_unique()
    assert pseudonyms.n_unique() == original.n_unique()
    assert not set(original) & set(pseudonyms)


def _unkeyed(address: str, key: bytes = b"") -> str:
    return "client-" + hashlib.blake2b(address.encode(), key=key, digest_size=5).hexdigest()


def test_anonymized_clients_cannot_be_reversed_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSFRAMES_ANONYMIZE_SALT", raising=False)
    df = pl.DataFrame({"client_address": ["10.0.0.1", "192.168.1.7"]})
    first, second = anonymize_clients(df)["client_address"], anonymize_clients(df)["client_address"]
    # Hashing candidate addresses without the (random, unstored) key finds nothing...
    assert not {_unkeyed(a) for a in df["client_address"]} & set(first)
    # ...and another report's pseudonyms can't be linked to this one's.
    assert not set(first) & set(second)


def test_a_salt_from_the_environment_gives_the_same_pseudonyms_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    df = pl.DataFrame({"client_address": ["10.0.0.1", "192.168.1.7"]})
    monkeypatch.setenv("WSFRAMES_ANONYMIZE_SALT", "a long secret of my own " * 4)
    first, second = anonymize_clients(df)["client_address"], anonymize_clients(df)["client_address"]
    assert first.to_list() == second.to_list() and first.n_unique() == 2
    monkeypatch.setenv("WSFRAMES_ANONYMIZE_SALT", "another secret")
    assert not set(first) & set(anonymize_clients(df)["client_address"])


def _data(
    frame: pl.DataFrame, start: datetime, end: datetime, previous: pl.DataFrame | None = None
) -> ReportData:
    return ReportData(frame, previous, start, end, None, coverage(frame, start, end), "test")


def test_quiet_period_raises_no_alert() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    df = generate_activity(3_000, start=start, end=start + timedelta(days=1), seed=4)
    # Keep the successes (null error_reason): a period where nothing succeeded is not quiet.
    df = df.filter((pl.col("error_reason").cast(pl.String) != "target_connect_timeout").fill_null(True))
    alerts = find_alerts(_data(df, start, start + timedelta(days=1)))
    # Before the successes were kept this period was all failures, so "no alert" held vacuously.
    # With them, the hourly latency-spike detector still flags one healthy hour as a *warning*
    # (its false-alarm budget is the alerts/incidents work); nothing critical may fire.
    assert [a for a in alerts if a.level == "critical"] == []
    assert {a.title for a in alerts} <= {"Latency spikes"}


def test_alerts_find_gaps_and_new_codes() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=2)
    base = generate_activity(4_000, start=start, end=start + timedelta(days=1), seed=4)
    spike_hour = pl.col("timestamp").dt.hour() == 15
    spiky = base.with_columns(
        pl.when(spike_hour)
        .then(pl.lit("proxy_brand_new_failure"))
        .otherwise(pl.col("error_reason").cast(pl.String))
        .cast(pl.Categorical)
        .alias("error_reason"),
        (pl.col("handshake_duration") * 3).alias("handshake_duration"),
    )
    alerts = find_alerts(_data(spiky, start, end, previous=base), tz="UTC")
    titles = [a.title for a in alerts]
    assert titles[0] == "Incomplete data"  # the second day has no records: most serious first
    assert {"Unknown error codes", "New error code"} <= set(titles)
    new = next(a for a in alerts if a.title == "New error code")
    assert "proxy_brand_new_failure" in new.detail and "2026-11-01 15:00 UTC" in new.detail
    assert new.severity == "warning" and new.incident is not None


WEEK = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def _gap_alerts(frame: pl.DataFrame, tz: str = "Europe/Berlin") -> list[str]:
    end = WEEK + timedelta(days=7)
    # Exact coverage (as from the API), so quiet edges are not alerts: only holes inside count.
    cov = coverage(frame, WEEK, end, exact=True, now=end + timedelta(hours=1))
    alerts = find_alerts(ReportData(frame, None, WEEK, end, None, cov, "test"), tz=tz)
    return [a.detail for a in alerts if a.title == "Incomplete data"]


def _between(day: int, first_hour: int, last_hour: int) -> pl.Expr:
    lo = WEEK + timedelta(days=day, hours=first_hour)
    return pl.col("timestamp").is_between(lo, lo + timedelta(hours=last_hour - first_hour), closed="left")


def test_a_stretch_missing_from_the_middle_of_busy_data_is_incomplete_data() -> None:
    df = generate_activity(20_000, start=WEEK, end=WEEK + timedelta(days=7), seed=11)
    assert _gap_alerts(df) == []
    (alert,) = _gap_alerts(df.filter(~_between(3, 10, 16)))  # Thursday 10:00-16:00 UTC is gone
    assert "2026-11-05 11:00 CET → 2026-11-05 17:00 CET (6 hours" in alert


def test_quiet_nights_and_weekends_of_a_low_volume_user_are_not_gaps() -> None:
    df = generate_activity(1_200, start=WEEK, end=WEEK + timedelta(days=7), seed=12)
    local = pl.col("timestamp").dt.convert_time_zone("Europe/Berlin")
    office = df.filter(local.dt.hour().is_between(8, 17) & (local.dt.weekday() <= 5))
    assert 200 < office.height < 600  # a few requests an office hour; silent nights and weekend
    assert _gap_alerts(office) == []
    # The same user losing a Wednesday's office hours is a gap: those hours are busy on other days.
    (alert,) = _gap_alerts(office.filter(~_between(2, 7, 16)))
    assert "2026-11-04 08:00 CET → 2026-11-04 17:00 CET (9 hours" in alert


def test_quiet_edges_are_missing_data_only_when_the_source_may_be_partial() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    afternoon = generate_activity(500, start=start + timedelta(hours=12), end=end, seed=6)
    handed_over = coverage(afternoon, start, end)
    assert not handed_over.complete and "first 12 hours" in handed_over.missing_edges[0]
    from_api = coverage(afternoon, start, end, exact=True, now=end + timedelta(hours=1))
    assert from_api.complete  # the loader is exact: a quiet morning is just quiet
    running = coverage(afternoon, start, end, exact=True, now=end - timedelta(hours=2))
    assert running.missing_edges == ["the period is not over: data stops at 2026-11-01 22:00 UTC"]


def test_frames_in_another_zone_are_windowed_in_utc(tmp_path: Path) -> None:
    from wsframes.report import build_report

    start = datetime(2026, 11, 1, tzinfo=UTC)
    df = generate_activity(800, start=start, end=start + timedelta(days=2), seed=8)
    tokyo = df.with_columns(pl.col("timestamp").dt.convert_time_zone("Asia/Tokyo"))
    result = build_report(start, start + timedelta(days=1), data=tokyo, out_dir=tmp_path)
    expected = df.filter(pl.col("timestamp") < start + timedelta(days=1)).height
    assert result.summary["requests"] == expected


def test_top_tables_over_a_scan_show_the_in_memory_figures() -> None:
    """Over a scan the top tables take p95s only for the values that can be shown (a bounded
    pass each): the same rows and figures as the in-memory route's over every value."""
    from wsframes.analysis.errors import top_offenders
    from wsframes.report.sections import _offenders

    df = generate_activity(20_000, start="2026-11-02", end="2026-11-05", seed=8)
    for column, sort_by in (("domain", "requests"), ("hostname", "failed"), ("client_address", "requests")):
        shown = _offenders(df.lazy(), column, n=5, sort_by=sort_by)
        whole = top_offenders(df, by=column, n=5, sort_by=sort_by, metric="request_duration")
        assert shown[column].to_list() == whole[column].cast(pl.String).fill_null("(none)").to_list()
        assert shown["p95 request"].to_list() == whole["p95"].to_list()
        assert shown["p95 request"].drop_nulls().len() > 0


def test_the_latency_curves_read_in_the_headline_passes_are_latency_ccdf() -> None:
    """The report draws its latency curves from the headline's passes (no passes of their own):
    the same curve as latency_ccdf, and the headline's own figures unchanged."""
    from wsframes.analysis import latency_ccdf
    from wsframes.report.findings import PHASES, headline
    from wsframes.report.sections import CCDF_SPECTRUM, ccdf_frame

    df = generate_activity(20_000, start="2026-11-02", end="2026-11-05", seed=8)
    head = headline(df.lazy(), spectrum=CCDF_SPECTRUM)
    assert {k: v for k, v in head.items() if not k.endswith("_spectrum")} == headline(df)
    for column, phase in PHASES:
        curve = ccdf_frame(head[f"{phase}_spectrum"])
        expected = latency_ccdf(df, metric=column, quantiles=CCDF_SPECTRUM)
        assert curve.columns == expected.columns
        assert curve["quantile"].to_list() == expected["quantile"].to_list()
        assert curve["value"].to_list() == pytest.approx(expected["value"].to_list(), rel=1e-12)
    empty = headline(df.clear(), spectrum=CCDF_SPECTRUM)
    assert ccdf_frame(empty["request_spectrum"])["value"].null_count() == len(CCDF_SPECTRUM)
