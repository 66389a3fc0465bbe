"""Running the report notebook in a real Jupyter kernel: cell by cell, timed, interruptible.

Split from :mod:`wsframes.report.builder` to keep each module short. On a failed cell the
executed notebook is kept (``<name>.failed.ipynb``) and the error names the cell; Ctrl-C, which
may surface as a ZMQ or kernel error while the kernel shuts down, becomes one KeyboardInterrupt.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from tqdm import tqdm

from wsframes.api.progress import PROGRESS_MIME, RELAY_ENV
from wsframes.errors import ReportError
from wsframes.report._io import atomic_write
from wsframes.report.index import SUMMARY_MIME
from wsframes.report.render import alert_item_html

__all__ = ["cell_name", "execute"]

log = logging.getLogger("wsframes.report.builder")


class _RelayingClient(NotebookClient):
    """Draws the kernel's relayed progress (``api.progress``: records loaded, or the step a cell
    has reached) instead of keeping it as output."""

    on_progress: Any = None

    def output(self, outs: list[nbformat.NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> nbformat.NotebookNode | None:
        relayed = (msg["content"].get("data") or {}).get(PROGRESS_MIME)
        if relayed is None:
            return super().output(outs, msg, display_id, cell_index)
        if self.on_progress is not None:
            self.on_progress(relayed)
        return None


class _DebugOnly(logging.LoggerAdapter):  # type: ignore[type-arg]
    """nbclient's warnings and errors, at DEBUG (``-vv``); its own debug dumps of every kernel
    message, dropped. Every failure it logs (a dead kernel, a timeout) also reaches
    :func:`execute` as an exception, which becomes one line; after a Ctrl-C its "Kernel died"
    would be a false ERROR in cron mail."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level >= logging.WARNING:
            super().log(logging.DEBUG, msg, *args, **kwargs)


def _relayed(relayed: dict[str, Any]) -> str:
    """The bar's postfix for a relayed update: the step the cell is at (alone: an 80-column
    terminal leaves it 30 characters), or the records loaded."""
    if "step" in relayed:
        return str(relayed["step"])
    rows, total = int(relayed.get("rows", 0)), int(relayed.get("total", 0))
    return f"loading {rows:,} of {total:,} records" if total else f"loading {rows:,} records"


def execute(
    nb: nbformat.NotebookNode,
    job: Any,  # builder._Job: out_dir, stem, kernel_env
    work: Path,
    *,
    timeout: float,
    timings: dict[str, float],
    progress: bool = False,
) -> nbformat.NotebookNode:
    """Run every cell of *nb*; a failing section is shown as failed in the page and the report
    goes on (:func:`_report_failed_sections`); a failing setup or footer fails the report."""
    failed: list[tuple[str, str]] = []
    # The kernel runs in the report's folder, as Jupyter runs a notebook in its own folder: the
    # staged data is named relative to it, so a rerun of the kept notebook finds it.
    folder = str(job.out_dir.resolve())
    client = _RelayingClient(
        nb, timeout=int(timeout), kernel_name="python3", resources={"metadata": {"path": folder}},
        log=_DebugOnly(logging.getLogger("wsframes.report.kernel")),
    )
    # IPC sockets in the private work folder: no TCP port to race for or to expose. The client
    # still owns this manager, so it shuts the kernel down when done.
    km = client.create_kernel_manager()
    km.transport, km.ip = "ipc", str(work / "kernel")
    started = time.perf_counter()
    index = -1
    # A pseudo-terminal that reports no size (0 x 0: script(1), some CI runners) makes tqdm trim
    # every line to nothing; shutil's size falls back to 80 x 24 there.
    cols, rows = shutil.get_terminal_size()
    bar = tqdm(total=len(nb.cells), desc="report", unit="cell", disable=not progress, file=sys.stderr,
               ncols=cols, nrows=rows)
    # Always relayed: a bar drawn in the kernel would end up in the HTML; the builder draws it or not.
    env = {**job.kernel_env, RELAY_ENV: "1"}
    client.on_progress = lambda relayed: bar.set_postfix_str(_relayed(relayed), refresh=True)
    # The kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when the shutdown after a
    # Ctrl-C interrupts it) goes to a file in the work folder, not the user's terminal or cron mail.
    kernel_log = work / "kernel.log"
    try:
        with bar, open(kernel_log, "wb") as klog, client.setup_kernel(
            env=env, cwd=folder, stderr=klog
        ):
            timings["kernel_start"] = time.perf_counter() - started
            log.info("kernel started in %.1f s", timings["kernel_start"])
            started = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                bar.set_postfix_str(_short_name(nb, index), refresh=True)
                began = time.perf_counter()
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    _raise_on_error_output(cell)
                except CellExecutionError as exc:
                    if not _is_section(cell):
                        raise
                    failed.append(_section_failed(nb, index, exc))
                _log_cell(cell, _short_name(nb, index), time.perf_counter() - began, bar)
                bar.update()
            timings["execute"] = time.perf_counter() - started
        _report_failed_sections(nb, failed)
    except Exception as exc:
        if _interrupted(exc):  # Ctrl-C surfaced as a ZMQ or kernel error: one line, not a traceback
            raise KeyboardInterrupt from None
        if not isinstance(exc, CellExecutionError | CellTimeoutError | DeadKernelError):
            raise
        if isinstance(exc, DeadKernelError):
            log.warning("kernel log:\n%s", _tail(kernel_log))
        kept = job.out_dir / f"{job.stem}.failed.ipynb"
        atomic_write(kept, nbformat.writes(nb))
        raise ReportError(
            f"the report notebook failed in cell {cell_name(nb, index)}: {_error_line(exc)}. "
            f"The executed notebook is kept at {kept}."
        ) from None
    return nb


