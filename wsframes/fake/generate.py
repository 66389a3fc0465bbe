"""Synthetic Webshare activity that looks like real proxy traffic, deterministic for a seed.

What the data carries, because loaders, analyses and reports must cope with it:

- diurnal load (a daily wave peaking mid-afternoon UTC);
- bursts: groups of 2..50 records sharing one microsecond timestamp (about 12% of rows), so a
  page boundary regularly falls inside a group;
- lognormal handshake and tunnel durations with a heavy (Pareto) tail, whole milliseconds, and
  ``request_duration >= handshake_duration + tunnel_duration``; a few slow, failure-prone domains;
- an error mix using every code of :data:`wsframes.schema.ERROR_CATALOGUE` plus one unknown code,
  with the nulls the API has (no tunnel on most failures, ``auth_username`` only for
  ``no_proxies_allocated``, ``proxy_address`` always null on a residential plan, no host name for
  SOCKS requests made to a bare IP);
- thousands of domains with Zipf popularity, hostile host names (HTML/JS, quotes) and one longer
  than 253 characters; IPv4 and IPv6 clients and targets; byte counts above ``2**31``.

>>> from datetime import datetime, timezone
>>> df = generate_activity(500, start=datetime(2026, 11, 1, tzinfo=timezone.utc),
...                        end=datetime(2026, 11, 2, tzinfo=timezone.utc), seed=1)
>>> df.height, df["timestamp"].is_sorted()
(500, True)
>>> df.equals(generate_activity(500, start=datetime(2026, 11, 1, tzinfo=timezone.utc),
...                             end=datetime(2026, 11, 2, tzinfo=timezone.utc), seed=1))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from wsframes.errors import ConfigurationError
from wsframes.fake.catalog import ERROR_MIX, HOSTILE_RANKS, HOW_TO_FIX, universe
from wsframes.fake.incidents import Incident, plant
from wsframes.fake.proxies import apply_pool
from wsframes.schema import ACTIVITY_SCHEMA
from wsframes.timeutil import TimeLike, resolve_instant, utc_now

__all__ = ["generate_activity"]

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR
# Failures that never reach the target: no tunnel, no target IP, no outbound proxy.
_PRE_TARGET = ("no_proxies_allocated", "client_connect_high_concurrency", "bandwidthlimit")
_NO_TUNNEL = (*_PRE_TARGET, "target_connect_resolve_failed", "target_connect_unknown_error",
              "target_connect_timeout")


def generate_activity(
    n: int = 50_000,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    seed: int = 0,
    plan_id: int = 1,
    residential: bool | None = None,
    incidents: Sequence[Incident] = (),
) -> pl.DataFrame:
    """Generate *n* activity records in ``[start, end)``: the ground truth a fake server holds.

    Parameters
    ----------
    n : int
        Number of records.
    start, end : datetime, date or str, optional
        The window (anything :func:`wsframes.timeutil.resolve_instant` accepts); defaults to the
        7 days before now.
    seed : int
        Same seed and arguments, same frame.
    plan_id : int
        Mixed into the seed, so plans differ even with one seed.
    residential : bool, optional
        A residential plan has ``proxy_address`` always null and a gateway as listen address.
        Defaults to ``plan_id`` being even.
    incidents : sequence of Incident
        Changes to plant (:mod:`wsframes.fake.incidents`); none by default, so every rate is
        stationary. A traffic gap removes records, so the frame then has fewer than *n*.

    Returns
    -------
    polars.DataFrame
        Exactly :data:`wsframes.schema.ACTIVITY_SCHEMA`, ascending by timestamp.
    """
    lo, hi = _window(start, end)
    if n < 0:
        raise ConfigurationError(f"n must be >= 0 records, not {n}.")
    rng = np.random.default_rng([seed, plan_id])
    res = plan_id % 2 == 0 if residential is None else residential
    u = universe()

    counts = _burst_counts(rng, n)
    event_ts = _diurnal_times(rng, len(counts), lo, hi)
    event_domain = rng.choice(len(u.domains), size=len(counts), p=u.popularity)
    event_client = rng.choice(len(u.clients), size=len(counts), p=u.client_weights)
    ts = np.repeat(event_ts, counts)
    domain = np.repeat(event_domain, counts)
    client = np.repeat(event_client, counts)
    _force_hostile(rng, domain)

    code = _error_codes(rng, n, u.slow[domain])
    cols = _columns(rng, n, domain, code, res)
    if not res:  # addresses from the fake pool, one proxy replaced mid-window (fake/proxies.py)
        apply_pool(cols, ts, lo, hi)
    data = {
            "timestamp": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "protocol": cols["protocol"],
            "request_duration": cols["request_duration"],
            "handshake_duration": cols["handshake_duration"],
            "tunnel_duration": cols["tunnel_duration"],
            "error_reason": code,
            "error_reason_how_to_fix": np.array(
                [HOW_TO_FIX.get(c) if c else None for c in code], dtype=object
            ),
            "auth_username": cols["auth_username"],
            "proxy_address": cols["proxy_address"],
            "bytes": cols["bytes"],
            "client_address": u.clients[client],
            "ip_address": cols["ip_address"],
            "hostname": cols["hostname"],
            "domain": cols["domain"],
            "port": cols["port"],
            "proxy_port": cols["proxy_port"],
            "listen_address": cols["listen_address"],
            "listen_port": cols["listen_port"],
    }
    frame = pl.DataFrame([_series(name, data[name]) for name in ACTIVITY_SCHEMA]).cast(ACTIVITY_SCHEMA)
    return plant(frame, incidents, seed=seed) if incidents else frame


def _series(name: str, values: object) -> pl.Series:
    """A column from a numpy array; object arrays (with None for null) go through a list."""
    if isinstance(values, pl.Series):
        return values.alias(name)
    arr = np.asarray(values)
    if arr.dtype == object:
        dtype = ACTIVITY_SCHEMA[name]
        return pl.Series(name, arr.tolist(), dtype=pl.String if dtype.is_(pl.Categorical()) else dtype)
    return pl.Series(name, arr)


def _null_where(null: np.ndarray, values: np.ndarray) -> np.ndarray:
    """An object array of *values* with None where *null* is true."""
    out = values.astype(object)
    out[null] = None
    return out


def _nullable(values: np.ndarray, null: np.ndarray) -> pl.Series:
    """A numeric column with nulls where *null* is true (vectorised, no Python objects)."""
    return pl.select(
        pl.when(pl.Series(null)).then(None).otherwise(pl.Series(values))
    ).to_series()


def _window(start: TimeLike | None, end: TimeLike | None) -> tuple[int, int]:
    """The window as integer microseconds since the epoch."""
    now = utc_now()
    hi = now if end is None else resolve_instant(end, now=now, name="end")
    lo = hi - timedelta(days=7) if start is None else resolve_instant(start, now=now, name="start")
    if lo >= hi:
        raise ConfigurationError(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()}).")
    epoch = datetime(1970, 1, 1, tzinfo=lo.tzinfo)
    return (lo - epoch) // timedelta(microseconds=1), (hi - epoch) // timedelta(microseconds=1)


def _burst_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Records per distinct timestamp: mostly 1, some bursts of 2..50 (~12% of rows)."""
    if n < 20:
        return np.ones(n, dtype=np.int64)
    sizes = np.minimum(rng.geometric(0.12, size=max(1, n // 60)) + 1, 50)
    sizes = sizes[np.cumsum(sizes) <= n // 8 + 2] if sizes.sum() > n // 8 + 2 else sizes
    if len(sizes) == 0:
        sizes = np.array([2])
    n_events = n - int(sizes.sum()) + len(sizes)
    counts = np.ones(n_events, dtype=np.int64)
    counts[rng.choice(n_events, size=len(sizes), replace=False)] = sizes
    return counts


def _diurnal_times(rng: np.random.Generator, k: int, lo: int, hi: int) -> np.ndarray:
    """*k* sorted microsecond instants in [lo, hi) from a daily wave, by rejection sampling."""
    out: list[np.ndarray] = []
    got = 0
    while got < k:
        cand = rng.integers(lo, hi, size=max(2 * (k - got), 64))
        phase = ((cand % _US_PER_DAY) / _US_PER_HOUR - 9.0) * (2 * np.pi / 24)
        keep = cand[rng.random(len(cand)) < 0.35 + 0.65 * (0.5 + 0.5 * np.sin(phase))]
        out.append(keep[: k - got])
        got += len(out[-1])
    return np.sort(np.concatenate(out)) if out else np.empty(0, dtype=np.int64)


def _force_hostile(rng: np.random.Generator, domain: np.ndarray) -> None:
    """Make sure every hostile host name appears even in a small sample."""
    if len(domain) >= 200:
        rows = rng.choice(len(domain), size=len(HOSTILE_RANKS), replace=False)
        domain[rows] = HOSTILE_RANKS


def _error_codes(rng: np.random.Generator, n: int, slow: np.ndarray) -> np.ndarray:
    """Per-row error code (None = success); every code appears once n >= 200."""
    codes = np.array(list(ERROR_MIX), dtype=object)
    mix = np.array(list(ERROR_MIX.values()))
    failed = rng.random(n) < np.where(slow, 0.45, 0.05)
    code = np.full(n, None, dtype=object)
    code[failed] = codes[rng.choice(len(codes), size=int(failed.sum()), p=mix / mix.sum())]
    if n >= 200:
        code[rng.choice(n, size=len(codes), replace=False)] = codes
    return code


def _ms(rng: np.random.Generator, n: int, median_ms: float, sigma: float) -> np.ndarray:
    """Lognormal milliseconds with a Pareto tail on ~2% of rows (at least 1 ms)."""
    base = rng.lognormal(np.log(median_ms), sigma, size=n)
    tail = rng.random(n) < 0.02
    base[tail] *= 1.0 + rng.pareto(1.3, size=int(tail.sum())) * 4
    return np.clip(np.rint(base), 1, 600_000).astype(np.int64)


def _columns(
    rng: np.random.Generator, n: int, domain: np.ndarray, code: np.ndarray, residential: bool
) -> dict[str, object]:
    """Every column but timestamp, error codes and clients, with the API's nulls."""
    u = universe()
    ok = code == None  # noqa: E711 (element-wise on an object array)
    pre_target = np.isin(code, _PRE_TARGET)
    no_tunnel = np.isin(code, _NO_TUNNEL)
    resolve_failed = code == "target_connect_resolve_failed"
    slow = u.slow[domain]

    socks = rng.random(n) < 0.15
    bare_ip = socks & (rng.random(n) < 0.25)  # SOCKS to an IP: no host name, no domain
    handshake = np.minimum(_ms(rng, n, 90.0, 0.45) * np.where(slow, 3, 1), 60_000)
    tunnel = np.minimum(_ms(rng, n, 650.0, 1.0) * np.where(slow, 6, 1), 600_000)
    forbidden = code == "client_connect_forbidden_host"
    tunnel[forbidden] = np.minimum(tunnel[forbidden], 200)
    tunnel_or_0 = np.where(no_tunnel, 0, tunnel)
    request = handshake + tunnel_or_0 + rng.integers(0, 4, size=n)

    size = np.rint(rng.lognormal(np.log(40_000), 1.6, size=n)).astype(np.int64)
    size = np.where(ok, size, np.where(code == "target_connect_unknown_error", size // 200, 0))
    if n >= 1000:  # a few huge downloads: bytes beyond 2**31 must survive every dtype
        big = rng.choice(np.flatnonzero(ok), size=max(1, n // 5000), replace=False)
        size[big] = 2**31 + rng.integers(1, 2**33, size=len(big))

    sub = rng.integers(0, u.n_sub, size=n)
    port = rng.choice(np.array([443, 80, 8080, 8443]), size=n, p=[0.82, 0.14, 0.02, 0.02])
    gw = rng.integers(0, len(u.residential_gateways), size=n)
    px = rng.integers(0, len(u.proxies), size=n)
    if residential:
        listen = u.residential_gateways[gw]
        listen_port = np.where(socks, 1080, 80)
        proxy_address = np.full(n, None, dtype=object)
    else:
        listen = u.proxies[px]
        listen_port = 5000 + px * 97 % 5000
        proxy_address = _null_where(pre_target, u.proxies[px])
    user = np.array([f"ws{i:04d}-rotate" for i in range(40)], dtype=object)[px]
    return {
        "protocol": np.where(socks, "socks", "http"),
        "request_duration": request / 1000.0,
        "handshake_duration": handshake / 1000.0,
        "tunnel_duration": _nullable(tunnel / 1000.0, no_tunnel),
        "auth_username": _null_where(code != "no_proxies_allocated", user),
        "proxy_address": proxy_address,
        "bytes": size,
        "ip_address": _null_where(pre_target | resolve_failed, u.target_ips[domain]),
        "hostname": _null_where(bare_ip, u.hosts[domain * u.n_sub + sub]),
        "domain": _null_where(bare_ip, u.domains[domain]),
        "port": port,
        "proxy_port": _nullable(rng.integers(32768, 61000, size=n), ~ok),
        "listen_address": listen,
        "listen_port": listen_port,
    }
