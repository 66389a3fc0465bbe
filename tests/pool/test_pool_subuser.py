"""Sub-users and several plans: X-Subuser reaches the fake, refusals are clear, frames carry ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import polars as pl
import pytest

import wsframes as wsf
from wsframes._config import Config
from wsframes.api.client import HttpClient
from wsframes.api.limiter import RateLimits
from wsframes.api.proxies import get_proxy_list
from wsframes.errors import APIError, ConfigurationError, PermissionDeniedError
from wsframes.fake import FakeWebshare
from wsframes.pool import load_proxies

from .conftest import NOW

KEY = "sub-key"
START, END = NOW - timedelta(days=2), NOW


@pytest.fixture(scope="module")
def subfake() -> Iterator[FakeWebshare]:
    with FakeWebshare(KEY, records=4_000, now=NOW, seed=5, subusers=(7, 8)) as server:
        yield server


def _load(fake: FakeWebshare, **settings: object) -> pl.DataFrame:
    return wsf.load_activity(START, END, api_key=KEY, base_url=fake.base_url, requests_per_minute=None,
                             **settings)


def _window(df: pl.DataFrame) -> pl.DataFrame:
    ts = pl.col("timestamp")
    return df.filter((ts >= START) & (ts < END))


def test_x_subuser_reaches_the_server_and_the_frame_says_whose(subfake: FakeWebshare) -> None:
    account = _load(subfake)
    mine = _load(subfake, subuser=7)
    other = _load(subfake, subuser=8)
    # The fake serves sub-user 7 its own share: only the header can have selected it.
    expected = _window(subfake.view(1, 7).truth)
    assert 0 < mine.height == expected.height < account.height
    assert mine.drop("subuser_id").equals(expected)
    assert mine["subuser_id"].unique().to_list() == [7]
    assert "subuser_id" not in account.columns
    # Shares are disjoint: no record belongs to two sub-users.
    both = mine.join(other, on=["timestamp", "bytes", "hostname"], how="inner")
    assert both.height == 0


def test_a_refused_subuser_is_a_clear_error_before_any_data(subfake: FakeWebshare) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        _load(subfake, subuser=9)
    text = str(info.value)
    assert "X-Subuser 9" in text and "not enabled" in text and KEY not in text
    # The pool loaders take the same Config and get the same refusal.
    with pytest.raises(PermissionDeniedError, match="403"):
        load_proxies(config=Config(api_key=KEY, base_url=subfake.base_url, subuser=9,
                                   requests_per_minute=None))


def test_an_ignored_subuser_header_is_detected_from_the_stats() -> None:
    fake = FakeWebshare(KEY, records=2_000, now=NOW, seed=6, subusers=(7,), subuser_activity=False)
    with fake, pytest.raises(APIError, match="ignored X-Subuser 7 on activity"):
        _load(fake, subuser=7)


@pytest.mark.parametrize("bad", [0, -3, True, "7", 1.5])
def test_a_bad_subuser_is_refused_before_any_request(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="subuser"):
        Config(subuser=bad)  # type: ignore[arg-type]


def test_several_plans_in_one_frame_group_by_plan_id(subfake: FakeWebshare) -> None:
    both = _load(subfake, plan_id=[1, 2])
    one, two = _load(subfake, plan_id=1), _load(subfake, plan_id=2)
    assert both.height == one.height + two.height
    assert both["timestamp"].is_sorted()
    counts = dict(both.group_by("plan_id").len().iter_rows())
    assert counts == {1: one.height, 2: two.height}
    proxies = load_proxies(api_key=KEY, base_url=subfake.base_url, requests_per_minute=None)
    health = wsf.pool_health(wsf.enrich(both, proxies), by="plan_id", min_requests=1)
    assert sorted(health["plan_id"].to_list()) == [1, 2]
    assert health["requests"].sum() == both.height
    with pytest.raises(ConfigurationError, match="distinct plan ids"):
        _load(subfake, plan_id=[1, 1])
    with pytest.raises(ConfigurationError, match="plan_id"):
        _load(subfake, plan_id=[1, -2])


def test_proxy_list_pages_count_against_their_own_limiter_group(subfake: FakeWebshare) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the clock never moves: stop at the first wait
        waits.append(seconds)
        raise _Waited

    limits = RateLimits(240, {"proxy_list": 1}, clock=lambda: 0.0, sleep=sleep)
    http = HttpClient(Config(api_key=KEY, base_url=subfake.base_url), limits=limits)
    try:
        with pytest.raises(_Waited):
            get_proxy_list(http, mode="direct", page_size=10)  # 4 pages; the 2nd must wait
    finally:
        http.close()
    assert waits[0] > 59  # a whole window of the 1-a-minute proxy_list group
    assert not limits.for_group("general")._starts  # the general group never counted the list


class _Waited(Exception):
    pass
