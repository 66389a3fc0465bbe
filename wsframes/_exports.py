"""The public names of :mod:`wsframes`, each with the module that defines it: the one table.

The facade builds ``__all__`` and its lazy imports from it, and :mod:`wsframes.namespace` finds
the ``.ws`` methods among its ``wsframes.analysis`` names. A new public name is one entry here
(plus its ``X as X`` line in the facade's ``TYPE_CHECKING`` block, for static checkers).
"""

from __future__ import annotations

_BY_MODULE = {
    "wsframes": "load_activity",
    "wsframes._version": "__version__",
    "wsframes.schema": "ACTIVITY_SCHEMA ERROR_CATALOGUE describe_error empty_activity",
    "wsframes.errors": "APIError ArchiveError AuthenticationError BadRequestError ConfigurationError "
    "DamagedFileError IncompleteDataError PermissionDeniedError RateLimitError ReportError ServerError "
    "TransportError WsframesError",
    "wsframes._config": "Config ConfigOverrides",
    "wsframes.loader": "Client",
    "wsframes.frames": "to_pandas",
    "wsframes.archive": "sync scan_activity archive_status check_completeness",
    "wsframes.report": "build_report build_demo_report",
    "wsframes.fake": "FakeWebshare generate_activity",
    "wsframes.pool": "load_proxies load_replaced_proxies load_error_reasons",
    "wsframes.analysis": "PeriodComparison QuantileSketch ReplacementPlan apdex "
    "bandwidth_by client_audit compare_periods enrich error_rate_over_time error_taxonomy "
    "estimated_concurrency find_incidents hourly_profile latency_ccdf latency_histogram "
    "latency_over_time latency_summary pool_health replacement_plan slo_attainment "
    "standing_problems top_offenders traffic_over_time wilson_interval",
}

#: Public name -> the module that defines it (imported on first attribute access).
EXPORTS = {name: module for module, names in _BY_MODULE.items() for name in names.split()}
