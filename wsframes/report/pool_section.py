"""The report's "Proxy pool" section: health by country, ASN and /24, the worst proxies, advice.

Runs inside the report kernel. :func:`load_pool` gets the proxy list (one more request when the
report reads the API; a Parquet file of :func:`wsframes.load_proxies` with ``--proxies`` for a
report built from ``--data``), :func:`pool_section_html` draws the section from it:

* health by country, ASN and /24 range (:func:`wsframes.pool_health`), worst first;
* the worst proxies with their evidence and the suggested replacement as a copyable dry-run
  JSON block (:func:`wsframes.replacement_plan`); wsframes never sends it;
* clients outside ``--allowed-clients`` (:func:`wsframes.client_audit`), when one is given;
* breakdowns by ``plan_id`` and ``subuser_id`` when the data holds several.

Without a proxy list the section says what it needs and shows what needs no list. Everything
drawn goes through :func:`wsframes.report.render.table_html` or :func:`html.escape`: host
names, ASN names and error texts come from the internet.
"""

from __future__ import annotations

import html
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from wsframes._config import Config
from wsframes.analysis.pool import client_audit, enrich, pool_health
from wsframes.analysis.replacement import replacement_plan
from wsframes.api.progress import relay_step
from wsframes.errors import ConfigurationError, WsframesError
from wsframes.report.data import collect, count_rows
from wsframes.report.render import table_html

__all__ = ["PoolInputs", "check_allowed_clients", "load_pool", "pool_section_html"]

log = logging.getLogger("wsframes.report")

#: Rows shown per table: the section must stay within the report's size budget.
MAX_ROWS = 10
_PCT = ("error_rate", "ci_low", "ci_high", "pool_error_rate", "rest_error_rate", "slow_share")


def _p_value(p: float | None) -> str:
    """A p-value readable at a glance (``4.2e-31``, not thirty zeros)."""
    return "–" if p is None else f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


_FORMATS: dict[str, Any] = {**dict.fromkeys(_PCT, "percent"), "bytes": "bytes", "p50": "seconds",
                            "p95": "seconds", "p99": "seconds", "pool_p95": "seconds", "p_adjusted": _p_value}
_HEADERS = {"requests": "requests", "failed": "failed", "error_rate": "error rate",
            "ci_low": "95% low", "ci_high": "95% high", "p95": "p95", "verdict": "verdict",
            "proxy_country": "country", "proxy_asn": "ASN", "proxy_asn_name": "network",
            "proxy_subnet_24": "range", "proxy_address": "proxy", "listen_address": "gateway",
            "rest_error_rate": "rest of pool", "p_adjusted": "p (adjusted)", "proxies": "proxies",
            "slow_share": "over pool p95 (5% usual)", "pool_p95": "pool p95", "reason": "why"}
_HEALTH = ["requests", "failed", "error_rate", "ci_low", "ci_high", "p95", "slow_share", "verdict"]


