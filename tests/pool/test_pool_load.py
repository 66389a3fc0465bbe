"""Loading the pool from the fake API: typed, exact, paged, secret-free, rate limited."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

import polars as pl
import pytest

from wsframes import ConfigurationError
from wsframes.api.proxies import PROXY_LIST_REQUESTS_PER_MINUTE
from wsframes.fake import FakeWebshare
from wsframes.fake.proxies import NEW_ADDRESS, OLD_ADDRESS, proxy_list_records
from wsframes.pool import load_error_reasons, load_proxies, load_replaced_proxies
from wsframes.schema import ERROR_REASON_SCHEMA, PROXY_SCHEMA, REPLACED_PROXY_SCHEMA

from .conftest import NOW

KEY = "pool-key"


def test_proxy_list_is_typed_exact_and_paged(fake: FakeWebshare, proxies: pl.DataFrame) -> None:
    before = len(fake.requests)
    small = load_proxies(api_key=KEY, base_url=fake.base_url, page_size=7, requests_per_minute=None)
    pages = [r for r in fake.requests[before:] if r.path == "/api/v2/proxy/list/"]
    assert len(pages) == 6  # 40 proxies / 7 a page
    assert small.schema == PROXY_SCHEMA and proxies.schema == PROXY_SCHEMA
    assert small.equals(proxies) and proxies.height == 40
    assert proxies["proxy_address"].n_unique() == 40
    assert NEW_ADDRESS in proxies["proxy_address"].to_list()
    assert OLD_ADDRESS not in proxies["proxy_address"].to_list()
    assert proxies["asn_number"].null_count() == 0 and proxies["last_verification"].null_count() == 0


def test_password_never_reaches_the_frame_or_the_logs(
    fake: FakeWebshare, proxies: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = {r["password"] for r in proxy_list_records(fake.truth(), "direct", now_us=0, tz="UTC")}
    assert "password" not in proxies.columns
    with caplog.at_level(logging.DEBUG):
        again = load_proxies(api_key=KEY, base_url=fake.base_url, page_size=9, requests_per_minute=None)
    assert caplog.records  # the requests were logged...
    text = repr(again) + str(again.rows()) + again.write_csv() + caplog.text
    assert not any(s in text for s in secrets)  # ...without a password
    assert KEY not in caplog.text


def test_bad_arguments_fail_before_any_request(fake: FakeWebshare) -> None:
    before = len(fake.requests)
    with pytest.raises(ConfigurationError, match="mode"):
        load_proxies("residential", api_key=KEY, base_url=fake.base_url)
    with pytest.raises(ConfigurationError, match="page_size"):
        load_proxies(api_key=KEY, base_url=fake.base_url, page_size=0)
    with pytest.raises(ConfigurationError, match="plan_id"):
        load_replaced_proxies(api_key=KEY, base_url=fake.base_url, plan_id=-1)
    assert len(fake.requests) == before


def test_residential_plan_has_no_direct_proxies(fake: FakeWebshare) -> None:
    direct = load_proxies(api_key=KEY, base_url=fake.base_url, plan_id=2, requests_per_minute=None)
    backbone = load_proxies("backbone", api_key=KEY, base_url=fake.base_url, plan_id=2,
                            requests_per_minute=None)
    assert direct.height == 0 and direct.schema == PROXY_SCHEMA
    assert backbone.height > 0 and backbone["proxy_address"].null_count() == backbone.height
    none = load_replaced_proxies(api_key=KEY, base_url=fake.base_url, plan_id=2)
    assert none.height == 0 and none.schema == REPLACED_PROXY_SCHEMA


def test_replaced_list_matches_the_activity(fake: FakeWebshare, replaced: pl.DataFrame) -> None:
    assert replaced.schema == REPLACED_PROXY_SCHEMA
    row = replaced.row(0, named=True)
    assert (row["proxy"], row["replaced_with"]) == (OLD_ADDRESS, NEW_ADDRESS)
    assert (row["proxy_country_code"], row["replaced_with_country_code"]) == ("US", "FR")
    truth = fake.truth().with_columns(pl.col("listen_address").cast(pl.String))
    old = truth.filter(pl.col("listen_address") == OLD_ADDRESS)["timestamp"]
    new = truth.filter(pl.col("listen_address") == NEW_ADDRESS)["timestamp"]
    assert old.len() > 50 and new.len() > 50
    assert old.max() < row["created_at"] <= new.min()  # type: ignore[operator]


def test_error_reasons_carry_webshare_type_and_status(fake: FakeWebshare) -> None:
    reasons = load_error_reasons(NOW - timedelta(days=8), NOW, api_key=KEY, base_url=fake.base_url,
                                 requests_per_minute=None)
    assert reasons.schema == ERROR_REASON_SCHEMA
    failed = fake.truth().filter(pl.col("error_reason").is_not_null())
    assert reasons["count"].sum() == failed.height
    by_code = {r["reason"]: r for r in reasons.iter_rows(named=True)}
    assert by_code["no_proxies_allocated"]["type"] == "configuration"
    assert by_code["no_proxies_allocated"]["http_status"] == 407


def test_proxy_list_group_is_rate_limited_at_60_a_minute() -> None:
    assert PROXY_LIST_REQUESTS_PER_MINUTE == 60
    with FakeWebshare("k", records=200) as server:
        url = f"{server.base_url}/api/v2/proxy/list/?mode=direct"
        statuses = []
        for _ in range(PROXY_LIST_REQUESTS_PER_MINUTE + 1):
            request = urllib.request.Request(url, headers={"Authorization": "Token k"})
            try:
                with urllib.request.urlopen(request) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                assert int(exc.headers["Retry-After"]) >= 1
                assert "throttled" in json.loads(exc.read())["detail"]
    assert statuses == [200] * PROXY_LIST_REQUESTS_PER_MINUTE + [429]


def test_mode_is_required_by_the_fake(fake: FakeWebshare) -> None:
    request = urllib.request.Request(f"{fake.base_url}/api/v2/proxy/list/",
                                     headers={"Authorization": f"Token {KEY}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400 and "mode" in json.loads(info.value.read())
