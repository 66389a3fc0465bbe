"""The client's rate limits: an exact sliding window on a fake clock, shared by threads; 429 pauses."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import KEY, make_client
from wsframes.api.limiter import RateLimits, SlidingWindowLimiter
from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.fake.faults import Faults


class FakeClock:
    """A clock that only moves when someone sleeps (thread-safe, never backwards)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()
        self.local = threading.local()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def max_in_any_window(starts: list[float], span: float) -> int:
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - span:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_never_more_than_n_starts_in_any_window_and_no_needless_wait():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, window=60.0, margin=0.0, clock=clock.time, sleep=clock.sleep)
    starts = []
    for _ in range(23):
        limiter.acquire()
        starts.append(clock.time())
    assert max_in_any_window(starts, 60.0) == 5
    # Each batch of five goes at once, exactly when the window lets it: a sliding window, not a bucket.
    assert [s - 1000.0 for s in starts] == [60.0 * (k // 5) for k in range(23)]


def test_threads_share_one_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(7, window=60.0, margin=0.5, clock=clock.time, sleep=clock.sleep)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(12):
            limiter.acquire()
            with lock:
                starts.append(clock.time())

    with ThreadPoolExecutor(6) as pool:
        for f in [pool.submit(worker) for _ in range(6)]:
            f.result()
    assert len(starts) == 72
    assert max_in_any_window(starts, 60.5) <= 7


def test_a_429_pauses_every_caller_and_lowers_the_limit():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(240, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(60.0)  # another thread got a 429 without Retry-After
    limiter.acquire()
    assert clock.time() == pytest.approx(1060.0)
    assert limiter.limit == 216


def test_groups_have_their_own_limits_and_unknown_groups_are_refused():
    limits = RateLimits(240, {"proxy_list": 60, "download_links": 30})
    assert [limits.for_group(g).limit for g in ("general", "proxy_list", "download_links")] == [240, 60, 30]
    with pytest.raises(ConfigurationError, match="no rate limit for endpoint group 'pricing'"):
        limits.acquire("pricing")
    with pytest.raises(ConfigurationError, match="positive int"):
        SlidingWindowLimiter(0)


def test_a_load_over_the_server_limit_waits_instead_of_provoking_429s():
    """A real server limiting to 6 requests a minute; the client told the same never gets a 429.

    The window is shortened on both sides so the test takes a second, not minutes.
    """
    from tests.api.conftest import hours_ago
    from wsframes.fake.faults import SlidingWindowLimit

    lo, hi = hours_ago(5), hours_ago(1)
    plan = generate_activity(900, start=lo, end=hi, seed=4)
    with FakeWebshare(KEY, plans={1: plan}, rate_limit=6) as fake, make_client(
            fake, requests_per_minute=6, page_size=100, connections=4) as client:
        fake.limit = SlidingWindowLimit(6, window=0.4)
        for limiter in client._http.limits._limiters.values():
            limiter.span = 0.6  # longer than the server's window: slack for arrival jitter, as in real use
        df = client.activity(lo, hi)
    assert df.height == 900
    assert fake.throttled == 0
    assert client.request_count > 6  # it did have to wait for the window


def test_a_429_storm_across_concurrent_slices_stays_exact():
    from tests.api.conftest import canonical, hours_ago

    lo, hi = hours_ago(10), hours_ago(2)
    plan = generate_activity(4_000, start=lo, end=hi, seed=12)
    faults = Faults(rate=0.4, kinds=("429",), seed=3, retry_after=0)
    with FakeWebshare(KEY, plans={1: plan}, faults=faults) as fake, make_client(
            fake, page_size=250, connections=6, max_retries=12, requests_per_minute=240) as client:
        df = client.activity(lo, hi)
        paused_limit = client._http.limits.for_group("general").limit
    assert sum(r.status == 429 for r in fake.requests) > 10
    assert canonical(df).equals(canonical(plan))
    assert df["timestamp"].is_sorted()
    assert paused_limit < 240  # every 429 made the shared limiter back off
