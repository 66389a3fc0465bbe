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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Unpack, cast

import nbformat
import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes._validate import check_plan_id, check_seconds
from wsframes.errors import ConfigurationError
from wsframes.report._io import atomic_replace, atomic_write
from wsframes.report._kernel import execute
from wsframes.report.data import anonymize_clients
from wsframes.report.export import notebook_to_html
from wsframes.report.index import SUMMARY_MIME, write_index
from wsframes.report.inputs import (
    DataSource,
    archive_compare,
    check_archive,
    check_data,
    data_extent,
    decide_compare,
    describe_source,
)
from wsframes.report.period import check_tz, report_stem, resolve_period
from wsframes.timeutil import TimeLike, as_utc, check_retention, resolve_window, utc_now

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
    archive: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    anonymize_clients: bool = False,
    template: str | os.PathLike[str] | None = None,
    cell_timeout: float = 900,
    now: datetime | None = None,
    source_label: str | None = None,
    keep_data: bool = False,
    allowed_clients: str | Sequence[str] | None = None,
    proxies: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    **settings: Unpack[ConfigOverrides],
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
    data : Polars or pandas DataFrame, LazyFrame, or Parquet path(s), optional
        Activity to report on instead of calling the API: a frame, a Parquet file, a directory
        (every ``*.parquet`` under it) or a glob.
    archive : path or ``s3://`` URL, optional
        Report from a :func:`wsframes.archive.sync` archive instead, offline: the window (and
        the previous one, beyond the API's 90 days) must be covered by it, else
        :class:`~wsframes.errors.IncompleteDataError` names what it covers before anything
        starts. The Proxy pool section uses the archive's latest proxy snapshot up to the
        window's end. The kept notebook reads the archive again when rerun (no copy is made).
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
    cell_timeout : float
        Seconds one cell may run.
    now : datetime, optional
        The reference time of named periods (for reproducible runs).
    source_label : str, optional
        How the report names its data source (default: the API, the file name or "a DataFrame").
    keep_data : bool
        For an API report: also keep what was loaded as ``<name>.parquet`` and point the kept
        notebook at it, so a rerun is offline and reads exactly this data (the demo does this:
        its fake API is gone once the report is built).
    allowed_clients : str or sequence of str, optional
        CIDRs (``"203.0.113.0/24,2001:db8::/32"``) whose client addresses may use the
        credentials; the Proxy pool section lists every other client.
    proxies : path, optional
        A Parquet file of :func:`wsframes.load_proxies` for the Proxy pool section of a report
        built from *data* (a report from the API loads the list itself).
    config, **settings : Config and overrides of its fields, optional
        How the API is read, as for :func:`wsframes.load_activity` (``api_key``, ``base_url``,
        ``requests_per_minute``...): every field reaches the kernel's client, the key through
        its environment only. ``progress``: a bar of the notebook's cells on stderr (default:
        only when stderr is a terminal, quiet under cron); steps and timings are logged at INFO.

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
    cfg = configure(config, settings)
    if type(data).__module__.startswith("pandas"):  # pandas users get the same report
        data = pl.from_pandas(cast(Any, data))
    if isinstance(data, pl.LazyFrame) and data.collect_schema().get("timestamp") == pl.String:
        data = data.collect()  # text timestamps (a CSV scan): parsed, or refused, before anything runs
    if isinstance(data, pl.DataFrame):
        data = as_utc(data, what="build_report(data=...)")
    job = _validate(
        start,
        end,
        period=period,
        plan_id=plan_id,
        tz=tz,
        compare_previous=compare_previous,
        data=data,
        archive=archive,
        config=cfg,
        out_dir=out_dir,
        anonymize_clients=anonymize_clients,
        template=template,
        now=now,
        source_label=source_label,
        cell_timeout=cell_timeout,
    )
    job.parameters.update(_pool_parameters(allowed_clients, proxies))
    log.info("building %s for [%s, %s)", job.stem, job.start.isoformat(), job.end.isoformat())
    timings: dict[str, float] = {}
    staged = job.out_dir / f"{job.stem}.parquet"
    orphan = not (job.out_dir / f"{job.stem}.html").exists()  # no earlier report needs the file
    with tempfile.TemporaryDirectory(prefix="wsframes-report-") as work:
        parameters = dict(job.parameters)
        try:
            if isinstance(data, pl.DataFrame | pl.LazyFrame):
                parameters.update(_stage_frame(data, job))
            elif keep_data and data is None:
                parameters["keep_data_as"] = staged.name
            nb = _with_parameters(nbformat.read(job.template, as_version=4), parameters)
            show = sys.stderr.isatty() if cfg.progress is None else cfg.progress
            nb = execute(nb, job, Path(work), timeout=cell_timeout, timings=timings, progress=show)
        except KeyboardInterrupt:  # Ctrl-C leaves nothing partial: no data without its report
            if orphan:
                staged.unlink(missing_ok=True)
            raise
    started = time.perf_counter()
    if show:  # the bar is closed; export of a big report takes seconds too
        print(f"exporting {job.stem}.html ...", file=sys.stderr, flush=True)
    if parameters.get("keep_data_as"):
        _point_at_kept_data(nb, parameters)
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
    archive: str | os.PathLike[str] | None,
    config: Config,
    out_dir: str | os.PathLike[str],
    anonymize_clients: bool,
    template: str | os.PathLike[str] | None,
    now: datetime | None,
    source_label: str | None,
    cell_timeout: float,
) -> _Job:
    check_tz(tz)
    now = now or utc_now()
    check_seconds("cell_timeout", cell_timeout, zero_ok=False)
    check_plan_id(plan_id)
    if archive is not None and data is not None:
        raise ConfigurationError("give data= (--data) or archive= (--archive), not both.")
    data_path = check_data(data)
    if data_path is not None:
        data = data_path  # a directory or glob, resolved: every check below scans the same files
    if period is not None and (start is not None or end is not None):
        raise ConfigurationError("give either period or start/end, not both.")
    if period is None and start is None and end is not None:
        raise ConfigurationError("end was given without start; give start too (or a period).")
    if period is not None:
        lo, hi = resolve_period(period, tz=tz, now=now)
    elif start is not None:
        lo, hi = resolve_window(start, end, now=now)
    elif data is None:  # the API or an archive: the usual week
        lo, hi = resolve_period("last-7d", tz=tz, now=now)
    else:
        lo, hi = data_extent(data)
    env = dict(os.environ)
    env.pop("WEBSHARE_API_KEY", None)  # least privilege: the kernel only gets a key it needs
    if archive is not None:
        archive = check_archive(archive, lo, hi, plan_id=plan_id, subuser=config.subuser)
        compare, compare_note = archive_compare(compare_previous, archive, lo, hi, plan_id=plan_id,
                                                subuser=config.subuser)
    else:
        compare, compare_note = decide_compare(compare_previous, data, lo, hi)
    if data is None and archive is None:
        # The loader's own rule, against the real clock (*now* only anchors named periods): the
        # API refuses what it refuses today. The kernel then starts any window that expired
        # meanwhile at the floor (report.data.readable_start) instead of failing after this check.
        check_retention(lo)
        if lo >= utc_now():
            raise ConfigurationError(
                f"the window [{lo:%Y-%m-%d %H:%M}, {hi:%Y-%m-%d %H:%M}) UTC starts in the future "
                f"(it is {utc_now():%Y-%m-%d %H:%M} UTC now): nothing can have been recorded yet."
            )
        key = config.api_key or os.environ.get("WEBSHARE_API_KEY")
        if not key:
            raise ConfigurationError(
                "no API key: set WEBSHARE_API_KEY (or pass api_key=), give data= / --data FILE, "
                "or try `wsframes report --demo`, which needs no key."
            )
        env["WEBSHARE_API_KEY"] = key
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
        "archive": archive,
        "source": source_label or (f"archive {archive}" if archive is not None else describe_source(data)),
        "period_label": stem.removeprefix("wsframes-"),
        # Every setting but the key (the environment carries it); the kernel shows no bars.
        "settings": {**config.public(), "progress": False},
    }
    return _Job(lo, hi, stem, out, template_path, parameters, env)


