"""The declared schema and the error catalogue other modules rely on."""

from __future__ import annotations

import polars as pl

from wsframes.schema import (
    ACTIVITY_COLUMNS,
    ACTIVITY_SCHEMA,
    CATEGORY_ADVICE,
    ERROR_CATALOGUE,
    describe_error,
    empty_activity,
)

API_FIELDS = (
    "timestamp protocol request_duration handshake_duration tunnel_duration error_reason "
    "error_reason_how_to_fix auth_username proxy_address bytes client_address ip_address hostname "
    "domain port proxy_port listen_address listen_port"
).split()


def test_columns_are_the_api_fields_in_order() -> None:
    assert list(ACTIVITY_COLUMNS) == API_FIELDS


def test_time_is_utc_microseconds_and_bytes_are_64_bit() -> None:
    assert ACTIVITY_SCHEMA["timestamp"] == pl.Datetime("us", "UTC")
    assert ACTIVITY_SCHEMA["bytes"] == pl.Int64


def test_empty_frame_has_the_full_schema() -> None:
    empty = empty_activity()
    assert empty.height == 0
    assert empty.schema == ACTIVITY_SCHEMA


def test_every_known_code_has_a_category_with_advice() -> None:
    for entry in ERROR_CATALOGUE.values():
        assert entry.type in {"configuration", "connection"}
        assert entry.category in CATEGORY_ADVICE
    # finer than Webshare's two types: each known code its own category here
    assert len({e.category for e in ERROR_CATALOGUE.values()}) == len(ERROR_CATALOGUE)


def test_unknown_code_is_kept_and_labelled_unknown() -> None:
    entry = describe_error("proxy_melted")
    assert entry.code == "proxy_melted"
    assert (entry.category, entry.type) == ("unknown", "unknown")
    assert "unknown" in CATEGORY_ADVICE


def test_the_duration_columns_are_every_duration_of_the_activity_schema() -> None:
    from wsframes.analysis.latency import latency_summary
    from wsframes.report.findings import PHASES
    from wsframes.schema import ACTIVITY_SCHEMA, DURATION_COLUMNS

    assert set(DURATION_COLUMNS) == {n for n in ACTIVITY_SCHEMA if n.endswith("_duration")}
    # the report's phases and the latency summary's default metrics are these columns
    assert [c for c, _ in PHASES] == list(DURATION_COLUMNS)
    one = pl.DataFrame({c: [0.5] for c in DURATION_COLUMNS})
    assert latency_summary(one)["metric"].to_list() == list(DURATION_COLUMNS)
