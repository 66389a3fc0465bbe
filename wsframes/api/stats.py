"""Hourly and aggregate usage stats (``/api/v2/stats/`` and ``/api/v2/stats/aggregate/``).

These endpoints answer small JSON documents (one object per hour with usage, at most 2,160 for
the 90 days the API keeps), so they are decoded with :mod:`json`; turning them into a frame is
:func:`wsframes.frames.hourly_stats_frame`'s job. Hourly ``requests_total`` is what a complete
activity pull of the same hours must add up to.
"""

from __future__ import annotations

import json
from typing import Any

from wsframes.api.activity import window_params
from wsframes.api.client import HttpClient

__all__ = ["AGGREGATE_PATH", "HOURLY_PATH", "get_aggregate_stats", "get_hourly_stats"]

HOURLY_PATH = "/api/v2/stats/"
AGGREGATE_PATH = "/api/v2/stats/aggregate/"


def _params(lo_us: int, hi_us: int, plan_id: int | None) -> dict[str, str | int]:
    params: dict[str, str | int] = {**window_params(lo_us, hi_us)}
    if plan_id is not None:
        params["plan_id"] = plan_id
    return params


def _decode_list(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body)  # a ValueError here (cut body) is retried by HttpClient
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError("hourly stats must be a JSON array of objects")
    return data


def _decode_object(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("aggregate stats must be a JSON object")
    return data


def get_hourly_stats(http: HttpClient, lo_us: int, hi_us: int, *, plan_id: int | None = None
                     ) -> list[dict[str, Any]]:
    """The hourly stats objects between the inclusive instants *lo_us* and *hi_us* (µs)."""
    return http.get(HOURLY_PATH, _params(lo_us, hi_us, plan_id), decode=_decode_list)


def get_aggregate_stats(http: HttpClient, lo_us: int, hi_us: int, *, plan_id: int | None = None
                        ) -> dict[str, Any]:
    """The aggregate stats object for the inclusive instants *lo_us* .. *hi_us* (µs)."""
    return http.get(AGGREGATE_PATH, _params(lo_us, hi_us, plan_id), decode=_decode_object)
