"""The fake account's proxy pool: the list, its past replacement, and the activity that uses it.

One fixed pool serves every datacenter plan: 40 proxies in five /24 ranges of the benchmarking
block ``198.19.0.0/16`` (never routed on the internet), in four countries and four documentation
ASNs (64500-64503; two ranges share an ASN, so grouping by ASN and by /24 differ). One slot is
*replaced mid-window*: :data:`OLD_ADDRESS` (US) serves the first half of the generated window,
:data:`NEW_ADDRESS` (FR, its own /24) the second half, so old activity keeps carrying an address
the current list no longer has, as it does on the live API. The replacement instant the server
reports is read back from the activity itself (:func:`replacement_us`), so the list, the replaced
list and the activity always agree, also for plans a test built itself.

Residential plans have no proxy addresses: their ``direct`` list is empty and their ``backbone``
list carries only countries (``proxy_address`` null), as Webshare's does.

The proxy-list endpoints are limited to :data:`~wsframes.api.proxies.PROXY_LIST_REQUESTS_PER_MINUTE`
requests in any 60 seconds (a 429 with ``Retry-After`` beyond that), by the fake's sliding-window
gate of the ``proxy_list`` group (``FakeWebshare.group_limits``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
import polars as pl

from wsframes.api.proxies import PROXY_LIST_GROUP, PROXY_LIST_MODES
from wsframes.fake import params as qp
from wsframes.fake.catalog import HOW_TO_FIX, universe
from wsframes.fake.render import render_timestamps

if TYPE_CHECKING:
    from wsframes.fake.handler import Handler

__all__ = [
    "EVERY_PROXY",
    "NEW_ADDRESS",
    "OLD_ADDRESS",
    "POOL",
    "apply_pool",
    "country_index",
    "plant_failures",
    "proxy_frame",
    "proxy_list_records",
    "replaced_records",
    "replacement_us",
    "serve_proxy_list",
    "serve_replaced",
]


@dataclass(frozen=True, slots=True)
class FakeProxy:
    """One proxy of the fake pool (what the list says about it)."""

    slot: int
    address: str
    country_code: str
    city_name: str
    asn_number: int
    asn_name: str


#: (third octet, country, city, ASN, ASN name) of each /24 range of the pool.
_RANGES = (
    (1, "US", "Ashburn", 64500, "Example Transit LLC"),
    (2, "US", "Dallas", 64501, "Sample Hosting Inc"),
    (3, "DE", "Frankfurt", 64502, "Muster Rechenzentrum GmbH"),
    (4, "GB", "London", 64503, "Placeholder Networks Ltd"),
    (5, "NL", "Amsterdam", 64501, "Sample Hosting Inc"),
)
_PER_RANGE = 8
#: The slot replaced mid-window, and the proxy that took its place.
REPLACED_SLOT = 3
_NEW = FakeProxy(REPLACED_SLOT, "198.19.6.10", "FR", "Paris", 64503, "Placeholder Networks Ltd")


def _build_pool() -> tuple[FakeProxy, ...]:
    return tuple(
        FakeProxy(r * _PER_RANGE + i, f"198.19.{octet}.{10 + 7 * i}", cc, city, asn, name)
        for r, (octet, cc, city, asn, name) in enumerate(_RANGES)
        for i in range(_PER_RANGE)
    )


#: The pool as it was before the replacement, slot by slot (40 proxies, matching
#: ``universe().proxies`` one to one).
POOL = _build_pool()
OLD_ADDRESS = POOL[REPLACED_SLOT].address
NEW_ADDRESS = _NEW.address
#: Every proxy the generated activity goes through: the pool and the replacement.
EVERY_PROXY = (*POOL, _NEW)


def apply_pool(cols: dict[str, Any], ts: np.ndarray, lo: int, hi: int) -> None:
    """Re-point generated datacenter rows at the pool (in place): slot *i* of ``universe().proxies``
    becomes ``POOL[i]``, and the replaced slot switches to :data:`NEW_ADDRESS` at the window's middle.
    """
    old = list(universe().proxies)
    new = [p.address for p in POOL]
    after = ts >= lo + (hi - lo) // 2
    for name in ("listen_address", "proxy_address"):
        mapped = pl.Series(np.asarray(cols[name], dtype=object).tolist(), dtype=pl.String)
        values = mapped.replace_strict(old, new, default=None).to_numpy().astype(object)
        values[(values == OLD_ADDRESS) & after] = NEW_ADDRESS
        cols[name] = values


def proxy_frame() -> pl.DataFrame:
    """Every proxy of the pool as the proxy list's fields :func:`wsframes.analysis.enrich` reads."""
    return pl.DataFrame([{"proxy_address": p.address, "country_code": p.country_code,
                          "city_name": p.city_name, "asn_number": p.asn_number, "asn_name": p.asn_name}
                         for p in EVERY_PROXY])


