"""Build one report: validate parameters, execute the template in a real kernel, export, index.

One linear function, :func:`build_report`, in the spirit of papermill: parameters are injected
as a new cell after the cell tagged ``parameters``; the notebook runs in a fresh Jupyter kernel
(nbclient); nbconvert turns it into one standalone HTML page. On failure the executed notebook is
kept (``<name>.failed.ipynb``) and :class:`~wsframes.errors.ReportError` names the failing cell.

The API key reaches the kernel only through its environment (``WEBSHARE_API_KEY``): it is never a
parameter, so it cannot be written to the notebook, the HTML or the logs.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast

import nbformat
import polars as pl
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from tqdm import tqdm

from wsframes.errors import ConfigurationError, ReportError
from wsframes.report._io import atomic_replace, atomic_write
from wsframes.report.data import anonymize_clients, utc_timestamps
from wsframes.report.export import notebook_to_html
from wsframes.report.index import SUMMARY_MIME, write_index
from wsframes.report.inputs import (
    DataSource,
    check_api_options,
    check_data,
    data_extent,
    decide_compare,
    describe_source,
    parse_text_timestamps,
)
from wsframes.report.period import check_tz, report_stem, resolve_period
from wsframes.timeutil import TimeLike, check_retention, resolve_window, utc_now

__all__ = ["ReportResult", "build_report"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportResult:
    """Where a finished report went, what it covers, its headline numbers and how long it took."""

    html_path: Path
    notebook_path: Path
    index_path: Path
    start: datetime
    end: datetime
    summary: dict[str, Any] = field(repr=False)
    timings: dict[str, float] = field(repr=False)


@dataclass(frozen=True)
class _Job:
    """Everything validated, before anything runs."""

    start: datetime
    end: datetime
    stem: str
    out_dir: Path
    template: Path
    parameters: dict[str, Any]
    kernel_env: dict[str, str] = field(repr=False)  # may hold the key: never logged, never stored


def build_report(
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    period: str | None = None,
    plan_id: int | None = None,
    tz: str = "UTC",
    compare_previous: bool | None = None,
    data: DataSource | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    anonymize_clients: bool = False,
    template: str | os.PathLike[str] | None = None,
    timeout: float = 900,
    now: datetime | None = None,
    api_options: Mapping[str, Any] | None = None,
    source_label: str | None = None,
    progress: bool | None = None,
) -> ReportResult:
    """Build the HTML report (and keep its executed notebook) for ``[start, end)``.

    Parameters
    ----------
    start, end : datetime, date or str, optional
        The window (half-open, see :mod:`wsframes.timeutil`). Give these or *period*. With
        neither, the window is ``last-7d`` for the API and the whole extent of *data* otherwise.
    period : {"last-24h", "last-7d", "yesterday", "last-week", "last-month"}, optional
        A named period aligned to whole hours or days in *tz*.
    plan_id : int, optional
        The plan to read (the account's default when omitted).
    tz : str
        IANA zone used for every date, table and axis in the report (data stays UTC).
    compare_previous : bool, optional
        Also load the window of the same length just before, and compare. By default (None) this
        happens whenever that window is available: within the API's 90 days, or present in
        *data*. When it was asked for but the API no longer serves it, the report says so and
        skips the comparison instead of failing.
    data : Polars or pandas DataFrame, LazyFrame, or path to a Parquet file, optional
        Activity to report on instead of calling the API.
    api_key, base_url : str, optional
        For the API; default to ``WEBSHARE_API_KEY`` / ``WEBSHARE_BASE_URL``.
    out_dir : path
        Where ``<name>.html``, ``<name>.ipynb`` and ``index.html`` go (created if missing), and,
        for a report built from a frame, ``<name>.parquet``: the data the notebook reads when it
        is rerun (pseudonymised when *anonymize_clients*). Parquet files are git-ignored.
    anonymize_clients : bool
        Replace client addresses with pseudonyms before anything is computed. They are keyed by
        a random secret drawn for this report and never stored, so they are consistent within
        the report and can't be reversed; set ``WSFRAMES_ANONYMIZE_SALT`` to a secret of your
        own to get the same pseudonyms in every report (see
        :func:`wsframes.report.data.anonymize_clients`).
    template : path, optional
        Another notebook to execute instead of the packaged one (it needs a ``parameters`` cell).
    timeout : float
        Seconds one cell may run.
    now : datetime, optional
        The reference time of named periods (for reproducible runs).
    api_options : mapping, optional
        Settings for :class:`wsframes.loader.Client` in the kernel: ``page_size``,
        ``requests_per_minute``, ``timeout``, ``max_retries`` (never the key: that goes through
        the environment).
    source_label : str, optional
        How the report names its data source (default: the API, the file name or "a DataFrame").
    progress : bool, optional
        A progress bar of the notebook's cells on stderr; by default only when stderr is a
        terminal (quiet under cron). Steps and timings are logged at INFO either way.

    Returns
    -------
    ReportResult

    Raises
    ------
    ConfigurationError
        A parameter is wrong; nothing was started.
    ReportError
        A cell failed (named in the message; the executed notebook is kept) or the HTML was not
        self-contained.
    """
    if type(data).__module__.startswith("pandas"):  # pandas users get the same report
        data = pl.from_pandas(cast(Any, data))
    if isinstance(data, pl.DataFrame | pl.LazyFrame):  # e.g. read back from wsframes' own CSV
        data = parse_text_timestamps(data)
    job = _validate(
        start,
        end,
        period=period,
        plan_id=plan_id,
        tz=tz,
        compare_previous=compare_previous,
        data=data,
        api_key=api_key,
        base_url=base_url,
        out_dir=out_dir,
        anonymize_clients=anonymize_clients,
        template=template,
        now=now,
        api_options=api_options,
        source_label=source_label,
        timeout=timeout,
    )
    log.info("building %s for [%s, %s)", job.stem, job.start.isoformat(), job.end.isoformat())
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="wsframes-report-") as work:
        parameters = dict(job.parameters)
        if isinstance(data, pl.DataFrame | pl.LazyFrame):
            parameters.update(_stage_frame(data, job))
        nb = _with_parameters(nbformat.read(job.template, as_version=4), parameters)
        show = sys.stderr.isatty() if progress is None else bool(progress)
        nb = _execute(nb, job, Path(work), timeout=timeout, timings=timings, progress=show)
    started = time.perf_counter()
    title = f"wsframes report {parameters['period_label']}"
    document = notebook_to_html(nb, title=title)
    timings["export"] = time.perf_counter() - started
    html_path = job.out_dir / f"{job.stem}.html"
    notebook_path = job.out_dir / f"{job.stem}.ipynb"
    atomic_write(notebook_path, nbformat.writes(nb))
    atomic_write(html_path, document)
    (job.out_dir / f"{job.stem}.failed.ipynb").unlink(missing_ok=True)
    index_path = write_index(job.out_dir)
    log.info("exported HTML in %.1f s", timings["export"])
    log.info("report written to %s (%.0f kB)", html_path, len(document.encode()) / 1e3)
    return ReportResult(
        html_path=html_path,
        notebook_path=notebook_path,
        index_path=index_path,
        start=job.start,
        end=job.end,
        summary=_summary(nb),
        timings=timings,
    )


def _validate(
    start: TimeLike | None,
    end: TimeLike | None,
    *,
    period: str | None,
    plan_id: int | None,
    tz: str,
    compare_previous: bool | None,
    data: DataSource | None,
    api_key: str | None,
    base_url: str | None,
    out_dir: str | os.PathLike[str],
    anonymize_clients: bool,
    template: str | os.PathLike[str] | None,
    now: datetime | None,
    api_options: Mapping[str, Any] | None,
    source_label: str | None,
    timeout: float,
) -> _Job:
    check_tz(tz)
    now = now or utc_now()
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds per cell, not {timeout!r}.")
    if plan_id is not None and (isinstance(plan_id, bool) or not isinstance(plan_id, int) or plan_id < 1):
        raise ConfigurationError(f"plan_id must be a positive integer, not {plan_id!r}.")
    data_path = check_data(data)
    if period is not None and (start is not None or end is not None):
        raise ConfigurationError("give either period or start/end, not both.")
    if period is None and start is None and end is not None:
        raise ConfigurationError("end was given without start; give start too (or a period).")
    if period is not None:
        lo, hi = resolve_period(period, tz=tz, now=now)
    elif start is not None:
        lo, hi = resolve_window(start, end, now=now)
    elif data is None:
        lo, hi = resolve_period("last-7d", tz=tz, now=now)
    else:
        lo, hi = data_extent(data)
    env = dict(os.environ)
    env.pop("WEBSHARE_API_KEY", None)  # least privilege: the kernel only gets a key it needs
    compare, compare_note = decide_compare(compare_previous, data, lo, hi)
    if data is None:
        # The loader's own rule, against the real clock (*now* only anchors named periods): the
        # API refuses what it refuses today. The kernel then starts any window that expired
        # meanwhile at the floor (report.data.readable_start) instead of failing after this check.
        check_retention(lo)
        if lo >= utc_now():
            raise ConfigurationError(
                f"the window [{lo:%Y-%m-%d %H:%M}, {hi:%Y-%m-%d %H:%M}) UTC starts in the future "
                f"(it is {utc_now():%Y-%m-%d %H:%M} UTC now): nothing can have been recorded yet."
            )
        key = api_key or os.environ.get("WEBSHARE_API_KEY")
        if not key:
            raise ConfigurationError(
                "no API key: set WEBSHARE_API_KEY (or pass api_key=), give data= / --data FILE, "
                "or try `wsframes report --demo`, which needs no key."
            )
        env["WEBSHARE_API_KEY"] = key
        if base_url:
            env["WEBSHARE_BASE_URL"] = base_url
    template_path = Path(template) if template is not None else _packaged_template()
    if not template_path.is_file():
        raise ConfigurationError(f"template {str(template_path)!r} does not exist.")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"out_dir {str(out)!r} cannot be used: {exc.strerror or exc}.") from None
    if not os.access(out, os.W_OK):
        raise ConfigurationError(f"out_dir {str(out)!r} is not writable; choose another with --out.")
    stem = report_stem(lo, hi, plan_id=plan_id, tz=tz)
    parameters: dict[str, Any] = {
        "start": lo.isoformat(),
        "end": hi.isoformat(),
        "tz": tz,
        "plan_id": plan_id,
        "compare_previous": compare,
        "compare_note": compare_note,
        "anonymize_clients": bool(anonymize_clients),
        "data_anonymized": False,
        "data_path": data_path,
        "source": source_label or describe_source(data),
        "period_label": stem.removeprefix("wsframes-"),
        "api_options": check_api_options(api_options),
    }
    return _Job(lo, hi, stem, out, template_path, parameters, env)


def _packaged_template() -> Path:
    return Path(str(resources.files("wsframes.report").joinpath("template.ipynb")))


def _stage_frame(data: pl.DataFrame | pl.LazyFrame, job: _Job) -> dict[str, Any]:
    """Hand a frame to the kernel as ``<stem>.parquet`` beside the report (never rows in the notebook).

    The file stays, so the kept ``.ipynb`` can be rerun; the notebook names it relative to its
    own folder (where Jupyter starts kernels), so the folder can be moved or mailed whole. Only
    the rows the report reads are written: the window, and the one before when comparing. When
    anonymising, the pseudonyms are written, never the raw client addresses.
    """
    path = job.out_dir / f"{job.stem}.parquet"
    first = job.start - (job.end - job.start) if job.parameters["compare_previous"] else job.start
    frame = data.lazy()
    ts = utc_timestamps(frame.collect_schema()["timestamp"])
    rows = frame.with_columns(ts).filter(pl.col("timestamp").is_between(first, job.end, closed="left"))
    anonymize = bool(job.parameters["anonymize_clients"])
    if anonymize:
        staged = anonymize_clients(rows.collect())  # one key for both periods: pseudonyms agree
        atomic_replace(path, staged.write_parquet)
    else:
        atomic_replace(path, rows.sink_parquet)
    return {"data_path": path.name, "data_anonymized": anonymize}


def _with_parameters(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """Insert an ``injected-parameters`` cell after the ``parameters`` cell, as papermill does."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ConfigurationError("the template has no cell tagged 'parameters'.")
    lines = ["# Parameters (injected by wsframes.build_report)"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1, cell)
    return nb


def _execute(
    nb: nbformat.NotebookNode,
    job: _Job,
    work: Path,
    *,
    timeout: float,
    timings: dict[str, float],
    progress: bool = False,
) -> nbformat.NotebookNode:
    # The kernel runs in the report's folder, as Jupyter runs a notebook in its own folder: the
    # staged data is named relative to it, so a rerun of the kept notebook finds it.
    folder = str(job.out_dir.resolve())
    client = NotebookClient(
        nb, timeout=int(timeout), kernel_name="python3", resources={"metadata": {"path": folder}}
    )
    # IPC sockets in the private work folder: no TCP port to race for or to expose. The client
    # still owns this manager, so it shuts the kernel down when done.
    km = client.create_kernel_manager()
    km.transport, km.ip = "ipc", str(work / "kernel")
    started = time.perf_counter()
    index = -1
    bar = tqdm(total=len(nb.cells), desc="report", unit="cell", disable=not progress, file=sys.stderr)
    try:
        with bar, client.setup_kernel(env=job.kernel_env, cwd=folder):
            timings["kernel_start"] = time.perf_counter() - started
            log.info("kernel started in %.1f s", timings["kernel_start"])
            started = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                bar.set_postfix_str(_cell_name(nb, index).split(" (")[0], refresh=True)
                began = time.perf_counter()
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                _raise_on_error_output(cell)
                _log_cell(cell, _cell_name(nb, index).split(" (")[0], time.perf_counter() - began, bar)
                bar.update()
            timings["execute"] = time.perf_counter() - started
    except Exception as exc:
        if _interrupted(exc):  # Ctrl-C surfaced as a ZMQ or kernel error: one line, not a traceback
            raise KeyboardInterrupt from None
        if not isinstance(exc, CellExecutionError | CellTimeoutError | DeadKernelError):
            raise
        kept = job.out_dir / f"{job.stem}.failed.ipynb"
        atomic_write(kept, nbformat.writes(nb))
        raise ReportError(
            f"the report notebook failed in cell {_cell_name(nb, index)}: {_error_line(exc)}. "
            f"The executed notebook is kept at {kept}."
        ) from None
    return nb


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


def _cell_name(nb: nbformat.NotebookNode, index: int) -> str:
    if not 0 <= index < len(nb.cells):
        return "(none: the kernel did not start)"
    cell = nb.cells[index]
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != "parameters"]
    first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    return f"#{index}" + (f" '{tags[0]}'" if tags else "") + (f" ({first[:60]})" if first else "")


def _error_line(exc: Exception) -> str:
    if isinstance(exc, CellExecutionError):
        return f"{exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _summary(nb: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if SUMMARY_MIME in output.get("data", {}):
                return dict(output["data"][SUMMARY_MIME])
    return {}
