"""Benchmark: loading 50,000 activity records at the API's speed limit, in one run, one fake server.

The fake Webshare API runs in a separate process (its work stays out of the measured process),
holding *records* records with a page cap of 1,000, answering every request after ``--latency``
seconds (0.25 s, like the real API) and enforcing the documented limit of 240 requests in any
sliding 60 s window (429 + ``Retry-After`` beyond it). Before each timed run the server's window
is emptied (as if a minute had passed), so every run starts with the budget a user has.

Part 1, with latency. Median (and best) of ``--repeat`` runs, taking turns:

1. ``wsframes.load_activity`` with *default settings* (240/min limiter, 8 connections);
2. the official SDK (``webshare-sdk``) iterating pages, rows into a pandas DataFrame;
3. a bare concurrent fetch: the very URLs wsframes asked for, fetched by 8 threads with plain
   ``requests`` sessions and no dependency between pages (bytes only): the floor at 8 connections.

Part 2, no latency (the per-page cost): wsframes defaults vs a bare *sequential* fetch of the
same URLs (median; goal <= 2x) and vs the SDK.

The requests of one load are counted: activity pages against ``ceil(records / page)`` (goal
<= 1.05x) plus the one hourly-stats request that weighs the slices.

Every 429 the server sent is counted and printed (goal: zero).

Peak memory of a default load (8 slices at once) and of a sequential one (``connections=1``) is
measured in fresh child processes: after imports and a warm-up load of the same window (it
starts every worker thread and its allocator arena: a shorter load may slice less), ``echo 5 >
/proc/self/clear_refs`` resets the RSS high-water mark, the load runs, and the peak is
``VmHWM - VmRSS(before)`` from ``/proc/self/status``, compared with the final frame's
``estimated_size()``. Linux only.

``--long``: a load of more pages than the limit allows in a minute (``--long-records``, 300,000
by default), timed once, against the time the limit itself imposes: the last request cannot
start before ``60 s * floor((requests - 1) / 240)``, plus one page's latency.

Run: ``python benchmarks/bench_load.py [--records 50000] [--repeat 3] [--long]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

KEY = "bench-key"
PAGE = 1000
LIMIT = 240
BARE_THREADS = 8


def serve(records: int, latency: float, conn: Connection) -> None:
    """Child process: the fake API. Commands on *conn*: ``("latency", s)``, ``("reset",)``
    (empty the rate window; answers the 429s sent since the last reset), ``("stop",)``."""
    from wsframes.fake import FakeWebshare, generate_activity
    from wsframes.fake.faults import SlidingWindowLimit

    end = datetime.now(UTC).replace(microsecond=0)
    plan = generate_activity(records, start=end - timedelta(days=7), end=end, seed=1)
    with FakeWebshare(KEY, plans={1: plan}, page_cap=PAGE, latency=latency, rate_limit=LIMIT) as fake:
        conn.send((fake.base_url, (end - timedelta(days=7)).isoformat(), end.isoformat()))
        while True:
            command = conn.recv()
            if command[0] == "latency":
                fake.latency = command[1]
                conn.send(None)
            elif command[0] == "reset":
                conn.send(fake.throttled)
                fake.limit = SlidingWindowLimit(LIMIT)
            else:
                return


class Server:
    """The fake API in a child process, driven over a pipe."""

    def __init__(self, records: int, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(records, latency, child), daemon=True)
        self._proc.start()
        self.base_url, self.lo, self.hi = self._conn.recv()
        self.throttled = 0

    def fresh_minute(self) -> None:
        """Empty the server's rate window (and count the 429s of the last run)."""
        self._conn.send(("reset",))
        self.throttled += self._conn.recv()

    def set_latency(self, seconds: float) -> None:
        self._conn.send(("latency", seconds))
        self._conn.recv()

    def stop(self) -> None:
        self.fresh_minute()
        self._conn.send(("stop",))
        self._proc.join(timeout=30)


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (the kernel reports kB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_memory(base_url: str, lo: str, hi: str, connections: int, conn: Connection) -> None:
    """Child process: peak RSS growth of one load vs the frame's in-memory size."""
    from wsframes import load_activity

    settings: dict[str, Any] = {"api_key": KEY, "base_url": base_url, "progress": False,
                                "connections": connections}
    warm = load_activity(lo, hi, **settings)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    df = load_activity(lo, hi, **settings)
    conn.send((_status("VmHWM") - before, df.estimated_size(), warm.height))


def peak_memory(server: Server, connections: int) -> tuple[int, int, int]:
    ctx = mp.get_context("spawn")
    server.fresh_minute()
    parent, child = ctx.Pipe()
    probe = ctx.Process(target=measure_memory,
                        args=(server.base_url, server.lo, server.hi, connections, child))
    probe.start()
    result: tuple[int, int, int] = parent.recv()
    probe.join()
    return result


def timed_runs(server: Server, repeat: int, fns: list[Callable[[], Any]]) -> list[tuple[float, float, Any]]:
    """Median and best wall time of *repeat* calls of each function, taking turns, each in a
    fresh rate window; and the last result."""
    walls: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            server.fresh_minute()
            began = time.perf_counter()
            results[i] = fn()
            walls[i].append(time.perf_counter() - began)
    return [(statistics.median(w), min(w), r) for w, r in zip(walls, results, strict=True)]


def record_urls(server: Server) -> list[str]:
    """The URLs a default wsframes load requests (one instrumented load)."""
    from wsframes.loader import Client

    urls: list[str] = []
    server.fresh_minute()
    with Client(api_key=KEY, base_url=server.base_url, progress=False) as client:
        attempt = client._http._attempt

        def recorded(url: str, *args: Any) -> Any:
            urls.append(url)
            return attempt(url, *args)

        client._http._attempt = recorded  # type: ignore[method-assign]
        client.activity(server.lo, server.hi)
    return urls


def bare_fetch(urls: list[str], threads: int) -> int:
    """Download *urls* with *threads* plain sessions (1: in order); total bytes."""
    import threading

    import requests

    local = threading.local()

    def get(url: str) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return len(local.session.get(url, headers={"Authorization": f"Token {KEY}"}, timeout=30).content)

    if threads == 1:
        return sum(get(u) for u in urls)
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(get, urls))


