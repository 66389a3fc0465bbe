"""Fixed lookup tables of the synthetic traffic: domains, addresses and error codes.

The tables are the same for every seed (like the real internet, ``google.com``-style domains are
always popular); the seed only changes which rows draw from them. Host names include hostile
entries (HTML/JS, quotes) and one name longer than 253 characters, because real host names are
untrusted text and every renderer must escape them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np

__all__ = [
    "ERROR_MIX",
    "HOSTILE_DOMAINS",
    "HOSTILE_RANKS",
    "HOW_TO_FIX",
    "UNKNOWN_CODE",
    "Universe",
    "universe",
]

#: A code the wsframes catalogue does not know: the data must carry one.
UNKNOWN_CODE: Final = "target_connect_timeout"

#: Error code -> relative frequency among failed requests.
ERROR_MIX: Final[dict[str, float]] = {
    "target_connect_unknown_error": 0.32,
    "target_connect_resolve_failed": 0.18,
    "client_connect_high_concurrency": 0.16,
    "no_proxies_allocated": 0.11,
    "client_connect_forbidden_host": 0.09,
    "bandwidthlimit": 0.05,
    UNKNOWN_CODE: 0.09,
}

#: Error code -> the API's ``error_reason_how_to_fix`` text.
HOW_TO_FIX: Final[dict[str, str]] = {
    "client_connect_forbidden_host": (
        "The target website you are connecting cannot be accessed via Webshare Proxy."
    ),
    "no_proxies_allocated": (
        "The proxy you are using is not in your proxy list anymore. Download the proxy list again."
    ),
    "client_connect_high_concurrency": (
        "You are sending too many concurrent requests. Lower the concurrency or upgrade your plan."
    ),
    "bandwidthlimit": "Your plan's bandwidth limit has been reached. Upgrade your plan.",
    "target_connect_resolve_failed": (
        "The target hostname could not be resolved. Check the hostname you are connecting to."
    ),
    "target_connect_unknown_error": (
        "The connection to the target website failed. Retry the request later."
    ),
    UNKNOWN_CODE: "The target website did not answer in time.",
}

#: Registrable domain -> host names under it that try to break whatever renders them.
HOSTILE_DOMAINS: Final[dict[str, str]] = {
    "evil.example": "<script>alert(1)</script>.evil.example",
    "img.example": '<img src=x onerror="alert(document.domain)">.img.example',
    "quote.example": "it's-\"quoted\"&<b>.quote.example",  # all five of & < > " ' raw
    "long.example": ".".join(["x" * 63] * 4) + ".long.example",
}

_SYLLABLES = (
    "ab", "ar", "bo", "ca", "da", "el", "fi", "go", "ha", "in", "jo", "ka", "lo", "ma", "ne",
    "or", "pa", "qu", "ra", "sa", "ta", "ul", "ve", "wi", "xo", "ya", "zu", "shop", "news",
    "data", "cloud", "api", "media", "mart", "hub", "lab", "net", "soft", "trip", "bank",
)
_TLDS = ("com", "com", "com", "net", "org", "io", "de", "co.uk", "fr", "jp", "com.br", "ru")
_SUBDOMAINS = ("www.", "", "api.", "m.", "cdn.", "accounts.")
HOSTILE_RANKS = (17, 23, 31, 41)  # popular enough to appear in a few thousand rows
_SLOW_RANKS = (6, 14, 27)  # slow, failure-prone targets an SRE should spot
_N_DOMAINS = 3000


class Universe:
    """The fixed tables rows draw from (see :func:`universe`).

    Attributes
    ----------
    domains : numpy.ndarray
        Registrable domains by popularity rank (object array of str).
    popularity : numpy.ndarray
        Probability of each domain (Zipf-like, sums to 1).
    hosts : numpy.ndarray
        ``len(domains) * len(_SUBDOMAINS)`` host names; host of domain ``d`` and prefix ``k`` is
        ``hosts[d * n_sub + k]``.
    target_ips : numpy.ndarray
        One target IP per domain (some IPv6).
    slow : numpy.ndarray
        Boolean per domain: slow and failure-prone.
    """

    n_sub: int = len(_SUBDOMAINS)

    def __init__(self) -> None:
        rng = np.random.default_rng(20261126)
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < _N_DOMAINS:
            k = int(rng.integers(2, 4))
            stem = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), k))
            name = f"{stem}.{_TLDS[int(rng.integers(0, len(_TLDS)))]}"
            if name not in seen:
                seen.add(name)
                names.append(name)
        hostile = list(HOSTILE_DOMAINS)
        for rank, dom in zip(HOSTILE_RANKS, hostile, strict=True):
            names[rank] = dom
        self.domains = np.array(names, dtype=object)
        ranks = np.arange(1, _N_DOMAINS + 1, dtype=np.float64)
        weights = ranks**-1.07
        self.popularity = weights / weights.sum()
        hosts = [f"{sub}{dom}" for dom in names for sub in _SUBDOMAINS]
        for rank, dom in zip(HOSTILE_RANKS, hostile, strict=True):
            for k in range(self.n_sub):  # every prefix of a hostile domain is the hostile name
                hosts[rank * self.n_sub + k] = HOSTILE_DOMAINS[dom]
        self.hosts = np.array(hosts, dtype=object)
        ips = [f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}" for i in range(_N_DOMAINS)]
        for i in range(0, _N_DOMAINS, 9):  # some targets are reached over IPv6
            ips[i] = f"2001:db8:{i:x}::{(i * 7) % 65536:x}"
        self.target_ips = np.array(ips, dtype=object)
        self.slow = np.zeros(_N_DOMAINS, dtype=bool)
        self.slow[list(_SLOW_RANKS)] = True
        self.clients = np.array(
            [f"203.0.113.{10 + i}" for i in range(18)]
            + [f"2001:db8:c0:{i:x}::1" for i in range(6)],
            dtype=object,
        )
        cw = 1.0 / np.arange(1, len(self.clients) + 1)
        self.client_weights = cw / cw.sum()
        self.proxies = np.array([f"192.0.2.{20 + i}" for i in range(40)], dtype=object)
        self.residential_gateways = np.array(
            ["198.51.100.7", "198.51.100.8", "198.51.100.9"], dtype=object
        )


@lru_cache(maxsize=1)
def universe() -> Universe:
    """The shared, lazily built :class:`Universe` (built once per process)."""
    return Universe()
