"""Shared argument checks: one wording for the same mistake wherever it is made.

Each check raises :class:`~wsframes.errors.ConfigurationError` before any request is sent.

>>> check_int("page_size", 500, low=1)
500
>>> check_plan_id(None) is None
True
"""

from __future__ import annotations

from wsframes.errors import ConfigurationError

__all__ = ["check_int", "check_plan_id", "check_plans", "check_progress", "check_seconds"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None,
              hint: str = "") -> int:
    """*value* if it is an int within ``[low, high]``; bools are refused (``True`` is not 1 here)."""
    if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
        bounds = f" in {low}..{high}" if high is not None else (f" >= {low}" if low is not None else "")
        raise ConfigurationError(f"{name} must be an int{bounds}{hint}, got {value!r}.")
    return value  # type: ignore[return-value]


def check_seconds(name: str, value: object, *, zero_ok: bool = True) -> float:
    """*value* as a float number of seconds (>= 0, or > 0 when *zero_ok* is false)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or value != value or value < 0 or (value == 0 and not zero_ok):  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}.")
    return float(value)  # type: ignore[arg-type]


def check_plan_id(plan_id: object) -> int | None:
    """A plan id: a positive int, or None for the account's default plan.

    The one plan-id rule of loads, pools, archives and reports. Webshare's plan ids are the
    dashboard's ids, which start at 1: 0 names no plan, so it is refused everywhere rather than
    loaded and then refused by the archive or the report.
    """
    if plan_id is not None and (not _is_int(plan_id) or plan_id < 1):  # type: ignore[operator]
        raise ConfigurationError(
            f"plan_id must be a positive integer (the plan's id in the Webshare dashboard) or None "
            f"for the account's default plan, got {plan_id!r}."
        )
    return plan_id  # type: ignore[return-value]


def check_plans(plan_id: object) -> int | list[int] | None:
    """*plan_id* checked: one plan id (or None), or the list of the distinct ids a list or tuple names.

    >>> check_plans((2, 1)), check_plans(3)
    ([2, 1], 3)
    """
    if not isinstance(plan_id, list | tuple):
        return check_plan_id(plan_id)
    if not plan_id or any(check_plan_id(p) is None for p in plan_id) or len(set(plan_id)) != len(plan_id):
        raise ConfigurationError(f"plan_id must list distinct plan ids, got {plan_id!r}.")
    return list(plan_id)


def check_progress(progress: object) -> bool | None:
    """A ``progress=`` argument: True, False or None (automatic)."""
    if progress is not None and not isinstance(progress, bool):
        raise ConfigurationError(f"progress must be True, False or None (auto), got {progress!r}.")
    return progress
