"""Shared argument checks: one wording for the same mistake wherever it is made.

Each check raises :class:`~wsframes.errors.ConfigurationError` before any request is sent.

>>> check_int("page_size", 500, low=1)
500
>>> check_plan_id(None) is None
True
"""

from __future__ import annotations

from wsframes.errors import ConfigurationError

__all__ = ["check_int", "check_plan_id", "check_progress", "check_seconds"]


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
    """A plan id: a non-negative int, or None for the account's default plan."""
    if plan_id is not None and (not _is_int(plan_id) or plan_id < 0):  # type: ignore[operator]
        raise ConfigurationError(f"plan_id must be a non-negative int, got {plan_id!r}.")
    return plan_id  # type: ignore[return-value]


def check_progress(progress: object) -> bool | None:
    """A ``progress=`` argument: True, False or None (automatic)."""
    if progress is not None and not isinstance(progress, bool):
        raise ConfigurationError(f"progress must be True, False or None (auto), got {progress!r}.")
    return progress
