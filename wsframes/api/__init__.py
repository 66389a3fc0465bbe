"""The Webshare API over HTTP: client, rate limits, activity cursor, slices, stats and CSV download.

This package speaks HTTP and JSON only; it knows nothing of frames (decoding a page into a
frame is injected by :mod:`wsframes.loader`).
"""

from __future__ import annotations

from wsframes.api.activity import ActivityCursor, ActivityFilters, PageInfo
from wsframes.api.client import HttpClient
from wsframes.api.config import redact_url, resolve_api_key
from wsframes.api.limiter import GENERAL, RateLimits, SlidingWindowLimiter

__all__ = [
    "GENERAL",
    "ActivityCursor",
    "ActivityFilters",
    "HttpClient",
    "PageInfo",
    "RateLimits",
    "SlidingWindowLimiter",
    "redact_url",
    "resolve_api_key",
]
