"""Pool health, replacement advice and the client audit, on the fake's data."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from wsframes import ConfigurationError, client_audit, enrich, pool_health, replacement_plan
from wsframes.fake.generate import generate_activity
from wsframes.fake.incidents import Incident
from wsframes.fake.proxies import POOL, plant_failures, proxy_list_records, replaced_records
from wsframes.pool import proxies_frame, replaced_frame

from .conftest import NOW

BAD_RANGE = [p.address for p in POOL if p.address.startswith("198.19.4.")]
BAD_PROXY = "198.19.2.24"


def _pool(seed: int, incidents: list[Incident] | None = None) -> tuple[pl.DataFrame, ...]:
    df = generate_activity(20_000, start=NOW - timedelta(days=7), end=NOW, seed=seed, incidents=incidents)
    px = proxies_frame(proxy_list_records(df, "direct", now_us=0, tz="UTC"))
    return df, px, replaced_frame(replaced_records(df, tz="UTC"))


def _validate_replace_body(body: dict[str, Any]) -> None:
    """The documented request of POST /api/v3/proxy/replace/ (apidocs, SDK proxy_replacements)."""
    assert set(body) == {"to_replace", "replace_with", "dry_run"} and body["dry_run"] is True
    shapes = {"ip_address": ("ip_addresses", ipaddress.ip_address),
              "ip_range": ("ip_ranges", ipaddress.ip_network),
              "asn": ("asn_numbers", int), "country": ("country_codes", str)}
    target = body["to_replace"]
    key, check = shapes[target["type"]]
    assert set(target) == {"type", key} and target[key]
    for value in target[key]:
        check(value)
        assert not isinstance(value, bool)
    assert isinstance(body["replace_with"], list) and body["replace_with"]
    for item in body["replace_with"]:
        assert item["type"] in {"any", "country", "asn", "ip_range"}
        assert isinstance(item["count"], int) and item["count"] > 0


def test_plan_finds_a_bad_range_and_a_bad_proxy() -> None:
    df, px, rp = _pool(seed=11)
    df = plant_failures(df, BAD_RANGE, rate=0.10, seed=1)
    df = plant_failures(df, [BAD_PROXY], rate=0.30, seed=2)
    plan = replacement_plan(df, px, replaced=rp)
    flagged = set(plan.candidates.select("level", "value").iter_rows())
    assert ("subnet", "198.19.4.0/24") in flagged and ("proxy", BAD_PROXY) in flagged
    assert not any(level == "subnet" and value != "198.19.4.0/24" for level, value in flagged)
    for body in plan.bodies:
        _validate_replace_body(body)
    kinds = {b["to_replace"]["type"]: b for b in plan.bodies}
    assert kinds["ip_range"]["to_replace"]["ip_ranges"] == ["198.19.4.0/24"]
    assert kinds["ip_range"]["replace_with"] == [{"type": "any", "count": 8}]
    assert kinds["ip_address"]["to_replace"]["ip_addresses"] == [BAD_PROXY]  # the range covers the rest
    assert (plan.candidates["p_adjusted"] < 0.01).all() and plan.tests > 40
    assert '"dry_run": true' in plan.to_json()


@pytest.mark.parametrize("seed", range(12))
def test_a_healthy_pool_is_rated_in_line_and_nothing_is_proposed(seed: int) -> None:
    """The fake's times are lognormal with a heavy tail and slow domains, its failures binomial:
    natural variation that the false-alarm budget must absorb, at every level, for failures and
    speed alike (per-group 95% intervals called one proxy in 40 worse or better by chance)."""
    df, px, rp = _pool(seed)
    plan = replacement_plan(df, px, replaced=rp)
    assert plan.candidates.height == 0 and plan.bodies == []
    assert plan.tests > 2 * 40  # every proxy was tested for speed as well as failures
    rich = enrich(df, px, rp)
    for by in ("proxy_address", "proxy_subnet_24", "proxy_asn", "proxy_country"):
        health = pool_health(rich, by=by)
        assert set(health["verdict"]) <= {"in line with pool", "not rated (no key)", "insufficient data"}, by
        assert health["slow_share"].drop_nulls().len() > 0, by  # judged, and found as fast as the pool


def test_a_slow_proxy_is_rated_slower_and_proposed_with_its_evidence() -> None:
    """Every time through one proxy 1.7x as long, its failures as usual: the pool's latency
    problem that a failure-only rating called "in line with pool"."""
    week = Incident("latency_regression", NOW - timedelta(days=7), hours=7 * 24, dimension="proxy_address",
                    value=BAD_PROXY, size=1.7)
    df, px, rp = _pool(seed=11, incidents=[week])
    row = pool_health(df).filter(pl.col("proxy_address") == BAD_PROXY).row(0, named=True)
    assert row["verdict"] == "slower than pool"
    assert row["p95"] > 1.5 * row["pool_p95"] and row["slow_share"] > 0.08
    assert row["ci_low"] < row["pool_error_rate"] < row["ci_high"]  # it does not fail more
    plan = replacement_plan(df, px, replaced=rp)
    assert plan.candidates.select("level", "value", "reason").rows() == [("proxy", BAD_PROXY, "slow")]
    evidence = plan.candidates.row(0, named=True)
    assert evidence["slow_share"] == row["slow_share"] and evidence["p95"] == row["p95"]
    assert evidence["pool_p95"] == row["pool_p95"] and evidence["p_adjusted"] < plan.alpha
    assert plan.bodies[0]["to_replace"] == {"type": "ip_address", "ip_addresses": [BAD_PROXY]}


def _lognormal_pool(slow: dict[str, int]) -> pl.DataFrame:
    """40 proxies of 400 successful requests with lognormal times, plus *slow* proxies (address ->
    requests) whose every request takes three times as long."""
    rng = np.random.default_rng(5)
    sizes = {f"10.0.{i}.1": 400 for i in range(40)} | slow
    address = [a for a, n in sizes.items() for _ in range(n)]
    seconds = rng.lognormal(np.log(0.8), 0.5, len(address))
    seconds *= np.where(pl.Series(address).is_in(list(slow)).to_numpy(), 3.0, 1.0)
    return pl.DataFrame({"proxy_address": address, "bytes": 1, "request_duration": seconds}).with_columns(
        error_reason=pl.lit(None, dtype=pl.String))


def test_speed_is_judged_only_where_a_group_holds_its_own_p95() -> None:
    df = _lognormal_pool({"10.9.0.1": 150, "10.9.0.2": 250})  # under and over the 200 timed requests
    verdict = dict(pool_health(df).select("proxy_address", "verdict").iter_rows())
    assert verdict["10.9.0.2"] == "slower than pool"
    assert verdict["10.9.0.1"] == "in line with pool"  # three times as slow, but too few to judge
    row = pool_health(df).filter(pl.col("proxy_address") == "10.9.0.1").row(0, named=True)
    assert row["slow_share"] is None and row["p95"] is None
    listed = pl.DataFrame({"proxy_address": df["proxy_address"].unique().sort()})
    plan = replacement_plan(df, listed, levels=["proxy"])
    assert plan.candidates["value"].to_list() == ["10.9.0.2"]
    assert plan.tests == 42 + 41  # every proxy for failures, the 41 holding a p95 for speed too


def test_plan_checks_its_arguments() -> None:
    df, px, _ = _pool(seed=0)
    with pytest.raises(ConfigurationError, match="alpha"):
        replacement_plan(df, px, alpha=1.5)
    with pytest.raises(ConfigurationError, match="levels"):
        replacement_plan(df, px, levels=["planet"])


def test_health_verdict_accounts_for_volume() -> None:
    tiny = pl.DataFrame({
        "proxy_address": ["a"] * 3 + ["b"] * 400 + ["c"] * 400,
        "error_reason": ["x"] * 3 + [None] * 380 + ["x"] * 20 + [None] * 300 + ["x"] * 100,
        "bytes": [1] * 803, "request_duration": [0.5] * 803,
    })
    out = pool_health(tiny, by="proxy_address")
    verdict = dict(zip(out["proxy_address"], out["verdict"], strict=True))
    assert verdict == {"a": "insufficient data", "b": "better than pool", "c": "worse than pool"}
    row_a = out.filter(pl.col("proxy_address") == "a").row(0, named=True)
    assert row_a["error_rate"] == 1.0 and row_a["p50"] is None  # no successful sample to hold it
    row_b = out.filter(pl.col("proxy_address") == "b").row(0, named=True)
    assert row_b["p95"] == 0.5 and row_b["p99"] is None  # 380 points hold p95, not p99


def test_health_by_enriched_columns_needs_enrich(fake: Any, proxies: pl.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match="enrich"):
        pool_health(fake.truth(), by="proxy_country")
    health = pool_health(enrich(fake.truth(), proxies), by="proxy_country")
    assert set(health["proxy_country"].drop_nulls()) == {"US", "DE", "GB", "NL", "FR"}
    assert health.filter(pl.col("proxy_country").is_null())["verdict"].to_list() == ["not rated (no key)"]


def test_client_audit_flags_unknown_clients_and_stale_lists(fake: Any) -> None:
    activity = fake.truth()
    audit = client_audit(activity, allowed=["203.0.113.0/28", "2001:db8:c0::/64"])
    assert audit["requests"].sum() == activity.height
    outside = set(audit.filter(~pl.col("allowed"))["client_address"])
    assert "203.0.113.16" in outside and "2001:db8:c0:1::1" in outside
    assert "203.0.113.10" not in outside and "2001:db8:c0::1" not in outside
    stale = activity.filter(pl.col("error_reason").cast(pl.String) == "no_proxies_allocated")
    assert audit["stale_list_attempts"].sum() == stale.height
    names = set(audit["auth_usernames"].explode().drop_nulls())
    assert names == set(stale["auth_username"].drop_nulls())
    assert client_audit(activity)["allowed"].null_count() == audit.height
    with pytest.raises(ConfigurationError, match="CIDR"):
        client_audit(activity, allowed=["not-a-network"])


def test_empty_inputs_give_empty_results_with_columns() -> None:
    from wsframes import empty_activity
    from wsframes.schema import PROXY_SCHEMA, REPLACED_PROXY_SCHEMA

    none = pl.DataFrame(schema=PROXY_SCHEMA)
    enriched = enrich(empty_activity(), none, pl.DataFrame(schema=REPLACED_PROXY_SCHEMA))
    assert enriched.height == 0 and enriched.columns[-1] == "proxy_replaced_at"
    assert pool_health(enriched, by="proxy_subnet_24").columns[-1] == "verdict"
    plan = replacement_plan(empty_activity(), none)
    assert plan.candidates.height == 0 and "p_adjusted" in plan.candidates.columns and plan.bodies == []
    assert client_audit(empty_activity(), allowed=["10.0.0.0/8"]).height == 0
