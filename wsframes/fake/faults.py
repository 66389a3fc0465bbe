"""Reproducible misbehaviour of the fake server, and its rate limit.

A fault never changes the data: a retried request gets exactly what it would have got.

>>> Faults(schedule={1: "429", 3: "truncate"}).kind_for(3)
'truncate'
>>> Faults(rate=0.5, seed=1).kinds_for(range(1, 9)) == Faults(rate=0.5, seed=1).kinds_for(range(1, 9))
True
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wsframes.errors import ConfigurationError

__all__ = ["FAULT_KINDS", "Faults", "SlidingWindowLimit"]

#: What a faulted request gets: ``429`` (with ``Retry-After``), ``502`` (HTML body), ``503``
#: (JSON body), ``truncate`` (a 200 whose body is cut short before the connection closes),
#: ``slow`` (a correct answer after ``slow_seconds``).
FAULT_KINDS = ("429", "502", "503", "truncate", "slow")


@dataclass(frozen=True, slots=True)
class Faults:
    """How the fake server misbehaves on activity-list requests.

    Parameters
    ----------
    rate : float
        Probability that a request is faulted (used when *schedule* is None).
    kinds : tuple of str
        Kinds drawn from, uniformly, in rate mode (see :data:`FAULT_KINDS`).
    schedule : mapping of int to str, optional
        Explicit faults: 1-based activity-request number -> kind. Overrides *rate*.
    seed : int
        Seed of the rate mode: the n-th request's fate depends only on ``(seed, n)``.
    retry_after : int
        Seconds sent in the ``Retry-After`` header of a 429.
    slow_seconds : float
        Delay of a ``slow`` response.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    schedule: Mapping[int, str] | None = field(default=None)
    seed: int = 0
    retry_after: int = 0
    slow_seconds: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ConfigurationError(f"Faults(rate={self.rate}) must be between 0 and 1.")
        used = set(self.kinds) | set((self.schedule or {}).values())
        unknown = sorted(used - set(FAULT_KINDS))
        if unknown:
            raise ConfigurationError(
                f"unknown fault kind(s) {unknown}; choose from {list(FAULT_KINDS)}."
            )
        if self.retry_after < 0 or self.slow_seconds < 0:
            raise ConfigurationError("Faults retry_after and slow_seconds must be >= 0.")

    def kind_for(self, request_number: int) -> str | None:
        """The fault of the *request_number*-th activity request (1-based), or None."""
        if self.schedule is not None:
            return self.schedule.get(request_number)
        if self.rate <= 0 or not self.kinds:
            return None
        rng = random.Random(self.seed * 1_000_003 + request_number)
        if rng.random() >= self.rate:
            return None
        return self.kinds[rng.randrange(len(self.kinds))]

    def kinds_for(self, numbers: Iterable[int]) -> list[str | None]:
        """:meth:`kind_for` of several request numbers."""
        return [self.kind_for(k) for k in numbers]


class SlidingWindowLimit:
    """The server side of a documented rate limit: at most *limit* requests in any *window* s.

    Requests over the limit are refused (and not counted), as an API gateway does; the answer
    says how long until the oldest counted request leaves the window.

    >>> gate = SlidingWindowLimit(2, window=60.0)
    >>> gate.admit(0.0), gate.admit(1.0), gate.admit(2.0), gate.admit(60.5)
    (None, None, 58.0, None)
    """

    def __init__(self, limit: int, *, window: float = 60.0) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1 or window <= 0:
            raise ConfigurationError(f"rate_limit must be a positive int, got {limit!r}.")
        self.limit, self.window = limit, window
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.refused = 0

    def admit(self, now: float) -> float | None:
        """``None`` if a request arriving at *now* is within the limit, else seconds to wait."""
        with self._lock:
            while self._starts and self._starts[0] <= now - self.window:
                self._starts.popleft()
            if len(self._starts) < self.limit:
                self._starts.append(now)
                return None
            self.refused += 1
            return self._starts[0] + self.window - now
