"""One activity page -> typed frame: what the parser converts and what it refuses (retryable)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from wsframes.frames import parse_activity_page
from wsframes.schema import ACTIVITY_SCHEMA


def _page(*records: dict[str, object]) -> bytes:
    return json.dumps({"count": len(records), "next": None, "results": list(records)}).encode()


def test_offsets_normalise_to_utc_and_integral_floats_become_ints():
    body = _page(
        {"timestamp": "2026-03-08T01:59:59.999999-08:00", "bytes": 3_000_000_000.0, "port": 443.0},
        {"timestamp": "2026-03-08T10:00:00Z", "bytes": 1, "port": None},
        {"timestamp": "2026-03-08T15:30:00.5+0530", "bytes": None, "port": 80},
    )
    count, frame = parse_activity_page(body, reverse=True)
    assert count == 3 and frame.schema == ACTIVITY_SCHEMA
    assert frame["timestamp"].to_list() == [
        datetime(2026, 3, 8, 10, 0, 0, 500_000, tzinfo=UTC),
        datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 8, 9, 59, 59, 999_999, tzinfo=UTC),
    ]
    assert frame["bytes"].to_list() == [None, 1, 3_000_000_000]
    assert frame["port"].to_list() == [80, None, 443]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("port", 443.5, "port"),  # a fraction would be truncated by a plain cast
        ("port", 3e9, "port"),  # beyond Int32
        ("bytes", 1e19, "bytes"),  # beyond Int64
        ("timestamp", "2026-03-08T10:00:00", "timestamp"),  # no offset: never guessed
        ("timestamp", "2026-02-30T10:00:00Z", "timestamp"),  # no such day
        ("timestamp", None, "no timestamp"),
    ],
)
def test_values_that_cannot_be_exact_are_refused(field, value, match):
    record: dict[str, object] = {"timestamp": "2026-03-08T10:00:00Z", "bytes": 1, "port": 443}
    record[field] = value
    with pytest.raises(ValueError, match=match):
        parse_activity_page(_page(record))