@dataclass(frozen=True)
class PoolInputs:
    """The proxy list a report section draws from, or why there is none."""

    proxies: pl.DataFrame | None
    replaced: pl.DataFrame | None
    note: str = ""

    def enrich(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """*frame* with each proxy's country, network and /24 (:func:`~wsframes.analysis.enrich`),
        lazily; unchanged without a proxy list."""
        if self.proxies is None:
            return frame
        with warnings.catch_warnings():  # a residential plan's note is the section's, not a warning
            warnings.simplefilter("ignore")
            return enrich(frame.lazy(), self.proxies, self.replaced)


def check_allowed_clients(allowed: str | Sequence[str] | None) -> list[str] | None:
    """``"10.0.0.0/8,2001:db8::/32"`` or a list -> checked CIDR strings (None: no allow-list)."""
    import ipaddress

    if allowed is None:
        return None
    items = [a.strip() for a in (allowed.split(",") if isinstance(allowed, str) else allowed)]
    items = [a for a in items if a]
    if not items:
        raise ConfigurationError("--allowed-clients needs at least one CIDR, e.g. 203.0.113.0/24.")
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(f"--allowed-clients: {item!r} is not an address or CIDR range "
                                     "(e.g. 203.0.113.0/24 or 2001:db8::/32).") from None
    return items


def load_pool(*, from_api: bool, plan_id: int | None, settings: Mapping[str, Any] | None,
              proxies_path: str | None, archive: str | None = None, end: str | None = None) -> PoolInputs:
    """The proxy list for the section: from ``proxies_path``, else the archive's latest snapshot
    up to *end* for an archive report, else the API when the report reads it.

    A failed list load does not fail the report (its activity is sound): the section says why.
    """
    if proxies_path is not None:
        if not os.path.exists(proxies_path):
            return PoolInputs(None, None, f"the proxy list file {proxies_path} does not exist.")
        return PoolInputs(pl.read_parquet(proxies_path), None)
    if archive is not None and end is not None:
        return _snapshot_pool(archive, plan_id, datetime.fromisoformat(end))
    if not from_api:
        return PoolInputs(None, None, "")
    from wsframes.pool import load_proxies, load_replaced_proxies

    config = Config(**(settings or {}))  # the report's own settings (see report.data)
    try:
        proxies = load_proxies(config=config, plan_id=plan_id)
        replaced = load_replaced_proxies(config=config, plan_id=plan_id)
    except WsframesError as exc:
        log.warning("proxy list unavailable: %s", exc)
        return PoolInputs(None, None, f"the proxy list could not be loaded: {exc}")
    return PoolInputs(proxies, replaced)


def _snapshot_pool(archive: str, plan_id: int | None, end: datetime) -> PoolInputs:
    """The pool as the archive last saw it before *end* (saved by
    :func:`wsframes.archive.proxies.save_proxy_snapshot`)."""
    from wsframes.archive.proxies import scan_proxy_snapshots

    if archive.lower().startswith("s3://"):
        return PoolInputs(None, None, "proxy snapshots are read from local archives only.")
    try:
        snapshots = scan_proxy_snapshots(archive, plan_id=plan_id).filter(pl.col("snapshot_at") < end)
    except WsframesError as exc:
        return PoolInputs(None, None, f"the archive's proxy snapshots could not be read: {exc}")
    if snapshots.is_empty():
        return PoolInputs(None, None, "the archive holds no proxy snapshot from before the window's end.")
    latest = snapshots.filter(pl.col("snapshot_at") == pl.col("snapshot_at").max())
    return PoolInputs(latest.drop("snapshot_at"), None)


def _table(frame: pl.DataFrame, table_id: str) -> str:
    shown = frame.head(MAX_ROWS)
    more = frame.height - shown.height
    tail = f'<p class="ws-more">{more:,} more not shown.</p>' if more > 0 else ""
    formats = {c: f for c, f in _FORMATS.items() if c in shown.columns}
    return table_html(shown, formats=formats, headers=_HEADERS, table_id=table_id) + tail


def _health(df: pl.LazyFrame, by: Sequence[str], table_id: str, *, min_requests: int = 30) -> str:
    relay_step(f"pool by {by[0]}")
    health = collect(pool_health(df, by=list(by), min_requests=min_requests))
    health = health.with_columns(pl.col(c).cast(pl.String) for c in by if c in ("proxy_asn",))
    return _table(health.select(*by, *_HEALTH), table_id)


def _h(level: int, text: str) -> str:
    return f"<h{level}>{html.escape(text)}</h{level}>"


def _breakdowns(df: pl.LazyFrame) -> list[str]:
    """Per plan and per sub-user, when the data holds several of them."""
    parts = []
    names = df.collect_schema().names()
    for column, title in (("plan_id", "By plan"), ("subuser_id", "By sub-user")):
        if column in names and collect(df.select(pl.col(column).n_unique())).item() > 1:
            parts += [_h(3, title), _health(df, [column], f"ws-pool-{column}", min_requests=1)]
    return parts


def _clients(df: pl.LazyFrame, allowed: Sequence[str] | None) -> list[str]:
    if not allowed:
        return []
    audit = collect(client_audit(df, allowed=list(allowed)))
    outside = audit.filter(~pl.col("allowed")).select("client_address", "requests", "bytes",
                                                       "stale_list_attempts", "first_seen", "last_seen")
    head = _h(3, "Clients outside the allow-list")
    ranges = html.escape(", ".join(allowed))
    if outside.height == 0:
        return [head, f"<p>Every client address is inside {ranges}.</p>"]
    return [head, f"<p>{outside.height:,} client address(es) used the credentials from outside "
            f"{ranges}: leaked credentials, or a machine nobody listed.</p>",
            _table(outside, "ws-pool-clients")]


def _advice(df: pl.LazyFrame, pool: PoolInputs) -> list[str]:
    assert pool.proxies is not None
    plan = replacement_plan(df, pool.proxies, replaced=pool.replaced)
    head = _h(3, "Suggested replacement (dry run)")
    if not plan.bodies:
        return [head, f"<p>No proxy, range, ASN or country fails significantly more than the rest "
                f"of the pool or is significantly slower ({plan.tests} tests, false-alarm budget "
                f"{plan.alpha:g}): nothing to replace.</p>"]
    evidence = plan.candidates.select("level", "value", "reason", "requests", "failed", "error_rate",
                                      "rest_error_rate", "slow_share", "p95", "pool_p95", "p_adjusted",
                                      "proxies")
    body = html.escape(plan.to_json())
    return [head, "<p>Failing significantly more than the rest of the pool, or slower than it: more "
            "of its requests than the usual 5% take longer than the pool's p95 (evidence below). "
            "The JSON is the body of Webshare's <code>POST /api/v3/proxy/replace/</code> with "
            "<code>dry_run: true</code>: wsframes never sends it; review it, then send it yourself.</p>",
            _table(evidence, "ws-pool-evidence"),
            f'<pre class="ws-json" id="ws-pool-replace">{body}</pre>']


def pool_section_html(df: pl.DataFrame | pl.LazyFrame, pool: PoolInputs, *,
                      allowed_clients: Sequence[str] | None = None) -> str:
    """The whole section as HTML (escaped; tables capped at :data:`MAX_ROWS` rows)."""
    parts: list[str] = []
    df = df.lazy()
    if not count_rows(df):
        return "<p>No activity in this period, so there is no pool to rate.</p>"
    residential = bool(collect(df.select(pl.col("proxy_address").is_null().all())).item())
    if residential:
        parts.append("<p>This is a residential plan: its requests carry no proxy address, so "
                     "proxies, ranges and ASNs cannot be rated. Health by gateway (the proxy "
                     "server used) instead.</p>")
        parts.append(_health(df, ["listen_address"], "ws-pool-gateway"))
    elif pool.proxies is None:
        need = (f"<p>{html.escape(pool.note)}</p>" if pool.note else "") + (
            "<p>Health by country, ASN and range needs the proxy list: build the report from the "
            "API (it loads the list), or pass <code>--proxies FILE</code> (a Parquet file of "
            "<code>wsframes.load_proxies()</code>). Per proxy, without it:</p>")
        parts += [need, _health(df, ["proxy_address"], "ws-pool-proxy")]
    else:
        rich = pool.enrich(df)
        parts += [_h(3, "By country"), _health(rich, ["proxy_country"], "ws-pool-country"),
                  _h(3, "By network (ASN)"), _health(rich, ["proxy_asn", "proxy_asn_name"], "ws-pool-asn"),
                  _h(3, "By /24 range"), _health(rich, ["proxy_subnet_24"], "ws-pool-subnet"),
                  _h(3, "Worst proxies"),
                  _health(rich, ["proxy_address", "proxy_country", "proxy_subnet_24"], "ws-pool-worst")]
        parts += _advice(rich, pool)
    parts += _clients(df, allowed_clients)
    parts += _breakdowns(df)
    return "\n".join(parts)
