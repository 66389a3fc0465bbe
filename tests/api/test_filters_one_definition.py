"""The activity filters have one definition, ``ActivityFilters``: every loader and the CLI take
exactly its fields, and a filter reaches the wire the same way for one plan and for several."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

import wsframes as wsf
from wsframes import loader
from wsframes.api.activity import FILTERS, ActivityFilters
from wsframes.cli import fetch
from wsframes.fake import FakeWebshare, generate_activity

KEY = "sk-filters-7d2c41"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
NAMES = {f.name for f in fields(ActivityFilters)}


def test_every_loader_and_the_cli_take_exactly_the_filters_fields() -> None:
    assert set(FILTERS) == NAMES - {"plan_id"}
    for func in (wsf.load_activity, loader.Client.activity):
        params = set(inspect.signature(func).parameters)
        assert params >= NAMES, (func.__qualname__, NAMES - params)
    sub = argparse.ArgumentParser().add_subparsers()
    fetch.register(sub)
    dests = {a.dest for a in sub.choices["fetch"]._actions}
    assert dests >= NAMES, NAMES - dests


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWebshare]:
    start = NOW - timedelta(hours=6)
    plans = {p: generate_activity(400, start=start, end=NOW, seed=p, plan_id=p) for p in (1, 2)}
    with FakeWebshare(KEY, plans=plans) as server:
        yield server


FILTER_VALUES = {"search": "a", "error_reason": "*",
                 "verification_category": "requests_to_financial_institutions"}


@pytest.mark.parametrize("plans", [[1], [1, 2]])
def test_each_filter_reaches_every_plans_requests(fake: FakeWebshare, plans: list[int]) -> None:
    fake.requests.clear()
    wsf.load_activity(NOW - timedelta(hours=6), NOW, plan_id=plans[0] if len(plans) == 1 else plans,
                      api_key=KEY, base_url=fake.base_url, requests_per_minute=None, progress=False,
                      **FILTER_VALUES)  # type: ignore[arg-type]
    pages = [r.params for r in fake.requests if r.path == "/api/v2/proxy/activity/"]
    assert {p.get("plan_id") for p in pages} == {str(p) for p in plans}
    for page in pages:
        assert {k: page.get(k) for k in FILTER_VALUES} == FILTER_VALUES
