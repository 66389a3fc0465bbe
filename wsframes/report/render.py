"""HTML fragments for the report notebook: header, headline cards, alerts, tables, footer.

Everything that comes from data goes through :func:`html.escape` here; callers pass plain
values, never markup. The notebook displays the fragments with ``IPython.display.HTML``.

Tables are drawn by Great Tables (:func:`table_html`); text cells are escaped and shortened here.

>>> import polars as pl
>>> page = table_html(pl.DataFrame({"host": ["<script>alert(1)</script>"], "n": [3]}))
>>> ">&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page, "<script>" in page
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
    "Format",
    "Formatter",
    "alert_item_html",
    "alerts_html",
    "cards_html",
    "fmt_bytes",
    "fmt_pct",
    "fmt_seconds",
    "footer_html",
    "header_html",
    "local",
    "short_text",
    "table_html",
]

Formatter = Callable[[Any], str]
#: How a table column is shown: a named Great Tables format or a function to plain text.
Format = Formatter | str


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
    formats: Mapping[str, Format] | None = None,
    headers: Mapping[str, str] | None = None,
    table_id: str = "ws-table",
    hide_headers: bool = False,
    align_right: Sequence[str] = (),
) -> str:
    """*frame* as a Great Tables table: formatted numbers, escaped text, nothing external.

    Integers get thousands separators, floats four significant digits, nulls "–". Text longer
    than :data:`MAX_CELL_CHARS` (a hostile 250-character host name) is shortened in the middle
    with the full text in a ``title`` attribute, so every table fits the page.

    Parameters
    ----------
    formats : mapping, optional
        Column -> ``"percent"``, ``"bytes"``, ``"seconds"``, ``"integer"``, ``"number"``, ``"text"``
        (names: shortened when long), ``"prose"`` (sentences: wrapped, never shortened),
        ``"markup"`` (HTML the caller built from escaped parts) or a
        function turning a value into plain text (escaped and shortened here).
    headers : mapping, optional
        Column -> header text (escaped by Great Tables).
    table_id : str
        HTML id of the table, fixed so that the page is reproducible (Great Tables draws a random one).
    hide_headers : bool
        Leave out the header row (e.g. a two-column list of facts).
    align_right : sequence of str
        Text columns to right-align (numbers already formatted as text, e.g. "+4.1%").
    """
    from great_tables import GT

    formats = formats or {}
    table = GT(frame, id=table_id)
    for column, dtype in frame.schema.items():
        how = formats.get(column) or _default_kind(dtype)
        table = _format(table, column, how)
    if align_right:
        table = table.cols_align("right", columns=list(align_right))
    if headers:
        labels: dict[str, Any] = {c: h for c, h in headers.items() if c in frame.columns}
        table = table.cols_label(cases=labels)
    table = table.sub_missing(missing_text="–").tab_options(
        table_margin_left="0",
        table_font_size="13.5px",
        table_font_names=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        data_row_padding="4px",
        column_labels_hidden=hide_headers,
        quarto_disable_processing=True,
    )
    return f"<div class=ws-table>{table.as_raw_html()}</div>"


def _default_kind(dtype: pl.DataType) -> Format:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "number"
    return "text"


def _format(table: Any, column: str, how: Format) -> Any:
    """Apply one column's format; custom output is escaped here (Great Tables does not)."""
    builtin = {
        "percent": lambda: table.fmt_percent(column, decimals=2),
        "bytes": lambda: table.fmt_bytes(column, standard="decimal", decimals=2),
        "integer": lambda: table.fmt_integer(column),
        "number": lambda: table.fmt_number(column, n_sigfig=4),
    }
    if isinstance(how, str) and how in builtin:
        return builtin[how]()
    custom: dict[str, Callable[[Any], str]] = {
        "seconds": lambda v: html.escape(fmt_seconds(v)),
        "text": lambda v: short_text(str(v)),
        "prose": lambda v: html.escape(str(v)),
        "markup": str,  # trusted: the caller built it from escaped parts (e.g. a link)
    }
    if isinstance(how, str) and how not in custom:
        raise ValueError(f"unknown column format {how!r} for {column!r}")
    func = custom[how] if isinstance(how, str) else _escaped(how)
    # Great Tables calls custom formats on nulls too; sub_missing then shows them as "–".
    return table.fmt(lambda v: "–" if v is None else func(v), columns=column)


def _escaped(func: Formatter) -> Callable[[Any], str]:
    return lambda v: short_text(func(v))


#: Longest text shown in a table cell; longer text is cut in the middle (full text on hover).
MAX_CELL_CHARS = 60


def short_text(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """*text* escaped; if longer than *limit*, cut in the middle with the whole in a ``title``.

    >>> short_text("<b>")
    '&lt;b&gt;'
    >>> short_text("abcdefghijklmnopqrstuvwxyz.example", limit=10)
    '<span title="abcdefghijklmnopqrstuvwxyz.example">abcdef…ple</span>'
    """
    if len(text) <= limit:
        return html.escape(text)
    head = limit * 2 // 3  # keep more of the start; a host name's end (the domain) matters too
    shown = f"{text[:head]}…{text[len(text) - (limit - head - 1) :]}"
    return f'<span title="{html.escape(text, quote=True)}">{html.escape(shown)}</span>'


def footer_html(facts: Mapping[str, Any]) -> str:
    """The footer: one escaped row per fact (period, zone, coverage, counts, version, parameters)."""
    frame = pl.DataFrame(
        {"fact": [str(k) for k in facts], "value": [str(v) for v in facts.values()]},
        schema={"fact": pl.String, "value": pl.String},
    )
    # Facts are sentences (coverage, parameters): wrap them, do not shorten them.
    table = table_html(frame, formats={"value": "prose"}, table_id="ws-footer", hide_headers=True)
    return f"<div class=ws-footer>{table}</div>"


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


def alert_item_html(level: str, title: str, detail: str, png: str | None = None) -> str:
    """One alert as an escaped list item, with its figure when it has one."""
    figure = f"<br><img class=ws-drill alt='drill-down' src='data:image/png;base64,{png}'>" if png else ""
    return (
        f"<li class='ws-alert {html.escape(level)}'><strong>{html.escape(title)}</strong>: "
        f"{html.escape(detail)}{figure}</li>"
    )