def country_index(countries: tuple[str, ...], fallback: pl.Expr) -> pl.Expr:
    """Index into *countries* of each row's proxy country (the pool's), else *fallback*.

    Lets the fake's ``/api/v2/stats/`` ``countries_used`` agree with the proxy list.
    """
    mapping = {p.address: countries.index(p.country_code) for p in EVERY_PROXY}
    address = pl.col("listen_address").cast(pl.String)
    return address.replace_strict(mapping, default=None, return_dtype=pl.Int64).fill_null(fallback)


def replacement_us(truth: pl.DataFrame) -> int:
    """When the replaced slot changed hands, as the activity shows it (epoch µs).

    The first row using :data:`NEW_ADDRESS`, else just after the last row using
    :data:`OLD_ADDRESS`, else the middle of the data (or 0 for no data).
    """
    ts = truth["timestamp"].cast(pl.Int64)
    listen = truth["listen_address"].cast(pl.String)
    new_rows = ts.filter(listen == NEW_ADDRESS)
    if len(new_rows):
        return int(new_rows.min())  # type: ignore[arg-type]
    old_rows = ts.filter(listen == OLD_ADDRESS)
    if len(old_rows):
        return int(old_rows.max()) + 1  # type: ignore[arg-type]
    return (int(ts.min()) + int(ts.max())) // 2 if len(ts) else 0  # type: ignore[arg-type]


def _is_residential(truth: pl.DataFrame) -> bool:
    gateways = list(universe().residential_gateways)
    return bool(truth["listen_address"].cast(pl.String).is_in(gateways).any())