# Cells the report cannot be built without: the data (setup) and the summary cron reads (footer).
_ESSENTIAL = {"parameters", "injected-parameters", "setup", "footer"}


def _is_section(cell: nbformat.NotebookNode) -> bool:
    tags = set(cell.get("metadata", {}).get("tags", []))
    return cell.cell_type == "code" and bool(tags) and not tags & _ESSENTIAL


def _section_failed(nb: nbformat.NotebookNode, index: int, exc: CellExecutionError) -> tuple[str, str]:
    """Show the failure in place of the section's output; returns its alert (title, sentence)."""
    cell = nb.cells[index]
    name = cell.metadata["tags"][0]
    detail = (f"the {name!r} section could not be computed ({_error_line(exc)}); the rest of the "
              "report is sound. `wsframes -v report ...` logs the traceback; please report it.")
    log.warning("section %s failed: %s", name, _error_line(exc))
    log.info("%s", exc)  # the cell's traceback
    item = alert_item_html("critical", "Section failed", detail)
    cell.outputs = [_html_output(f"<ul class=ws-alerts>{item}</ul>")]
    return "Section failed", detail


def _report_failed_sections(nb: nbformat.NotebookNode, failed: list[tuple[str, str]]) -> None:
    """Name failed sections where a reader looks first (the Alerts) and where cron does (the summary)."""
    if not failed:
        return
    items = "".join(alert_item_html("critical", title, detail) for title, detail in failed)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "alerts" in tags:
            cell.outputs.insert(0, _html_output(f"<ul class=ws-alerts>{items}</ul>"))
        for output in cell.get("outputs", []) if "footer" in tags else []:
            summary = (output.get("data") or {}).get(SUMMARY_MIME)
            if summary is not None:
                summary["critical"] = [list(f) for f in failed] + list(summary.get("critical") or [])
                summary["critical_alerts"] = int(summary.get("critical_alerts") or 0) + len(failed)
                summary["alerts"] = int(summary.get("alerts") or 0) + len(failed)


def _html_output(markup: str) -> nbformat.NotebookNode:
    output: nbformat.NotebookNode = nbformat.v4.new_output("display_data", data={"text/html": markup})
    return output


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(none)"


def _interrupted(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__context__
    return False


def _log_cell(cell: nbformat.NotebookNode, name: str, seconds: float, bar: Any) -> None:
    """Log a cell's timing, and the record counts the setup cell prints (``loaded ...``)."""
    log.info("cell %s ran in %.1f s", name, seconds)
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in str(output.get("text", "")).splitlines():
                if line.startswith("loaded "):
                    log.info("%s", line)
                    if not bar.disable:
                        bar.write(line, file=sys.stderr)


def _raise_on_error_output(cell: nbformat.NotebookNode) -> None:
    """A cell can "succeed" yet show a traceback (e.g. a figure that failed to render): fail it."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            raise CellExecutionError("", output.get("ename", "Error"), output.get("evalue", ""))


def cell_name(nb: nbformat.NotebookNode, index: int) -> str:
    if not 0 <= index < len(nb.cells):
        return "(none: the kernel did not start)"
    cell = nb.cells[index]
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != "parameters"]
    first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    return f"#{index}" + (f" '{tags[0]}'" if tags else "") + (f" ({first[:60]})" if first else "")


def _short_name(nb: nbformat.NotebookNode, index: int) -> str:
    """The cell's number and tag, without its first line: ``#3 'setup'``."""
    return cell_name(nb, index).split(" (")[0]


def _error_line(exc: Exception) -> str:
    if isinstance(exc, CellExecutionError):
        return f"{exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
