"""Parsing and validating query strings the way the Webshare API does, with its error shapes.

Field errors use the live API's shape, ``{"field": [{"message": ..., "code": ...}]}``, except an
unknown ``plan_id``, which uses the documented shape ``{"plan_id": ["..."]}``: clients must
accept both. ``page_size`` follows Django REST framework: an unparsable or non-positive value
silently falls back to the default (25) and a large one is capped.

The 90-day floor allows :data:`FLOOR_GRACE` of clock skew: a ``timestamp__gte`` up to five
minutes older than ``now - 90 days`` is accepted (and clamped to the floor).

>>> parse_time("2026-11-01T01:30:00.000001-07:00", "timestamp__gte")
1793521800000001
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from wsframes.fake.store import VERIFICATION_CATEGORIES, Query
from wsframes.timeutil import retention_floor

__all__ = ["FLOOR_GRACE", "FieldError", "parse_activity_query", "parse_time"]

#: How much older than ``now - 90 days`` a ``timestamp__gte`` may be (clock skew).
FLOOR_GRACE = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FieldError(Exception):
    """A 400 answer: *body* is the JSON-ready error object."""

    def __init__(self, body: dict[str, object]) -> None:
        super().__init__(body)
        self.body = body

    @classmethod
    def live(cls, field: str, message: str, code: str = "invalid") -> FieldError:
        """The live API's shape: a list of message/code objects."""
        return cls({field: [{"message": message, "code": code}]})

    @classmethod
    def documented(cls, field: str, message: str) -> FieldError:
        """The documentation's shape: a list of strings."""
        return cls({field: [message]})


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """The aware UTC datetime of epoch microseconds."""
    return _EPOCH + timedelta(microseconds=us)


def parse_time(text: str, field: str) -> int:
    """An ISO-8601 instant as epoch microseconds; naive times are UTC (Django with UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FieldError.live(field, "Enter a valid date/time.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return to_us(value)


def _int(params: Mapping[str, str], field: str) -> int | None:
    text = params.get(field)
    if text is None or text == "":
        return None
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise FieldError.live(field, "Enter a number.") from None


def time_bounds(params: Mapping[str, str], now: datetime) -> tuple[int, int | None]:
    """``timestamp__gte`` (defaulting to the 90-day floor) and ``timestamp__lte``."""
    floor = to_us(retention_floor(now))
    gte_text = params.get("timestamp__gte")
    gte = floor if not gte_text else parse_time(gte_text, "timestamp__gte")
    if gte < floor - FLOOR_GRACE // timedelta(microseconds=1):
        raise FieldError.live(
            "timestamp__gte",
            "Ensure this value is not older than 90 days.",
            "min_value",
        )
    lte_text = params.get("timestamp__lte")
    lte = parse_time(lte_text, "timestamp__lte") if lte_text else None
    return max(gte, floor), lte


def page_size(params: Mapping[str, str], cap: int, default: int = 25) -> int:
    """DRF semantics: bad or non-positive values fall back to *default*; capped at *cap*."""
    try:
        size = int(params.get("page_size", ""))
    except ValueError:
        return min(default, cap)
    return min(size if size > 0 else default, cap)


def parse_activity_query(params: Mapping[str, str], now: datetime) -> Query:
    """Validate the filters of an activity list or download request."""
    gte, lte = time_bounds(params, now)
    after_text = params.get("starting_after")
    after = parse_time(after_text, "starting_after") if after_text else None
    category = params.get("verification_category") or None
    if category is not None and category not in VERIFICATION_CATEGORIES:
        raise FieldError.live(
            "verification_category",
            f"Select a valid choice. {category} is not one of the available choices.",
            "invalid_choice",
        )
    return Query(
        gte=gte,
        lte=lte,
        starting_after=after,
        search=params.get("search") or None,
        error_reason=params.get("error_reason") or None,
        bytes_gte=_int(params, "bytes__gte"),
        bytes_lte=_int(params, "bytes__lte"),
        verification_category=category,
    )


def plan_id(params: Mapping[str, str], known: Mapping[int, object], default: int) -> int:
    """The requested plan, or the account default; unknown plans get the documented shape."""
    text = params.get("plan_id")
    if not text:
        return default
    try:
        plan = int(text)
    except ValueError:
        plan = -1
    if plan not in known:
        raise FieldError.documented(
            "plan_id", "Select a valid choice. That choice is not one of the available choices."
        )
    return plan
