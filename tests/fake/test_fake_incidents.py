"""Planted incidents: seeded, confined to their window and segment, and the default stays stationary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.errors import ConfigurationError
from wsframes.fake import Incident, generate_activity

T0 = datetime(2026, 11, 2, tzinfo=UTC)
T1 = T0 + timedelta(days=3)
AT = T0 + timedelta(days=1, hours=10)


def _gen(*incidents: Incident, seed: int = 1) -> pl.DataFrame:
    return generate_activity(30_000, start=T0, end=T1, seed=seed, incidents=incidents)


def _inside(inc: Incident) -> pl.Expr:
    return pl.col("timestamp").is_between(inc.start, inc.end, closed="left")


def test_default_is_unchanged_and_planting_is_deterministic() -> None:
    inc = Incident("error_burst", AT, hours=2, dimension="listen_address", value="198.19.3.38", size=0.5)
    assert _gen().equals(generate_activity(30_000, start=T0, end=T1, seed=1))
    assert _gen(inc).equals(_gen(inc))
    assert not _gen(inc).equals(_gen(inc, seed=2))


def test_error_burst_hits_only_its_segment_and_window() -> None:
    inc = Incident(
        "error_burst",
        AT,
        hours=2,
        dimension="listen_address",
        value="198.19.3.38",
        code="client_connect_high_concurrency",
        size=0.6,
    )
    before, after = _gen(), _gen(inc)
    changed = after.filter(
        pl.col("error_reason").cast(pl.String).ne_missing(before["error_reason"].cast(pl.String))
    )
    assert changed.height > 0
    assert changed.filter(~_inside(inc) | (pl.col("listen_address") != "198.19.3.38")).is_empty()
    assert set(changed["error_reason"].cast(pl.String)) == {"client_connect_high_concurrency"}
    # Logged the way the API logs a failure before the target: no tunnel, no bytes, no proxy.
    assert changed["tunnel_duration"].null_count() == changed.height and changed["bytes"].sum() == 0
    assert changed["proxy_address"].null_count() == changed.height
    share = changed.height / after.filter(_inside(inc) & (pl.col("listen_address") == "198.19.3.38")).height
    assert 0.4 < share < 0.75


def test_latency_gap_and_new_code() -> None:
    slow = Incident("latency_regression", AT, hours=3, dimension="domain", value="sasaor.io", size=3.0)
    gap = Incident("traffic_gap", AT + timedelta(hours=20), hours=5)
    new = Incident("new_error_code", AT + timedelta(hours=30), code="made_up_failure", size=0.1)
    before, after = _gen(), _gen(slow, gap, new)
    seg = _inside(slow) & (pl.col("domain") == "sasaor.io")
    ratio = after.filter(seg)["handshake_duration"].sum() / before.filter(seg)["handshake_duration"].sum()
    assert ratio == pytest.approx(3.0)
    assert after.filter(_inside(gap)).is_empty() and before.filter(_inside(gap)).height > 100
    codes = after.filter(pl.col("error_reason") == "made_up_failure")
    assert codes.height > 100 and codes["timestamp"].min() >= new.start
    assert codes["error_reason_how_to_fix"].null_count() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "outage"}, "kind"),
        ({"start": datetime(2026, 11, 2)}, "aware"),
        ({"hours": 0}, "positive"),
        ({"dimension": "domain"}, "both"),
    ],
)
def test_bad_incidents_are_refused(kwargs: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {"kind": "error_burst", "start": AT, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        Incident(**fields)  # type: ignore[arg-type]


def test_unknown_dimension_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an activity column"):
        _gen(Incident("error_burst", AT, dimension="planet", value="mars"))


def test_conjunction_hits_only_rows_matching_both() -> None:
    inc = Incident(
        "error_burst",
        AT,
        hours=6,
        dimension=("domain", "client_address"),
        value=("labha.com", "203.0.113.10"),
        size=1.0,
    )
    before, after = _gen(), _gen(inc)
    changed = after.filter(
        pl.col("error_reason").cast(pl.String).ne_missing(before["error_reason"].cast(pl.String))
    )
    assert changed.height > 0
    both = (pl.col("domain") == "labha.com") & (pl.col("client_address") == "203.0.113.10")
    assert changed.filter(~_inside(inc) | ~both).is_empty()


def test_conjunction_needs_two_of_each() -> None:
    with pytest.raises(ConfigurationError, match="two dimensions"):
        Incident("error_burst", AT, dimension=("domain", "port"), value="labha.com")


def test_a_proxy_net_incident_hits_only_that_slash_24() -> None:
    """``proxy_net`` plants on the proxies of one /24, derived from proxy_address as the analysis does."""
    inc = Incident("latency_regression", AT, hours=2, dimension="proxy_net", value="198.19.4.0/24", size=4.0)
    before, after = _gen(), _gen(inc)
    in_net = pl.col("proxy_address").cast(pl.String).str.starts_with("198.19.4.")
    changed = before["request_duration"] != after["request_duration"]
    hit = before.with_columns(changed=changed).filter("changed")
    assert hit.height > 0 and hit.select((in_net & _inside(inc)).all()).item()
