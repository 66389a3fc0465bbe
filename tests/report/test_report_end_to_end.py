"""A report built for real: fake API over loopback, loader in a real kernel, nbconvert, Chromium.

One build (module fixture) with a distinctive API key and hostile host names that fail often
enough to reach the report's tables; every test then checks one promise about its outputs.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wsframes.fake import FakeWebshare, generate_activity
from wsframes.fake.catalog import HOSTILE_DOMAINS
from wsframes.report import build_report

KEY = "wsf-TEST-KEY-9c1e4b7a2f"  # distinctive, so a leak anywhere is found by a plain search
END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=7)
HOSTILE = list(HOSTILE_DOMAINS.values())
QUOTED = HOSTILE_DOMAINS["quote.example"]
SECTIONS = [
    "Alerts",
    "Standing problems",
    "Latency",
    "Percentiles over time",
    "Errors",
    "Traffic",
    "Top domains, proxies and hosts",
    "Compared with the previous period",
    "About this report",
]


def _activity() -> pl.DataFrame:
    """Two weeks of synthetic traffic; hostile host names that worked last week fail this week."""
    base = generate_activity(6_000, start=START - timedelta(days=7), end=END, seed=11)
    # Most on the quoted host, so that an alert names it (the markdown route of escaping).
    hosts = pl.Series("hostname", [HOSTILE[i % len(HOSTILE)] if i < 100 else QUOTED for i in range(400)])
    worked = base.filter(pl.col("timestamp") < START).head(400).with_columns(hosts, error_reason=None)
    failed = (
        base.filter(pl.col("timestamp") >= START)
        .head(400)
        .with_columns(hosts, error_reason=pl.lit("target_connect_unknown_error").cast(pl.Categorical))
    )
    return pl.concat([base, worked, failed]).sort("timestamp")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("reports")
    logs = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.DEBUG)
    try:
        with FakeWebshare(KEY, plans={1: _activity()}, page_cap=5_000, now=END) as fake:
            result = build_report(
                START,
                END,
                plan_id=1,
                tz="Europe/Berlin",
                compare_previous=True,
                api_key=KEY,
                base_url=fake.base_url,
                out_dir=out,
                now=END,
                page_size=5_000, requests_per_minute=None,
            )
            served = fake.request_count
    finally:
        root.removeHandler(logs)
        root.setLevel(old_level)
    yield {
        "result": result,
        "out": out,
        "logs": "\n".join(logs.lines),
        "served": served,
        "html": result.html_path.read_text(encoding="utf-8"),
    }


def test_files_are_written_with_deterministic_names(built: dict[str, Any]) -> None:
    out: Path = built["out"]
    stem = "wsframes-2026-11-19T0100_2026-11-26T0100-plan1-Europe-Berlin"
    assert built["result"].html_path == out / f"{stem}.html"
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{stem}.html", f"{stem}.ipynb", "index.html"])
    assert built["served"] > 0  # the kernel really loaded the data over HTTP


class _Tags(HTMLParser):
    """Every tag and attribute of a page, as the browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _tags(page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_html_is_self_contained(built: dict[str, Any]) -> None:
    tags = _tags(built["html"])
    names = {tag for tag, _ in tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "base"}
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], tag
        for attr in ("src", "href", "srcset"):
            if attr in attrs:
                assert attrs[attr].startswith(("data:image/", "#")), f"<{tag} {attr}={attrs[attr][:80]}>"
    page = built["html"]
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(?!data:)", page)
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]


def test_sections_come_in_reading_order_with_figures(built: dict[str, Any]) -> None:
    page = built["html"]
    found = [html.unescape(h) for h in re.findall(r"<h[23][^>]*>(.*?)<", page)]
    assert [h for h in found if h in SECTIONS] == SECTIONS
    assert page.index("ws-cards") < page.index(">Alerts<")  # headline numbers first
    images = [attrs for tag, attrs in _tags(page) if tag == "img"]
    assert len(images) == 6  # five charts and the drill-down of the error burst _activity plants
    assert all(i["src"].startswith("data:image/png;base64,") and i.get("alt") for i in images)
    assert "No description has been provided" not in page
    assert "def " not in page and "import " not in page  # code cells are hidden
    assert "Europe/Berlin" in page and "wsframes version" in page


