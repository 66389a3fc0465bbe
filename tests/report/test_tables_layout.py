"""Report tables hold their layout for hostile lengths: a real build, measured in headless Chromium.

A 250-character host name and domain fail often enough to reach every "top" table. The page is
opened in Chromium at desktop (1300 px) and phone (390 px) widths; a copy of the page gets a tiny
measuring script (the report itself forbids scripts by CSP, so the copy drops that one meta tag)
and ``--dump-dom`` returns what it measured.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wsframes.fake import generate_activity
from wsframes.report import build_report

END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=2)
LONG_HOST = ("a-very-long-label-" * 14)[:236] + ".example.com"  # 248 characters, no spaces
LONG_DOMAIN = "x" * 238 + ".example"  # 246 characters: one unbreakable word

# The report is shown in an iframe of the width under test (Chromium will not open a window
# narrower than 500 px); srcdoc keeps it same-origin, so the wrapper's script can measure it.
MEASURE = """<script>addEventListener("load", () => {
  const doc = document.querySelector("iframe").contentDocument;
  const boxes = [...doc.querySelectorAll(".ws-table > div")];
  const out = {
    viewport: doc.documentElement.clientWidth,
    page: doc.documentElement.scrollWidth,
    tables: boxes.length,
    scrolling: boxes.filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.querySelector("table")
      .closest("[id]").id),
    titles: [...doc.querySelectorAll("[title]")].map(e => e.title),
  };
  const pre = document.createElement("pre");
  pre.id = "ws-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = generate_activity(4_000, start=START - timedelta(days=2), end=END, seed=21)
    long_rows = pl.int_range(pl.len()) % 5 == 0
    frame = base.with_columns(
        pl.when(long_rows).then(pl.lit(LONG_HOST)).otherwise(pl.col("hostname")).alias("hostname"),
        pl.when(long_rows).then(pl.lit(LONG_DOMAIN)).otherwise(pl.col("domain")).alias("domain"),
        pl.when(long_rows)
        .then(pl.lit("target_connect_unknown_error"))
        .otherwise(pl.col("error_reason").cast(pl.String))
        .cast(base.schema["error_reason"])
        .alias("error_reason"),
    )
    out = tmp_path_factory.mktemp("layout")
    result = build_report(START, END, data=frame, out_dir=out, compare_previous=True)
    return result.html_path


def _measure(page: Path, width: int, tmp_path: Path) -> dict[str, Any]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text, count=1)
    frame = f'<iframe width="{width}" height="900" style="border:0" srcdoc="{html.escape(text)}"></iframe>'
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(f"<!DOCTYPE html><body style='margin:0'>{frame}{MEASURE}</body>", encoding="utf-8")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed for the layout check"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={max(width, 500)},900"]
    dom = subprocess.run(
        [*common, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # A screenshot of the probe (the report at that width) for a human look, next to the test's files.
    subprocess.run(
        [*common, f"--screenshot={tmp_path / f'report-{width}.png'}", probe.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    found = re.search(r'<pre id="ws-measure">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_long_names_are_shortened_with_the_full_text_in_a_title(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert LONG_HOST not in re.sub(r'title="[^"]*"', "", page)  # never shown whole...
    assert f'title="{LONG_HOST}"' in page and f'title="{LONG_DOMAIN}"' in page  # ...but available


def test_no_horizontal_scrolling_at_desktop_width(report: Path, tmp_path: Path) -> None:
    m = _measure(report, 1300, tmp_path)
    assert m["tables"] >= 6  # taxonomy, four "top" tables, comparison, footer
    assert m["viewport"] >= 1250 and m["page"] <= m["viewport"], m
    assert m["scrolling"] == [], f"tables wider than the page: {m['scrolling']}"
    assert LONG_HOST in m["titles"]


def test_phone_width_keeps_the_page_itself_from_scrolling(report: Path, tmp_path: Path) -> None:
    m = _measure(report, 390, tmp_path)
    # Wide numeric tables may scroll inside their own box on a phone; the page must not.
    assert m["viewport"] <= 390 and m["page"] <= m["viewport"], m
