"""``index.html``: one page listing every report in a folder, with its headline numbers.

The index is rebuilt from the reports present (their executed notebooks carry a small summary
output of type :data:`SUMMARY_MIME`), so deleting a report and re-running any build removes it
from the list. Every value is escaped: summaries come from data.
"""

from __future__ import annotations

import html
import json
import logging
import os
from pathlib import Path
from typing import Any

import polars as pl

from wsframes._version import __version__
from wsframes.report._io import atomic_write
from wsframes.report.export import check_standalone, page
from wsframes.report.render import Format, short_text, table_html

__all__ = ["SUMMARY_MIME", "read_summaries", "write_index"]

log = logging.getLogger(__name__)

#: Output type of the template's summary cell; nbconvert does not render it into HTML.
SUMMARY_MIME = "application/vnd.wsframes.summary+json"

#: Index columns: header, summary key, format (see :func:`wsframes.report.render.table_html`).
_COLUMNS: tuple[tuple[str, str, Format], ...] = (
    ("Period", "period", "markup"),
    ("Time zone", "tz", "text"),
    ("Plan", "plan_id", "text"),
    ("Requests", "requests", "integer"),
    ("Success rate", "success_rate", "percent"),
    ("Bandwidth", "bandwidth_gb", lambda gb: f"{gb:,.2f} GB"),
    ("Request p95", "request_p95_s", "seconds"),
    ("Alerts", "alerts", "integer"),
    ("Built (UTC)", "built_at", "text"),
)
_NUMERIC = {"requests": pl.Int64, "success_rate": pl.Float64, "bandwidth_gb": pl.Float64,
            "request_p95_s": pl.Float64, "alerts": pl.Int64}  # fmt: skip


def read_summaries(out_dir: Path) -> list[dict[str, Any]]:
    """The summary of every finished report in *out_dir*, newest period first."""
    found = []
    for nb_path in sorted(out_dir.glob("wsframes-*.ipynb")):
        if nb_path.name.endswith(".failed.ipynb") or not nb_path.with_suffix(".html").is_file():
            continue
        summary = _summary_of(nb_path)
        if summary is not None:
            summary["file"] = nb_path.with_suffix(".html").name
            found.append(summary)
    return sorted(found, key=lambda s: (str(s.get("start", "")), s["file"]), reverse=True)


def _summary_of(nb_path: Path) -> dict[str, Any] | None:
    try:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("skipping %s in the index: not a readable notebook", nb_path.name)
        return None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                return dict(data[SUMMARY_MIME])
    return None


def _number(value: Any, dtype: type[pl.DataType]) -> float | int | None:
    """A summary number, or None when missing or malformed (summaries are read from files)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if dtype is pl.Int64 else float(value)


def _frame(summaries: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per report; the period is a link to the report's file (both escaped)."""
    data: dict[str, list[Any]] = {key: [] for _, key, _ in _COLUMNS}
    for s in summaries:
        link = html.escape(s["file"], quote=True)
        data["period"].append(f'<a href="{link}">{short_text(str(s.get("period", "")))}</a>')
        for _, key, _ in _COLUMNS[1:]:
            value = s.get(key)
            if key in _NUMERIC:
                data[key].append(_number(value, _NUMERIC[key]))
            else:
                data[key].append(None if value is None else str(value))
    schema = {key: _NUMERIC.get(key, pl.String) for _, key, _ in _COLUMNS}
    return pl.DataFrame(data, schema=schema)


def render_index(summaries: list[dict[str, Any]]) -> str:
    """The index page for *summaries* (escaped, standalone)."""
    table = (
        table_html(
            _frame(summaries),
            formats={key: fmt for _, key, fmt in _COLUMNS},
            headers={key: title for title, key, _ in _COLUMNS},
            table_id="ws-index",
        )
        if summaries
        else "<p>No reports yet. Build one with <code>wsframes report --demo</code>.</p>"
    )
    count = len(summaries)
    sub = f"{count} report(s), newest period first. wsframes {html.escape(__version__)}."
    body = f"<h1>wsframes reports</h1><p class=ws-sub>{sub}</p>{table}"
    document = page("wsframes reports", body)
    check_standalone(document)
    return document


def write_index(out_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``out_dir/index.html`` from the reports present; returns its path."""
    folder = Path(out_dir)
    target = folder / "index.html"
    atomic_write(target, render_index(read_summaries(folder)))
    return target
