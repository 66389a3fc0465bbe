"""Incidents: find_incidents' frame shown as a readable table, the frame itself untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import polars as pl
import pytest

import wsframes as wsf
from wsframes.analysis import Incidents
from wsframes.analysis.incidents import INCIDENT_SCHEMA
from wsframes.errors import ConfigurationError
from wsframes.fake import generate_activity

T0 = datetime(2026, 11, 2, 19, tzinfo=UTC)


def _frame() -> pl.DataFrame:
    rows = [
        {"kind": "error_burst", "metric": "error_rate", "start": T0, "end": T0 + timedelta(hours=4),
         "dimension": "domain", "value": "<script>x</script>.com", "error_reason": "bandwidthlimit",
         "observed": 0.779, "expected": 0.053, "requests": 1286, "requests_affected": 62, "q_value": 1e-30,
         "explained_share": 0.99, "how_to_fix": "Upgrade & retry"},
        {"kind": "latency_regression", "metric": "request_duration_p95", "start": T0, "end": None,
         "dimension": "all", "value": "all", "error_reason": None, "observed": 14.2, "expected": 3.58,
         "requests": 196, "requests_affected": 71, "q_value": 1e-16, "explained_share": 1.0,
         "how_to_fix": None},
    ]
    return pl.DataFrame(rows, schema=INCIDENT_SCHEMA)


def test_view_reads_in_units_and_escapes_untrusted_text() -> None:
    page = Incidents(_frame(), tz="Europe/Berlin")._repr_html_()
    assert "2 found" in page and "<code>.frame</code>" in page
    assert "77.9%" in page and "5.3%" in page  # a share as a percentage
    assert "14.2 s" in page and "3.58 s" in page  # a p95 in seconds
    assert "1,286" in page  # counts with separators
    assert "Mon 02 Nov 20:00" in page  # 19:00 UTC shown in Berlin
    assert "ongoing" in page and "whole account" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Upgrade &amp; retry" in page


def test_frame_is_kept_as_given() -> None:
    frame = _frame()
    view = Incidents(frame)
    assert view.frame is frame
    pandas_view = Incidents(frame.to_pandas())
    assert isinstance(pandas_view.frame, pd.DataFrame)
    assert "pandas DataFrame" in pandas_view._repr_html_()
    assert "not computed yet" in Incidents(frame.lazy())._repr_html_()


def test_empty_result_says_nothing_found() -> None:
    df = generate_activity(3_000, start="2026-11-02", end="2026-11-04", seed=3)
    page = Incidents(wsf.find_incidents(df))._repr_html_()
    assert "No incident found" in page


def test_bad_time_zone_is_refused_up_front() -> None:
    with pytest.raises(ConfigurationError, match="time zone"):
        Incidents(_frame(), tz="Mars/Olympus")