def test_alerts_name_the_unknown_code(built: dict[str, Any]) -> None:
    page = built["html"]
    alerts = page[page.index(">Alerts<") : page.index(">Latency<")]
    assert "Unknown error codes" in alerts and "target_connect_timeout" in alerts


def test_api_key_appears_in_no_output_or_log(built: dict[str, Any]) -> None:
    for path in built["out"].iterdir():
        assert KEY not in path.read_text(encoding="utf-8"), path.name
    assert built["logs"], "logging was captured"
    assert KEY not in built["logs"]
    nb = built["result"].notebook_path.read_text(encoding="utf-8")
    assert "WEBSHARE_API_KEY" not in nb.split("injected by wsframes.build_report")[1].split("]")[0]


def test_hostile_host_names_show_as_text(built: dict[str, Any]) -> None:
    page = built["html"]
    parser = _Tags()
    parser.feed(page)
    cells = set(parser.text)
    titles = {attrs.get("title") for _, attrs in parser.tags}
    for name in HOSTILE:
        assert name in cells or name in titles  # cell text; a very long one shortened, whole in a title
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page  # never as markup
    assert not [tag for tag, attrs in parser.tags if "onerror" in attrs]


def _mentions(strings: list[str]) -> dict[str, list[str]]:
    """For each hostile name, the strings that mention its domain's tail (".quote.example")."""
    tails = {name: "." + domain for domain, name in HOSTILE_DOMAINS.items() if len(name) < 60}
    return {name: [s for s in strings if tail in s] for name, tail in tails.items()}


def test_every_route_escapes_data_exactly_once(built: dict[str, Any]) -> None:
    # Markdown (alerts, findings), Great Tables and the drill-downs' captions: once the page is
    # parsed (entities decoded once, as a browser does), every mention reads exactly as the data.
    page = built["html"]
    parser = _Tags()
    parser.feed(page)
    strings = parser.text + [v for _, attrs in parser.tags for v in attrs.values()]
    alerts = page[page.index(">Alerts<") : page.index(">Latency<")]
    for name, mentions in _mentions(strings).items():
        assert mentions, f"{name!r} is not shown at all"
        assert all(name in m for m in mentions), [m for m in mentions if name not in m]
    said = _Tags()
    said.feed(alerts)
    assert any(QUOTED in text for text in said.text)  # the alert names the failing host, escaped once
    assert "&amp;amp;" not in page and "&amp;lt;" not in page and "&amp;#x27;" not in page


def test_index_lists_the_report_with_headline_numbers(built: dict[str, Any]) -> None:
    index = built["result"].index_path.read_text(encoding="utf-8")
    summary = built["result"].summary
    assert f'href="{built["result"].html_path.name}"' in index
    assert summary["requests"] > 0 and f"{summary['requests']:,}" in index


def test_chromium_opens_it_offline_without_errors(built: dict[str, Any], chromium_visit: Any) -> None:
    visit = chromium_visit(built["result"].html_path)
    assert visit.requests == []
    assert visit.console_errors == []
    assert visit.scripts == 0
    assert len(visit.images) == 6  # five charts and one incident drill-down
    assert all(complete and width > 0 and height > 0 for complete, width, height in visit.images)
    assert all(name in visit.text for name in HOSTILE[:3])  # the browser shows them as text
    lines = visit.text.splitlines()
    assert all(name in line for name, found in _mentions(lines).items() for line in found)
    assert "rows/s" not in visit.text and "rows [" not in visit.text  # no load bar from the kernel


def test_chromium_opens_the_index(built: dict[str, Any], chromium_visit: Any) -> None:
    visit = chromium_visit(built["result"].index_path)
    assert visit.requests == [] and visit.console_errors == [] and visit.title == "wsframes reports"
