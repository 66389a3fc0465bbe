"""Client-side rate limits that match the documented ones exactly: a sliding 60 s window.

Webshare documents N requests per minute per endpoint group without saying whether the window is
fixed or sliding. A client that never starts more than N requests in *any* 60-second span is
safe under both readings, and lets a short load go at network speed (no token-bucket trickle).

:class:`SlidingWindowLimiter` remembers the start times of the last N requests and makes a
caller wait until the oldest of them leaves the window. One limiter is shared by every thread of
a client. After a 429 every thread waits out ``Retry-After`` (:meth:`~SlidingWindowLimiter.pause`)
and the limit is lowered by a tenth (down to half), so a server counting differently stops
being provoked.

:class:`RateLimits` holds one limiter per endpoint group. An endpoint module picks its group per
request: ``http.get(path, params, decode=..., group="proxy_list")``.

The window is a little longer than 60 s (``margin``): a request's start here and its arrival at
the server differ by the network delay, which varies from request to request.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from wsframes.errors import ConfigurationError

__all__ = ["GENERAL", "RateLimits", "SlidingWindowLimiter"]

#: The endpoint group of activity, stats, download tokens...: ``Config.requests_per_minute``.
GENERAL = "general"


class SlidingWindowLimiter:
    """At most *limit* request starts in any *window* seconds (thread-safe).

    Parameters
    ----------
    limit : int
        Requests per window.
    window : float
        Seconds (60 for the documented per-minute limits).
    margin : float
        Seconds added to the window: slack for network jitter between client and server.
    clock, sleep : callable
        Time source and sleeper; tests inject a fake clock.
    """

    def __init__(self, limit: int, *, window: float = 60.0, margin: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(f"a rate limit must be a positive int, got {limit!r}.")
        self.limit = self.configured = limit
        self.span = window + margin
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds callers spent waiting here, for logs and benchmarks

    def acquire(self) -> None:
        """Block until a request may start, then count it as started."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.span:
                    self._starts.popleft()
                delay = self._paused_until - now
                if delay <= 0 and len(self._starts) >= self.limit:
                    # Wait for the oldest start that must leave for one more to fit.
                    delay = self._starts[len(self._starts) - self.limit] + self.span - now
                if delay <= 0:
                    self._starts.append(now)
                    return
            self.waited += delay
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """A 429: hold every caller for *seconds* from now and lower the limit by a tenth.

        The limit never drops below half the configured one: a storm of 429s from a server in
        trouble must not leave a long-lived client crawling for the rest of its life.
        """
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            floor = max(1, math.ceil(self.configured / 2))
            self.limit = max(floor, self.limit - max(1, self.configured // 10))


class RateLimits:
    """One :class:`SlidingWindowLimiter` per endpoint group; ``general_per_minute=None`` disables all.

    >>> limits = RateLimits(240, {"proxy_list": 60})
    >>> limits.for_group("proxy_list").limit, limits.for_group("general").limit
    (60, 240)
    """

    def __init__(self, general_per_minute: int | None, others: Mapping[str, int] | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.enabled = general_per_minute is not None
        per_group = {GENERAL: general_per_minute or 1, **(others or {})}
        self._limiters = {g: SlidingWindowLimiter(n, clock=clock, sleep=sleep) for g, n in per_group.items()}

    def for_group(self, group: str) -> SlidingWindowLimiter:
        """The limiter of *group* (an unknown group is a programming error)."""
        try:
            return self._limiters[group]
        except KeyError:
            raise ConfigurationError(
                f"no rate limit for endpoint group {group!r}; known: {', '.join(self._limiters)} "
                "(add it to Config.rate_limits)."
            ) from None

    def acquire(self, group: str) -> None:
        """Wait for a slot in *group*'s window (no-op when limits are off)."""
        limiter = self.for_group(group)
        if self.enabled:
            limiter.acquire()

    def pause(self, group: str, seconds: float) -> None:
        """Hold every request of *group* for *seconds* (after a 429)."""
        if self.enabled:
            self.for_group(group).pause(seconds)
