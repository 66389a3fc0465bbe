"""The report's Proxy pool section: built for real from the fake API, checked in Chromium.

One build (module fixture): a planted bad /24, hostile client "addresses" outside the allow-list,
the proxy list loaded by the kernel from the fake. The section's other branches (no list,
residential, several plans) are drawn directly, without a kernel, to keep the tests fast.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.fake.proxies import POOL, plant_failures
from wsframes.report import build_report
from wsframes.report.pool_section import PoolInputs, load_pool, pool_section_html

from .conftest import NOW

KEY = "wsf-POOL-REPORT-KEY-5e7d"
START, END = NOW - timedelta(days=3), NOW
BAD_RANGE = [p.address for p in POOL if p.address.startswith("198.19.4.")]
HOSTILE = ['<script>alert("pool")</script>', '"><img src=x onerror=alert(2)>']
MAX_BYTES = 3_000_000  # the report's size budget


def _activity() -> pl.DataFrame:
    df = generate_activity(12_000, start=START, end=END, seed=21)
    df = plant_failures(df, BAD_RANGE, rate=0.2, seed=4)
    hostile = pl.Series([HOSTILE[i % 2] for i in range(df.height)], dtype=pl.String)
    client = pl.when(pl.int_range(pl.len()) % 97 == 0).then(hostile).otherwise(
        pl.col("client_address").cast(pl.String))
    return df.with_columns(client.cast(pl.Categorical).alias("client_address"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("pool-report")
    with FakeWebshare(KEY, plans={1: _activity()}, page_cap=5_000, now=END) as fake:
        result = build_report(START, END, plan_id=1, compare_previous=False, api_key=KEY,
                              base_url=fake.base_url, out_dir=out, now=END,
                              page_size=5_000, requests_per_minute=None,
                              allowed_clients="0.0.0.0/0,::/0")
        served = [r.path for r in fake.requests]
    page = result.html_path.read_text(encoding="utf-8")
    yield {"result": result, "html": page, "served": served,
           "section": page[page.index(">Proxy pool<"): page.index(">Compared with the previous period<")]}


def test_the_kernel_loaded_the_proxy_list_and_drew_the_section(built: dict[str, Any]) -> None:
    assert built["served"].count("/api/v2/proxy/list/") == 1  # one more request, one page
    section = built["section"]
    for title in ("By country", "By network (ASN)", "By /24 range", "Worst proxies",
                  "Suggested replacement (dry run)", "Clients outside the allow-list"):
        assert f">{html.escape(title)}<" in section, title
    assert "198.19.4.0/24" in section and "worse than pool" in section


def test_the_dry_run_body_is_a_copyable_escaped_json_block(built: dict[str, Any]) -> None:
    block = re.search(r'<pre class="ws-json" id="ws-pool-replace">(.*?)</pre>', built["section"], re.S)
    assert block is not None
    bodies = json.loads(html.unescape(block.group(1)))
    ranges = [b for b in bodies if b["to_replace"]["type"] == "ip_range"]
    assert ranges and ranges[0]["to_replace"]["ip_ranges"] == ["198.19.4.0/24"]
    assert all(b["dry_run"] is True for b in bodies)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data.strip())


def test_hostile_clients_are_text_and_the_page_is_within_budget(built: dict[str, Any]) -> None:
    page = built["html"]
    assert len(page.encode()) < MAX_BYTES
    parser = _Text()
    parser.feed(built["section"])
    assert not [t for t, a in parser.tags if t in {"script", "img"} or any(k.startswith("on") for k in a)]
    assert all(h in parser.text for h in HOSTILE)  # the allow-list flags them, shown as text
    assert KEY not in page


@pytest.fixture(scope="module")
def chromium_visit() -> Any:
    """The report tests' headless-Chromium driver (tests/report/conftest.py), reused as is."""
    path = Path(__file__).parents[1] / "report" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_wsframes_report_browser", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.visit


def test_chromium_shows_the_section_offline(built: dict[str, Any], chromium_visit: Any) -> None:
    visit = chromium_visit(built["result"].html_path)
    assert visit.requests == [] and visit.console_errors == [] and visit.scripts == 0
    assert "Proxy pool" in visit.text and '"dry_run": true' in visit.text
    assert HOSTILE[0] in visit.text


def test_without_a_proxy_list_the_section_says_what_it_needs() -> None:
    df = generate_activity(2_000, start=START, end=END, seed=3)
    text = pool_section_html(df, load_pool(from_api=False, plan_id=None, settings=None,
                                           proxies_path=None))
    assert "needs the proxy list" in text and "--proxies FILE" in text and "ws-pool-proxy" in text
    missing = load_pool(from_api=False, plan_id=None, settings=None, proxies_path="/nonexistent.parquet")
    assert "does not exist" in pool_section_html(df, missing)


def test_residential_plans_are_named_and_rated_by_gateway() -> None:
    df = generate_activity(2_000, start=START, end=END, seed=3)
    df = df.with_columns(pl.lit(None, pl.String).cast(pl.Categorical).alias("proxy_address"))
    text = pool_section_html(df, PoolInputs(None, None))
    assert "residential plan" in text and "ws-pool-gateway" in text


def test_several_plans_and_subusers_get_their_breakdowns(proxies: pl.DataFrame) -> None:
    df = generate_activity(3_000, start=START, end=END, seed=8)
    df = df.with_columns((pl.int_range(pl.len()) % 2 + 1).alias("plan_id"),
                         (pl.int_range(pl.len()) % 3 + 7).alias("subuser_id"))
    text = pool_section_html(df, PoolInputs(proxies, None))
    assert ">By plan<" in text and ">By sub-user<" in text
    single = pool_section_html(df.with_columns(pl.lit(1).alias("plan_id")).drop("subuser_id"),
                               PoolInputs(proxies, None))
    assert ">By plan<" not in single


def test_a_bad_allow_list_or_proxy_file_fails_before_anything_runs(tmp_path: Path) -> None:
    data = tmp_path / "d.parquet"
    generate_activity(10, start=START, end=END).write_parquet(data)
    with pytest.raises(ConfigurationError, match="not an address or CIDR"):
        build_report(START, END, data=data, out_dir=tmp_path, allowed_clients="10.0.0.0/33")
    with pytest.raises(ConfigurationError, match="proxies="):
        build_report(START, END, data=data, out_dir=tmp_path, proxies=tmp_path / "no.parquet")
    assert not list(tmp_path.glob("*.html"))


def test_a_report_for_a_refused_subuser_fails_naming_it(tmp_path: Path) -> None:
    from wsframes import Config
    from wsframes.errors import ReportError

    with FakeWebshare(KEY, records=1_000, now=END, subusers=(7,)) as fake:
        cfg = Config(api_key=KEY, base_url=fake.base_url, requests_per_minute=None, subuser=9)
        refused = r"refused X-Subuser 9 \(403\): the sub-user API is not enabled"
        with pytest.raises(ReportError, match=refused):
            build_report(END - timedelta(days=1), END, plan_id=1, compare_previous=False, out_dir=tmp_path,
                         now=END, config=cfg)
    assert not list(tmp_path.glob("*.html"))
