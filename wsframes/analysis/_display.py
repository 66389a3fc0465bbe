"""Notebook displays of analysis results: small Great Tables views that do not hide the frame.

Used by the ``_repr_html_`` of result objects (e.g. :class:`PeriodComparison`). Each view says
what the object is and how to reach the frames, shows the first rows with readable numbers
(shares as percentages, by their ``share``/``rate`` names), and never collects a LazyFrame.

>>> import polars as pl
>>> page = frame_html(pl.DataFrame({"value": ["<b>"], "share_after": [0.25]}), title="t")
>>> "&lt;b&gt;" in page, "25.00%" in page, "<b>" in page
(True, True, False)
"""

from __future__ import annotations

import html
from typing import Any

import polars as pl

__all__ = ["frame_html"]

#: Rows shown per frame; the frame itself holds them all.
MAX_ROWS = 10
_PERCENT_HINTS = ("share", "rate", "ci_low", "ci_high")


def frame_html(frame: Any, *, title: str, max_rows: int = MAX_ROWS) -> str:
    """*frame* (Polars eager or lazy, or pandas) as a titled Great Tables view of its first rows."""
    heading = f"<h4 style='margin:10px 0 4px'>{html.escape(title)}</h4>"
    if isinstance(frame, pl.LazyFrame):
        return heading + "<p><code>LazyFrame</code>: not computed yet; call <code>.collect()</code>.</p>"
    eager = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    note = f"{type(frame).__module__.split('.')[0]} DataFrame, {eager.height:,} rows × {eager.width} columns"
    if eager.height > max_rows:
        note += f"; the first {max_rows} shown"
    if eager.is_empty():
        return heading + f"<p>{html.escape(note)}</p>"
    return heading + f"<p style='margin:0 0 4px'>{html.escape(note)}</p>" + _table(eager.head(max_rows))


def _table(frame: pl.DataFrame) -> str:
    from great_tables import GT

    table = GT(frame)
    for column, dtype in frame.schema.items():
        if dtype.is_float() and any(hint in column for hint in _PERCENT_HINTS):
            table = table.fmt_percent(column, decimals=2)
        elif dtype.is_float():
            table = table.fmt_number(column, n_sigfig=4)
        elif dtype.is_integer():
            table = table.fmt_integer(column)
    table = table.sub_missing(missing_text="–").tab_options(table_margin_left="0", table_font_size="13px")
    html_text: str = table.as_raw_html()
    return html_text
