"""Stats, the CSV download, pandas conversion, the progress bar and ``wsframes fetch``."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import polars as pl
import pytest

from tests.api.conftest import KEY, in_window, make_client
from wsframes.cli import main
from wsframes.frames import HOURLY_STATS_SCHEMA, to_pandas
from wsframes.schema import ACTIVITY_SCHEMA


def test_hourly_stats_add_up_to_the_activity_hour_by_hour(fake, window):
    lo, hi = window
    lo = lo.replace(minute=0, second=0)
    hi = hi.replace(minute=0, second=0)
    with make_client(fake) as client:
        hours = client.hourly_stats(lo, hi, plan_id=2)
        df = client.activity(lo, hi, plan_id=2)
    assert hours.schema == HOURLY_STATS_SCHEMA
    assert hours["timestamp"].is_sorted()
    per_hour = df.group_by(pl.col("timestamp").dt.truncate("1h")).len().sort("timestamp")
    joined = hours.join(per_hour, on="timestamp", how="full", coalesce=True)
    assert joined["requests_total"].to_list() == joined["len"].to_list()
    assert hours["requests_total"].sum() == df.height


def test_aggregate_stats_match_the_activity(fake, window):
    lo, hi = window
    with make_client(fake) as client:
        agg = client.aggregate_stats(lo, hi)
    truth = in_window(fake.truth(), lo, hi)
    assert agg["requests_total"] == truth.height
    assert agg["bandwidth_total"] == truth["bytes"].sum()


def test_download_csv_is_typed_and_agrees_with_the_list(fake, window):
    lo, hi = window
    with make_client(fake) as client:
        csv = client.download_csv(lo, hi, error_reason="*")
    truth = in_window(fake.truth(), lo, hi).filter(pl.col("error_reason").is_not_null())
    assert csv["timestamp"].dtype == pl.Datetime("us", "UTC")
    assert csv["timestamp"].is_sorted()
    assert csv.select("timestamp", "bytes", "hostname").sort(pl.all()).equals(
        truth.select("timestamp", "bytes", "hostname").sort(pl.all())
    )
    assert csv["error_reason"].null_count() == 0


def test_to_pandas_keeps_values_with_nullable_tz_aware_dtypes(fake, window):
    lo = window[0]
    with make_client(fake) as client:
        df = client.activity(lo, lo + timedelta(hours=6))
    frame = to_pandas(df)
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert list(frame.columns) == list(ACTIVITY_SCHEMA)
    assert dtypes["timestamp"] == "datetime64[us, UTC]"
    assert dtypes["bytes"] == "Int64" and dtypes["port"] == "Int32"
    assert dtypes["tunnel_duration"] == "Float64"
    assert dtypes["hostname"].startswith("str") and dtypes["protocol"] == "category"
    assert frame["tunnel_duration"].isna().sum() == df["tunnel_duration"].null_count() > 0
    assert frame["proxy_port"].isna().sum() == df["proxy_port"].null_count()
    assert frame["bytes"].sum() == df["bytes"].sum()
    assert frame["timestamp"].iloc[0] == pd.Timestamp(df["timestamp"][0])
    hosts = [None if pd.isna(v) else v for v in frame["hostname"]]
    assert None in hosts and hosts == df["hostname"].to_list()  # nulls are pd.NA, text unchanged


def test_progress_bar_shows_rows_and_pages_only_when_asked(fake, window, capsys):
    lo, hi = window
    with make_client(fake, page_size=1000) as client:
        client.activity(lo, hi, progress=True)
        shown = capsys.readouterr().err
        client.activity(lo, hi)  # progress=False on the client; stderr is not a TTY anyway
        quiet = capsys.readouterr().err
    assert "rows" in shown and "pages=" in shown
    assert str(in_window(fake.truth(), lo, hi).height // 1000) in shown
    assert quiet == ""


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_fetch_writes_each_format(fake, window, tmp_path, monkeypatch, suffix):
    lo, hi = window
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    out = tmp_path / f"activity{suffix}"
    code = main(["fetch", lo.isoformat(), hi.isoformat(), "--out", str(out), "--base-url", fake.base_url,
                 "--error-reason", "*", "--plan-id", "2", "--no-progress"])
    assert code == 0
    expected = in_window(fake.truth(2), lo, hi).filter(pl.col("error_reason").is_not_null())
    if suffix == ".parquet":
        assert pl.read_parquet(out).equals(expected)
        return
    back = pl.read_csv(out) if suffix == ".csv" else pl.read_ndjson(out)
    assert back.columns == list(ACTIVITY_SCHEMA)
    assert back.height == expected.height
    stamps = back["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC")
    assert stamps.equals(expected["timestamp"], check_names=False)
    assert back["error_reason"].to_list() == expected["error_reason"].cast(pl.String).to_list()


def test_fetch_demo_needs_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    out = tmp_path / "demo.parquet"
    assert main(["fetch", "2d", "1d", "--out", str(out), "--demo", "--no-progress"]) == 0
    df = pl.read_parquet(out)
    assert df.schema == ACTIVITY_SCHEMA and df.height > 1000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fetch", "2h", "--out", "x.xlsx", "--demo"], "unknown suffix"),
        (["fetch", "2h", "--out", "/no/such/dir/x.csv", "--demo"], "is not an existing directory"),
        (["fetch", "2h", "--out", "afile/x.csv", "--demo"], "is not an existing directory"),
        (["fetch", "2h", "--out", "adir.parquet", "--demo"], "is a directory"),
        (["fetch", "2h", "1h", "--out", "x.csv", "--base-url", "http://example.com"], "Refusing plain http"),
        (["fetch", "1h", "2h", "--out", "x.csv", "--demo"], "must be before end"),
    ],
)
def test_fetch_bad_arguments_exit_2_with_a_clear_message(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "adir.parquet").mkdir()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and KEY not in err


def test_fetch_replaces_its_output_atomically(tmp_path, monkeypatch):
    """A failed write leaves the previous file whole and no temporary file behind."""
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    out = tmp_path / "keep.csv"
    out.write_text("previous\n")

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken_write)
    assert main(["fetch", "2d", "1d", "--out", str(out), "--demo", "--no-progress"]) == 1
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]
