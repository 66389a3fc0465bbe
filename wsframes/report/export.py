"""Executed notebook -> one self-contained HTML page, and the check that it really stands alone.

nbconvert's full templates (``lab``, ``classic``) load require.js and MathJax from CDNs, so the
page is built from the ``basic`` template (cell markup only) inside a skeleton of our own with
inline styles and a Content-Security-Policy that forbids scripts and every fetch except inline
images. :func:`check_standalone` then proves it: no ``<script>``, no external reference.
"""

from __future__ import annotations

import copy
import html
import re
from html.parser import HTMLParser
from typing import ClassVar

import nbformat
from nbconvert import HTMLExporter

from wsframes.errors import ReportError

__all__ = ["CSP", "HIDE_TAG", "check_standalone", "notebook_to_html", "page"]

#: Defence in depth: even if something unescaped slipped through, nothing runs or loads.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;
 max-width:1180px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:34px 0 8px;padding-top:10px;
 border-top:2px solid #e4e8ec}h3{font-size:16px;margin:18px 0 6px}
a.anchor-link{display:none}.text_cell_render p{margin:4px 0 8px;color:#3b4650}
img{max-width:100%;height:auto;display:block;margin:6px 0}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13.5px}
th,td{border-bottom:1px solid #e4e8ec;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f4f6f8;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.ws-sub{color:#56616b;margin:0 0 14px}.ws-cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.ws-card{border:1px solid #dde3e8;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafbfc}
.ws-card .v{font-size:22px;font-weight:650}.ws-card .k{font-size:12.5px;color:#56616b}
.ws-card .d{font-size:12px;color:#56616b}.ws-bad{color:#b42318}.ws-good{color:#067647}
.ws-alerts{list-style:none;padding:0;margin:8px 0}.ws-alert{border-left:5px solid #b42318;
 background:#fef3f2;padding:8px 12px;margin:6px 0;border-radius:4px}
.ws-alert.warning{border-color:#dc6803;background:#fffaeb}.ws-alert.info{border-color:#1570ef;background:#eff8ff}
.ws-ok{border-left:5px solid #067647;background:#ecfdf3;padding:8px 12px;border-radius:4px}
.ws-footer{margin-top:36px;font-size:12.5px;color:#56616b}.ws-footer td{padding:2px 10px}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.ws-table td.gt_left{overflow-wrap:anywhere;min-width:10em}
.ws-table td.gt_right{white-space:nowrap;font-variant-numeric:tabular-nums}
@media (max-width:600px){body{padding:12px 10px 32px}}
"""

#: Cells with this tag stay in the notebook but not in the HTML (e.g. notes for notebook readers).
HIDE_TAG = "hide-in-html"
# Logs and warnings (stream outputs) and machine-only bundles (our summary) never reach the page.
_DROPPED_OUTPUTS = {"stream"}
_MACHINE_MIMES = {"application/vnd.wsframes.summary+json"}


def page(title: str, body: str) -> str:
    """Wrap *body* (trusted markup) in the standalone skeleton; *title* is escaped here."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def notebook_to_html(nb: nbformat.NotebookNode, *, title: str) -> str:
    """Render an executed notebook as one standalone HTML page, code hidden, logs dropped."""
    shown = copy.deepcopy(nb)
    shown.cells = [c for c in shown.cells if HIDE_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in shown.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if _shown(o)]
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(shown)
    document = page(title, body)
    check_standalone(document)
    return document


def _shown(output: nbformat.NotebookNode) -> bool:
    if output.output_type in _DROPPED_OUTPUTS:
        return False
    data = output.get("data")
    return not data or not set(data) <= _MACHINE_MIMES


class _Audit(HTMLParser):
    """Collects everything in a page that could run code or fetch something."""

    _URL_ATTRS: ClassVar[frozenset[str]] = frozenset(
        {"src", "href", "srcset", "data", "poster", "action", "formaction", "background", "xlink:href"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed", "link", "base", "frame", "applet"}:
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs):
            self.problems.append("<meta http-equiv=refresh>")
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name!r} on <{tag}>")
            elif name == "style" and _EXTERNAL_CSS.search(value):
                self.problems.append(f"external reference in a style attribute on <{tag}>")
            elif name in self._URL_ATTRS and not _local_url(tag, name, value):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _EXTERNAL_CSS.search(data):
            self.problems.append("external reference (@import or url()) in a <style> block")


_EXTERNAL_CSS = re.compile(r"@import|url\(\s*['\"]?(?!data:)", re.I)


def _local_url(tag: str, attr: str, value: str) -> bool:
    if attr == "href" and tag == "a":
        # Links are not fetched; only in-page anchors and sibling report files are allowed.
        return value.startswith("#") or re.fullmatch(r"[\w.-]+\.html", value) is not None
    return value.startswith("data:image/")


def check_standalone(document: str) -> None:
    """Raise :class:`ReportError` if *document* could run a script or fetch any resource.

    >>> check_standalone(page("ok", "<p>fine</p>"))
    >>> check_standalone(page("bad", '<img src="https://example.com/x.png">'))
    Traceback (most recent call last):
    ...
    wsframes.errors.ReportError: the HTML is not self-contained: <img src='https://example.com/x.png'>
    """
    audit = _Audit()
    audit.feed(document)
    audit.close()
    if audit.problems:
        raise ReportError("the HTML is not self-contained: " + "; ".join(sorted(set(audit.problems))))