def _render(us: list[int], tz: str) -> list[str]:
    return render_timestamps(pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")), tz).to_list()


def _password(slot: int) -> str:
    return hashlib.sha256(f"fake-proxy-{slot}".encode()).hexdigest()[:12]


def proxy_list_records(truth: pl.DataFrame, mode: str, *, now_us: int, tz: str) -> list[dict[str, Any]]:
    """The current list of a plan in *mode*, with the API's fields (``password`` included)."""
    if _is_residential(truth):
        if mode == "direct":
            return []
        countries = sorted({p.country_code for p in POOL})
        since = _render([now_us - 30 * 86_400_000_000] * len(countries), tz)
        return [{"id": f"b-{i}", "username": f"ws-backbone-{cc.lower()}-1", "password": _password(-i - 1),
                 "proxy_address": None, "port": 80, "valid": True, "last_verification": None,
                 "country_code": cc, "city_name": None, "created_at": c}
                for i, (cc, c) in enumerate(zip(countries, since, strict=True))]
    cut = replacement_us(truth)
    current = [_NEW if p.slot == REPLACED_SLOT else p for p in POOL]
    created = [cut if p is _NEW else now_us - 30 * 86_400_000_000 for p in current]
    texts = _render([*created, now_us - 20_000_000], tz)
    port_of = 80 if mode == "backbone" else None
    return [{
        "id": f"d-{10_000 + p.slot if p is not _NEW else 20_000}", "username": f"ws{p.slot:04d}-user",
        "password": _password(p.slot), "proxy_address": p.address,
        "port": port_of or 5000 + p.slot * 97 % 5000, "valid": p.slot != 39,
        "last_verification": texts[-1], "country_code": p.country_code, "city_name": p.city_name,
        "created_at": texts[i], "asn_number": p.asn_number, "asn_name": p.asn_name,
        "high_country_confidence": True,
    } for i, p in enumerate(current)]


def replaced_records(truth: pl.DataFrame, *, tz: str) -> list[dict[str, Any]]:
    """The replaced list of a plan: one replacement on a datacenter plan, none on residential."""
    if truth.height == 0 or _is_residential(truth):
        return []
    old = POOL[REPLACED_SLOT]
    port = 5000 + old.slot * 97 % 5000
    return [{
        "id": 1, "reason": "auto_out_of_rotation", "proxy": old.address, "proxy_port": port,
        "proxy_country_code": old.country_code, "replaced_with": _NEW.address,
        "replaced_with_port": port, "replaced_with_country_code": _NEW.country_code,
        "created_at": _render([replacement_us(truth)], tz)[0],
    }]


def plant_failures(df: pl.DataFrame, addresses: list[str], *, rate: float, seed: int = 0,
                   code: str = "target_connect_unknown_error") -> pl.DataFrame:
    """Make a share *rate* of the successful rows through *addresses* fail with *code* (tests).

    The rows are picked by a seeded draw; only ``error_reason`` and its advice change.
    """
    rng = np.random.default_rng(seed)
    hit = (df["listen_address"].cast(pl.String).is_in(addresses) & df["error_reason"].is_null()).to_numpy()
    flip = pl.Series(hit & (rng.random(df.height) < rate))
    return df.with_columns(
        pl.when(flip).then(pl.lit(code)).otherwise(pl.col("error_reason").cast(pl.String))
        .cast(df.schema["error_reason"]).alias("error_reason"),
        pl.when(flip).then(pl.lit(HOW_TO_FIX.get(code, ""))).otherwise(
            pl.col("error_reason_how_to_fix").cast(pl.String))
        .cast(df.schema["error_reason_how_to_fix"]).alias("error_reason_how_to_fix"),
    )


# -- serving -------------------------------------------------------------------------------------
def _throttled(h: Handler) -> bool:
    """Answer 429 when the proxy-list group had its quota in the last 60 s (sliding window).

    The group's gate is the fake's own :class:`~wsframes.fake.faults.SlidingWindowLimit`
    (``FakeWebshare.group_limits``), counted apart from the general limit as the API does.
    """
    return not h.admitted(h.fake.group_limits[PROXY_LIST_GROUP])


def _page(h: Handler, records: list[dict[str, Any]]) -> None:
    """One DRF page-number page of *records* (``page`` out of range: 404 ``Invalid page.``)."""
    size = qp.page_size(h.params, h.fake.page_cap)
    try:
        page = int(h.params.get("page") or 1)
    except ValueError:
        page = 0
    last = max(1, -(-len(records) // size))
    if not 1 <= page <= last:
        h._json(404, {"detail": "Invalid page."})
        return
    nxt = None
    if page < last:
        host = h.headers.get("Host") or ""
        nxt = f"http://{host}{h.url_path}?{urlencode({**h.params, 'page': page + 1})}"
    prev = None if page == 1 else f"http://{h.headers.get('Host') or ''}{h.url_path}?page={page - 1}"
    h._json(200, {"count": len(records), "next": nxt, "previous": prev,
                  "results": records[(page - 1) * size: page * size]})


def _truth(h: Handler) -> pl.DataFrame:
    store = h.store()
    with h.fake.lock:
        return store.truth


def serve_proxy_list(h: Handler) -> None:
    """``GET /api/v2/proxy/list/``: ``mode`` is required."""
    if _throttled(h):
        return
    mode = h.params.get("mode")
    if not mode:
        raise qp.FieldError.live("mode", "This field is required.", "required")
    if mode not in PROXY_LIST_MODES:
        raise qp.FieldError.live("mode", f'"{mode}" is not a valid choice.', "invalid_choice")
    now_us = qp.to_us(h.fake.now())
    _page(h, proxy_list_records(_truth(h), mode, now_us=now_us, tz=h.fake.tz))


def serve_replaced(h: Handler) -> None:
    """``GET /api/v2/proxy/list/replaced/``."""
    if _throttled(h):
        return
    _page(h, replaced_records(_truth(h), tz=h.fake.tz))