def _pool_parameters(allowed: str | Sequence[str] | None, proxies: str | os.PathLike[str] | None
                     ) -> dict[str, Any]:
    """The Proxy pool section's parameters, checked before anything runs."""
    from wsframes.report.pool_section import check_allowed_clients

    path = None
    if proxies is not None:
        path = os.path.abspath(proxies)
        if not os.path.isfile(path):
            raise ConfigurationError(f"proxies={str(proxies)!r} is not a file (a Parquet file of "
                                     "wsframes.load_proxies()).")
    return {"allowed_clients": check_allowed_clients(allowed), "proxies_path": path}


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
    rows = as_utc(data.lazy(), what="the report's data").filter(
        pl.col("timestamp").is_between(first, job.end, closed="left"))
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


def _point_at_kept_data(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> None:
    """Make the kept notebook rerun from the data it was built from, not from the API it came from."""
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    rerun = dict(
        parameters,
        data_path=parameters["keep_data_as"],
        keep_data_as=None,
        data_anonymized=bool(parameters["anonymize_clients"]),
    )
    lines = [
        "# Parameters (injected by wsframes.build_report). The data was loaded from the source",
        "# below and kept beside this notebook as data_path, so a rerun reads exactly that data.",
    ]
    cell.source = "\n".join(lines + [f"{name} = {value!r}" for name, value in rerun.items()])


def _summary(nb: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if SUMMARY_MIME in output.get("data", {}):
                return dict(output["data"][SUMMARY_MIME])
    return {}
