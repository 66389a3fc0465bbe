"""The public surface of ``wsframes``: pinned, importable, and light to import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import wsframes
from wsframes._exports import EXPORTS

PINNED = {
    "ACTIVITY_SCHEMA", "ERROR_CATALOGUE", "__version__", "describe_error", "empty_activity",
    # errors
    "APIError", "ArchiveError", "AuthenticationError", "BadRequestError", "ConfigurationError",
    "IncompleteDataError", "PermissionDeniedError", "RateLimitError", "ReportError", "ServerError",
    "TransportError", "WsframesError", "DamagedFileError",
    # loading
    "Client", "Config", "ConfigOverrides", "load_activity", "to_pandas",
    # archive
    "sync", "scan_activity", "archive_status", "check_completeness",
    # reports and the demo API
    "build_report", "build_demo_report", "FakeWebshare", "generate_activity",
    # analysis
    "PeriodComparison", "QuantileSketch", "apdex", "bandwidth_by", "compare_periods",
    "error_rate_over_time", "error_taxonomy", "estimated_concurrency", "find_incidents", "hourly_profile",
    "latency_ccdf", "latency_histogram", "latency_over_time", "latency_summary",
    "slo_attainment", "standing_problems", "top_offenders", "traffic_over_time", "wilson_interval",
    # the proxy pool
    "load_proxies", "load_replaced_proxies", "load_error_reasons", "enrich", "pool_health",
    "replacement_plan", "ReplacementPlan", "client_audit",
}


def test_all_is_pinned() -> None:
    assert set(wsframes.__all__) == PINNED
    assert len(wsframes.__all__) == len(PINNED)


def test_every_public_name_resolves() -> None:
    for name in wsframes.__all__:
        assert getattr(wsframes, name) is not None, name
    assert set(wsframes.__all__) <= set(dir(wsframes))


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        wsframes.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_pull_in_jupyter_or_matplotlib() -> None:
    heavy = "('matplotlib', 'nbclient', 'nbconvert')"
    code = f"import sys, wsframes; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_the_installed_distributions() -> None:
    # One source: `--version` and `wsframes.__version__` both come from the package metadata.
    from importlib.metadata import version

    out = subprocess.run(
        [sys.executable, "-m", "wsframes", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["wsframes", version("wsframes")]
    assert wsframes.__version__ == version("wsframes")


def test_the_report_index_shows_the_version() -> None:
    from wsframes.report.index import render_index

    assert f"wsframes {wsframes.__version__}." in render_index([])


def test_each_line_of_the_stub_is_the_object_at_run_time() -> None:
    # Type checkers read the names and their modules from __init__.pyi; so does the facade.
    assert EXPORTS["load_activity"] == "wsframes._load" and EXPORTS["Config"] == "wsframes._config"
    for name, module in EXPORTS.items():
        assert getattr(wsframes, name) is getattr(importlib.import_module(module), name), name
