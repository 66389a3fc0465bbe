"""Does the activity endpoint honour ``X-Subuser``? The rule wsframes applies before a sub-user load.

Webshare documents ``X-Subuser: <id>`` for "Proxy Configuration, Proxy List and Proxy Stats";
activity is not listed, and no response echoes which view it served. A sub-user load that
silently returned the whole account's activity would be a wrong answer presented as a right
one, so before loading a sub-user's activity wsframes checks, for the same window and filters:

1. the activity ``count`` with the header (one request, ``page_size=1``). A 403 means the
   sub-user API is not enabled (the account has not accepted its terms) or the id is not one of
   the account's sub-users: :class:`~wsframes.errors.PermissionDeniedError` saying so;
2. the activity ``count`` without the header (one request). Different counts: the header was
   honoured, load;
3. equal counts (and not zero): the hourly ``/api/v2/stats/`` ``requests_total`` of the window
   with and without the header (stats do honour it). If the sub-user's stats are smaller than the
   account's, the activity endpoint ignored the header: :class:`~wsframes.errors.APIError`
   (``status_code`` 200: the API answered, but not what was asked), nothing is loaded. Equal
   stats mean the sub-user really carried all the traffic of the window: load.

So a check costs two small requests (four when the counts agree), on the general limit.
"""

from __future__ import annotations

import json
from typing import Any

from wsframes.api.activity import ACTIVITY_PATH, ActivityFilters, window_params
from wsframes.api.client import HttpClient
from wsframes.api.stats import get_hourly_stats
from wsframes.errors import APIError, PermissionDeniedError

__all__ = ["check_subuser_activity"]


def _count(body: bytes) -> int:
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("count"), int):
        raise ValueError("an activity page must carry an integer 'count'")
    return int(data["count"])


def _activity_count(http: HttpClient, lo_us: int, hi_us: int, filters: ActivityFilters) -> int:
    params: dict[str, str | int] = {**window_params(lo_us, hi_us), **filters.params(), "page_size": 1}
    return http.get(ACTIVITY_PATH, params, decode=_count)


def _stats_total(http: HttpClient, lo_us: int, hi_us: int, plan_id: int | None) -> int:
    hours: list[dict[str, Any]] = get_hourly_stats(http, lo_us, hi_us, plan_id=plan_id)
    return sum(int(h.get("requests_total") or 0) for h in hours if not h.get("is_projected"))


def check_subuser_activity(sub: HttpClient, account: HttpClient, subuser: int, *, lo_us: int,
                           hi_us: int, filters: ActivityFilters) -> int:
    """Apply the module's rule; returns the sub-user's record count of the window.

    Parameters
    ----------
    sub, account : HttpClient
        Clients with and without ``X-Subuser`` (sharing one rate limiter).
    subuser : int
        The sub-user id (only for messages).
    lo_us, hi_us : int
        Inclusive window bounds in microseconds.
    filters : ActivityFilters
        The load's filters (plan, search...), applied to both counts.
    """
    try:
        mine = _activity_count(sub, lo_us, hi_us, filters)
    except PermissionDeniedError as exc:
        raise PermissionDeniedError(
            f"The Webshare API refused X-Subuser {subuser} (403): the sub-user API is not enabled "
            "for this account (accept its terms in the dashboard) or the id is not one of the "
            f"account's sub-users. {exc}",
            status_code=exc.status_code, request_id=None, messages=exc.messages,
        ) from None
    whole = _activity_count(account, lo_us, hi_us, filters)
    if mine != whole or mine == 0:
        return mine
    plan = filters.plan_id
    if _stats_total(sub, lo_us, hi_us, plan) < _stats_total(account, lo_us, hi_us, plan):
        raise APIError(
            f"The Webshare API ignored X-Subuser {subuser} on activity: it returned the whole "
            f"account's {whole} records, while the sub-user's own stats show fewer requests. "
            "Nothing was loaded; this API does not serve per-sub-user activity (load the account's "
            "activity and filter it, e.g. by auth_username).",
            status_code=200,
        )
    return mine
