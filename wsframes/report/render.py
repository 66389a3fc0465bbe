"""HTML fragments for the report notebook: header, headline cards, alerts, tables, footer.

Everything that comes from data goes through :func:`html.escape` here; callers pass plain
values, never markup. The notebook displays the fragments with ``IPython.display.HTML``.

>>> import polars as pl
>>> page = table_html(pl.DataFrame({"host": ["<script>alert(1)</script>"], "n": [3]}))
>>> "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page, "<script>" in page
(True, False)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

__all__ = [
    "Card",
    "Formatter",
    "alerts_html",
    "cards_html",
    "fmt_bytes",
    "fmt_pct",
    "fmt_seconds",
    "footer_html",
    "header_html",
    "local",
    "table_html",
]

Formatter = Callable[[Any], str]


@dataclass(frozen=True)
class Card:
    """One headline number; ``delta`` (vs the previous period) is coloured by ``good``."""

    label: str
    value: str
    delta: str | None = None
    good: bool | None = None


def fmt_bytes(n: float | None) -> str:
    """Bytes in decimal units.

    >>> fmt_bytes(3_200_000_000)
    '3.20 GB'
    """
    if n is None:
        return "–"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def fmt_seconds(s: float | None) -> str:
    """Durations: ms below one second, else seconds.

    >>> fmt_seconds(0.0421), fmt_seconds(3.5)
    ('42 ms', '3.50 s')
    """
    if s is None:
        return "–"
    return f"{s * 1000:,.0f} ms" if s < 1 else f"{s:,.2f} s"


def fmt_pct(x: float | None, digits: int = 2) -> str:
    """A fraction as a percentage.

    >>> fmt_pct(0.91234)
    '91.23%'
    """
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def local(ts: datetime, tz: str) -> str:
    """An instant as local time in *tz*, to the minute, with the zone's abbreviation."""
    return ts.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def header_html(
    title: str, *, start: datetime, end: datetime, tz: str, source: str, plan_id: int | None
) -> str:
    """The report's title block."""
    plan = "the account's default plan" if plan_id is None else f"plan {plan_id}"
    sub = f"{local(start, tz)} → {local(end, tz)} (end excluded) · {plan} · data from {source}"
    return f"<h1>{html.escape(title)}</h1><p class=ws-sub>{html.escape(sub)}</p>"


def cards_html(cards: Sequence[Card]) -> str:
    """A row of headline-number cards."""
    parts = []
    for c in cards:
        delta = ""
        if c.delta is not None:
            cls = "" if c.good is None else (" ws-good" if c.good else " ws-bad")
            delta = f"<div class='d{cls}'>{html.escape(c.delta)}</div>"
        parts.append(
            f"<div class=ws-card><div class=k>{html.escape(c.label)}</div>"
            f"<div class=v>{html.escape(c.value)}</div>{delta}</div>"
        )
    return f"<div class=ws-cards>{''.join(parts)}</div>"


def table_html(
    frame: pl.DataFrame,
    *,
    formats: Mapping[str, Formatter] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """*frame* as an HTML table; every cell escaped, numbers right-aligned.

    Parameters
    ----------
    formats : mapping, optional
        Column -> function turning a value into text (default: ``str``; nulls show as "–").
    headers : mapping, optional
        Column -> header text.
    """
    formats = formats or {}
    headers = headers or {}
    numeric = {name for name, dtype in frame.schema.items() if dtype.is_numeric()}
    head = "".join(
        f"<th{' class=num' if c in numeric else ''}>{html.escape(headers.get(c, c))}</th>"
        for c in frame.columns
    )
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for c, v in row.items():
            text = "–" if v is None else formats.get(c, _default_format)(v)
            cells.append(f"<td{' class=num' if c in numeric else ''}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _default_format(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def footer_html(facts: Mapping[str, Any]) -> str:
    """The footer: one escaped row per fact (period, zone, coverage, counts, version, parameters)."""
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in facts.items()
    )
    return f"<div class=ws-footer><table>{rows}</table></div>"


def alerts_html(alerts: Sequence[Any]) -> str:
    """Alerts (objects with ``level``, ``title``, ``detail``), or a green all-clear line."""
    if not alerts:
        return (
            "<p class=ws-ok>No alerts: no error spikes, unknown error codes, regressions or missing data.</p>"
        )
    items = "".join(
        f"<li class='ws-alert {html.escape(a.level)}'><strong>{html.escape(a.title)}</strong>: "
        f"{html.escape(a.detail)}</li>"
        for a in alerts
    )
    return f"<ul class=ws-alerts>{items}</ul>"
