"""Enrichment against the fake's pool: every known row joined, replacements attributed truthfully."""

from __future__ import annotations

import uuid
from datetime import timedelta

import polars as pl
import pytest

from wsframes import enrich
from wsframes.archive.proxies import save_proxy_snapshot, scan_proxy_snapshots
from wsframes.fake import FakeWebshare
from wsframes.fake.proxies import NEW_ADDRESS, OLD_ADDRESS, POOL, REPLACED_SLOT
from wsframes.schema import ACTIVITY_SCHEMA

from .conftest import NOW

ADDED = ["proxy_country", "proxy_city", "proxy_asn", "proxy_asn_name", "proxy_subnet_24", "proxy_replaced_at"]


def test_every_known_row_is_joined_and_nothing_else_changes(
    fake: FakeWebshare, proxies: pl.DataFrame, replaced: pl.DataFrame
) -> None:
    activity = fake.truth()
    out = enrich(activity, proxies, replaced)
    assert out.height == activity.height
    assert out.columns == [*ACTIVITY_SCHEMA.names(), *ADDED]
    assert out.select(ACTIVITY_SCHEMA.names()).equals(activity)
    with_proxy = out.filter(pl.col("proxy_address").is_not_null())
    assert with_proxy["proxy_country"].null_count() == 0  # every address is listed or replaced
    current = with_proxy.filter(pl.col("proxy_address").cast(pl.String) != OLD_ADDRESS)
    assert current.select(pl.col("proxy_asn", "proxy_city").null_count().sum()).row(0) == (0, 0)
    truth = {p.address: (p.country_code, p.asn_number) for p in POOL}
    sample = current.select("proxy_address", "proxy_country", "proxy_asn").unique().rows()
    assert all(truth.get(a, ("FR", 64503)) == (c, n) for a, c, n in sample)


def test_replaced_proxy_is_attributed_correctly_on_both_sides(
    fake: FakeWebshare, proxies: pl.DataFrame, replaced: pl.DataFrame
) -> None:
    out = enrich(fake.truth(), proxies, replaced).with_columns(pl.col("listen_address").cast(pl.String))
    cut = replaced["created_at"].item()
    old = out.filter(pl.col("listen_address") == OLD_ADDRESS)
    new = out.filter(pl.col("listen_address") == NEW_ADDRESS)
    assert (old["timestamp"] < cut).all() and (new["timestamp"] >= cut).all()
    served = old.filter(pl.col("proxy_address").is_not_null())
    assert set(served["proxy_country"]) == {"US"} and set(served["proxy_replaced_at"]) == {cut}
    assert set(served["proxy_subnet_24"]) == {"198.19.1.0/24"}
    assert set(new["proxy_country"].drop_nulls()) == {"FR"}
    assert new["proxy_replaced_at"].null_count() == new.height


def test_snapshots_enrich_history_with_the_pool_as_it_was(
    tmp_path: object, fake: FakeWebshare, proxies: pl.DataFrame, replaced: pl.DataFrame
) -> None:
    old = POOL[REPLACED_SLOT]
    slot = pl.col("proxy_address") == NEW_ADDRESS
    before = proxies.with_columns(  # the list as it was before the replacement
        pl.when(slot).then(pl.lit(value)).otherwise(column).alias(column)
        for column, value in (("asn_number", old.asn_number), ("city_name", old.city_name),
                              ("country_code", old.country_code), ("proxy_address", old.address))
    )
    save_proxy_snapshot(tmp_path, before, taken_at=NOW - timedelta(days=30))  # type: ignore[arg-type]
    save_proxy_snapshot(tmp_path, proxies, taken_at=replaced["created_at"].item())  # type: ignore[arg-type]
    snaps = scan_proxy_snapshots(tmp_path)  # type: ignore[arg-type]
    assert snaps["snapshot_at"].n_unique() == 2 and "password" not in snaps.columns
    activity = fake.truth()
    out = enrich(activity, snaps, replaced)
    assert out.height == activity.height and out["timestamp"].equals(activity["timestamp"])
    served = out.filter(pl.col("proxy_address").cast(pl.String) == OLD_ADDRESS)
    assert set(served["proxy_asn"]) == {old.asn_number}  # known from the older snapshot
    assert set(served["proxy_city"]) == {old.city_name} and set(served["proxy_country"]) == {"US"}
    after = out.filter(pl.col("proxy_address").cast(pl.String) == NEW_ADDRESS)
    assert set(after["proxy_city"]) == {"Paris"}


def test_lazy_in_lazy_out_and_ipv6_prefix() -> None:
    act = pl.LazyFrame({"proxy_address": ["2001:db8:1:2::5", "10.1.2.3"]})
    px = pl.DataFrame({"proxy_address": ["10.1.2.3"], "country_code": ["JP"]})
    out = enrich(act, px)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["proxy_subnet_24"].to_list() == ["2001:db8:1::/48", "10.1.2.0/24"]


def test_residential_activity_warns_and_stays_null(fake: FakeWebshare, proxies: pl.DataFrame) -> None:
    residential = fake.truth(2)
    with pytest.warns(UserWarning, match="listen_address"):
        out = enrich(residential, proxies)
    assert out.height == residential.height
    assert out.select(pl.col(ADDED).null_count()).row(0) == (residential.height,) * len(ADDED)


def test_null_addresses_never_borrow_a_listed_proxy() -> None:
    # Categorical codes come from one shared dictionary (while some series holds them): make the
    # listed address take the code right after the activity's only address, where a careless
    # "null" sentinel would land.
    used, listed = (f"{uuid.uuid4()}-{i}" for i in range(2))
    holder = pl.Series([used, listed]).cast(pl.Categorical)
    assert holder.to_physical().diff().item(1) == 1
    act = pl.DataFrame({"proxy_address": pl.Series([used, None]).cast(pl.Categorical)})
    px = pl.DataFrame({"proxy_address": [listed], "country_code": ["ZZ"]})
    assert enrich(act, px)["proxy_country"].to_list() == [None, None]
    everyone_null = pl.DataFrame({"proxy_address": pl.Series([None, None], dtype=pl.Categorical)})
    with pytest.warns(UserWarning):
        assert enrich(everyone_null, px)["proxy_country"].null_count() == 2
