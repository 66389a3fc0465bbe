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

from wsframes.report._io import atomic_write
from wsframes.report.export import check_standalone, page

__all__ = ["SUMMARY_MIME", "read_summaries", "write_index"]

log = logging.getLogger(__name__)

#: Output type of the template's summary cell; nbconvert does not render it into HTML.
SUMMARY_MIME = "application/vnd.wsframes.summary+json"

_COLUMNS = (
    ("Period", "period", None),
    ("Time zone", "tz", None),
    ("Plan", "plan_id", None),
    ("Requests", "requests", "{:,.0f}"),
    ("Success rate", "success_rate", "{:.2%}"),
    ("Bandwidth", "bandwidth_gb", "{:,.2f} GB"),
    ("Request p95", "request_p95_s", "{:.3g} s"),
    ("Alerts", "alerts", "{:d}"),
    ("Built (UTC)", "built_at", None),
)


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


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return "–"
    try:
        text = fmt.format(value) if fmt else str(value)
    except (ValueError, TypeError):
        text = str(value)
    return html.escape(text)


def render_index(summaries: list[dict[str, Any]]) -> str:
    """The index page for *summaries* (escaped, standalone)."""
    head = "".join(f"<th{' class=num' if fmt else ''}>{html.escape(t)}</th>" for t, _, fmt in _COLUMNS)
    rows = []
    for s in summaries:
        cells = [
            f'<td><a href="{html.escape(s["file"], quote=True)}">{_cell(s.get("period"), None)}</a></td>'
        ]
        cells += [
            f"<td{' class=num' if fmt else ''}>{_cell(s.get(key), fmt)}</td>" for _, key, fmt in _COLUMNS[1:]
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>No reports yet. Build one with <code>wsframes report --demo</code>.</p>"
    )
    body = f"<h1>wsframes reports</h1><p class=ws-sub>{len(rows)} report(s), newest period first.</p>{table}"
    document = page("wsframes reports", body)
    check_standalone(document)
    return document


def write_index(out_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``out_dir/index.html`` from the reports present; returns its path."""
    folder = Path(out_dir)
    target = folder / "index.html"
    atomic_write(target, render_index(read_summaries(folder)))
    return target