def sdk_load(server: Server) -> Any:
    import pandas as pd
    from webshare import Webshare

    client = Webshare(api_key=KEY, base_url=server.base_url)
    page: Any = client.proxy_activity.list(timestamp__gte=server.lo, timestamp__lte=server.hi, page_size=PAGE)
    rows: list[dict[str, Any]] = []
    while page is not None:
        rows.extend(vars(record) for record in page.results)
        page = page.next_page()
    client.close()
    return pd.DataFrame(rows)


def run(records: int, repeat: int, latency: float) -> None:
    from wsframes import load_activity

    server = Server(records, latency)
    try:
        def load_default() -> Any:
            return load_activity(server.lo, server.hi, api_key=KEY, base_url=server.base_url, progress=False)

        urls = record_urls(server)
        part1 = timed_runs(server, repeat, [load_default, lambda: sdk_load(server),
                                            lambda: bare_fetch(urls, BARE_THREADS)])
        server.set_latency(0.0)
        part2 = timed_runs(server, max(repeat, 5), [load_default, lambda: bare_fetch(urls, 1),
                                                    lambda: sdk_load(server)])
        memory = [(c, *peak_memory(server, c)) for c in (8, 1)]
    finally:
        server.stop()
    (m_ws, b_ws, df), (m_sdk, b_sdk, pdf), (m_bare, b_bare, _) = part1
    (m0_ws, b0_ws, _), (m0_seq, b0_seq, nbytes), (m0_sdk, b0_sdk, _) = part2
    n = df.height
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    pages = sum("/proxy/activity/" in u for u in urls)
    print(f"records: {n:,}; page cap {PAGE}; server limit {LIMIT} requests in any 60 s; "
          f"{os.cpu_count()} CPUs shared with other work, load average {load}")
    print(f"requests per wsframes load: {pages} activity pages for ceil(records/page) = "
          f"{math.ceil(n / PAGE)}: {pages / math.ceil(n / PAGE):.2f}x (goal <= 1.05x), "
          f"plus {len(urls) - pages} hourly stats")
    print(f"  (SDK+pandas got {len(pdf):,}: its starting_after cursor drops the rest of tie groups "
          "that straddle a page)")
    print(f"part 1: {latency * 1e3:.0f} ms per page; median (best) of {repeat} runs, taking turns")
    for name, med, best in (("wsframes defaults", m_ws, b_ws), ("official SDK + pandas", m_sdk, b_sdk),
                            (f"bare concurrent ({BARE_THREADS} thr)", m_bare, b_bare)):
        print(f"  {name:<28}{med:>8.3f} s ({best:.3f}){med / m_ws:>8.2f}x wsframes")
    print(f"  wsframes is {m_sdk / m_ws:.1f}x faster than SDK+pandas (goal >= 5x) and takes "
          f"{m_ws / m_bare:.2f}x the bare concurrent fetch (goal <= 1.3x)")
    print(f"part 2: no latency; median (best) of {max(repeat, 5)} runs")
    print(f"  wsframes defaults {m0_ws:.3f} s ({b0_ws:.3f}); bare sequential {m0_seq:.3f} s ({b0_seq:.3f}), "
          f"{nbytes / 1e6:.1f} MB of JSON; SDK+pandas {m0_sdk:.3f} s ({b0_sdk:.3f})")
    print(f"  wsframes takes {m0_ws / m0_seq:.2f}x the bare sequential fetch of the same pages "
          f"(goal <= 2x, median) and is {m0_sdk / m0_ws:.1f}x faster than SDK+pandas")
    for connections, peak, frame_size, warm_rows in memory:
        print(f"peak memory, connections={connections} (fresh process, {warm_rows:,}-record warm-up): "
              f"{peak / 1e6:.1f} MB RSS growth vs final frame {frame_size / 1e6:.1f} MB = "
              f"{peak / frame_size:.2f}x")
    print(f"429 responses sent by the server during all runs: {server.throttled} (goal: 0)")


def run_long(records: int, latency: float) -> None:
    from wsframes.loader import Client

    server = Server(records, latency)
    try:
        server.fresh_minute()
        with Client(api_key=KEY, base_url=server.base_url, progress=False) as client:
            began = time.perf_counter()
            df = client.activity(server.lo, server.hi)
            took = time.perf_counter() - began
            sent = client.request_count
    finally:
        server.stop()
    imposed = 60.0 * ((sent - 1) // LIMIT) + latency
    print(f"long load: {df.height:,} records in {sent} requests (limit {LIMIT} per 60 s, "
          f"{latency * 1e3:.0f} ms per page): {took:.1f} s; the limit imposes >= {imposed:.1f} s "
          f"-> {took / imposed:.3f}x (goal <= 1.15x); 429s: {server.throttled} (goal: 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--long", action="store_true", help="also time a load over the per-minute limit")
    parser.add_argument("--long-records", type=int, default=300_000)
    args = parser.parse_args()
    run(args.records, args.repeat, args.latency)
    if args.long:
        run_long(args.long_records, args.latency)


if __name__ == "__main__":
    main()
