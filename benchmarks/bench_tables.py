"""What Great Tables costs the report: time and bytes of its tables against hand-built HTML.

The report's tables (error taxonomy, the four "top" tables, the comparison, the footer) are
rendered from a busy week (``--records``, default 1,000,000) with
:func:`wsframes.report.render.table_html` (Great Tables) and, as the baseline in the same
process, with the string-concatenation renderer the report used before (reproduced here). Prints
the median time of each and the ratio, and the bytes each adds to the page: the report must stay
under 3 MB (issue 13), so the tables' share of that budget is the figure to watch.

Usage: python benchmarks/bench_tables.py [--records N] [--repeat R]
"""

from __future__ import annotations

import argparse
import html
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl

from wsframes.analysis import error_taxonomy
from wsframes.fake import generate_activity
from wsframes.report import sections
from wsframes.report.render import table_html

END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=7)
BUDGET_BYTES = 3_000_000


def hand_built(frame: pl.DataFrame) -> str:
    """The previous renderer: escaped cells, numbers as text, one string."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape('–' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def tables(df: pl.DataFrame) -> list[pl.DataFrame]:
    """The frames the report shows as tables (as the sections shape them)."""
    shown = [error_taxonomy(df).drop("api_how_to_fix")]
    for column, sort_by in (("domain", "requests"), ("proxy_address", "requests"), ("hostname", "failed")):
        shown.append(sections._offenders(df, column, n=10, sort_by=sort_by))
    return shown


def median_time(render: Callable[[pl.DataFrame], str], frames: list[pl.DataFrame], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for frame in frames:
            render(frame)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frames = tables(generate_activity(args.records, start=START, end=END, seed=1))
    table_html(frames[0])  # import Great Tables outside the timing

    gt_s = median_time(table_html, frames, args.repeat)
    base_s = median_time(hand_built, frames, args.repeat)
    gt_bytes = sum(len(table_html(f).encode()) for f in frames)
    base_bytes = sum(len(hand_built(f).encode()) for f in frames)
    rows = sum(f.height for f in frames)
    print(f"{len(frames)} tables, {rows} rows, from {args.records:,} records (median of {args.repeat})")
    ratio_s, ratio_b = gt_s / base_s, gt_bytes / base_bytes
    gt_ms, base_ms = gt_s * 1000, base_s * 1000
    print(f"time   great_tables {gt_ms:8.1f} ms   hand-built {base_ms:8.1f} ms   ratio {ratio_s:.1f}x")
    budget = f"{gt_bytes / BUDGET_BYTES:.2%} of the 3 MB page budget"
    print(f"bytes  great_tables {gt_bytes:8,}   hand-built {base_bytes:8,}   ratio {ratio_b:.1f}x ({budget})")


if __name__ == "__main__":
    main()
