"""Notebook displays of analysis results: small Great Tables views that do not hide the frame.

Used by the ``_repr_html_`` of result objects (e.g. :class:`PeriodComparison`, :class:`Incidents`).
Each view says what the object is and how to reach the frames, shows the first rows with readable
numbers (shares as percentages, by their ``share``/``rate`` names), and never collects a LazyFrame.

>>> import polars as pl
>>> page = frame_html(pl.DataFrame({"value": ["<b>"], "share_after": [0.25]}), title="t")
>>> "&lt;b&gt;" in page, "25.00%" in page, "<b>" in page
(True, True, False)
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import polars as pl

from wsframes.timeutil import check_tz

__all__ = ["Incidents", "frame_html"]

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


@dataclass(frozen=True)
class Incidents:
    """:func:`~wsframes.analysis.find_incidents`' result with a readable Jupyter view.

    Nothing is hidden or recomputed: ``frame`` is the result itself (Polars eager or lazy, or
    pandas), with every column documented in :func:`~wsframes.analysis.find_incidents`. The view
    shows one row per incident: what, where, when (in *tz*), the observed level against the usual
    one in its unit (a share of requests as a percentage, a p95 in seconds, a count of requests),
    the excess and what to do.

    >>> import polars as pl
    >>> from wsframes.analysis.incidents import INCIDENT_SCHEMA
    >>> view = Incidents(pl.DataFrame(schema=INCIDENT_SCHEMA))
    >>> "No incident" in view._repr_html_()
    True
    """

    frame: Any
    tz: str = "UTC"

    def __post_init__(self) -> None:
        check_tz(self.tz)

    def _repr_html_(self) -> str:
        """Jupyter view: a sentence saying where the frame is, then one table row per incident."""
        if isinstance(self.frame, pl.LazyFrame):
            return frame_html(self.frame, title="Incidents")
        eager = self.frame if isinstance(self.frame, pl.DataFrame) else pl.from_pandas(self.frame)
        if eager.is_empty():
            return ("<p><b>Incidents</b>: No incident found (at the false-alarm budget of "
                    "<code>find_incidents</code>). The frame is <code>.frame</code>.</p>")
        kind = type(self.frame).__module__.split(".")[0]
        head = (f"<p><b>Incidents</b>: {eager.height} found, most requests affected first; the "
                f"{html.escape(kind)} DataFrame ({eager.width} columns) is <code>.frame</code>.</p>")
        return head + _incident_table(eager, self.tz)


def _level(metric: str, value: float | None) -> str:
    """An incident's observed or usual level in the metric's unit."""
    if value is None:
        return "–"
    if metric.endswith("_rate") or metric.endswith("_share"):
        return f"{value:.1%}"
    if metric.endswith("_p95"):
        return f"{value:.3g} s"
    return f"{value:,.0f} requests"


def _incident_table(frame: pl.DataFrame, tz: str) -> str:
    from great_tables import GT, loc, style

    zone = check_tz(tz)

    def when(row: dict[str, Any]) -> str:
        start = row["start"].astimezone(zone).strftime("%a %d %b %H:%M")
        end = row["end"].astimezone(zone).strftime("%a %d %b %H:%M") if row["end"] else "ongoing"
        return f"{start} – {end}"

    rows = [
        {
            "what": row["kind"].replace("_", " "),
            "where": "whole account" if row["dimension"] == "all" else f"{row['dimension']} = {row['value']}",
            f"when ({tz})": when(row),
            "observed": _level(row["metric"], row["observed"]),
            "usual": _level(row["metric"], row["expected"]),
            "requests": row["requests"],
            "affected": row["requests_affected"],
            "error code": row["error_reason"],
            "what to do": row["how_to_fix"],
        }
        for row in frame.iter_rows(named=True)
    ]
    table = (GT(pl.DataFrame(rows, infer_schema_length=None))
             .fmt_integer(["requests", "affected"])
             # "3.58 s" split over two lines reads as two numbers
             .tab_style(style.text(whitespace="nowrap"), loc.body(columns=["observed", "usual"]))
             .sub_missing(missing_text="–")
             .tab_options(table_margin_left="0", table_font_size="13px"))
    html_text: str = table.as_raw_html()
    return html_text
