"""Benchmark: the fake Webshare API's own costs, each against a same-run baseline.

1. Generation: ``generate_activity(1_000_000)`` against building a frame of the same shape from
   18 plain random NumPy columns (the floor of materialising that many rows).
2. Serving: paging 50,000 records at page size 1,000 (bytes only, one keep-alive session)
   from ``FakeWebshare`` against a bare stdlib ``ThreadingHTTPServer`` that answers every
   request with one fixed body of the same size (the floor for a stdlib HTTP server).
3. A filtered query (``error_reason=*``, which scans) against the unfiltered first page.

Run: ``python benchmarks/bench_fake.py [--records 50000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import polars as pl
import requests

from wsframes.fake import FakeWebshare, generate_activity

KEY = "bench-key"
PAGE = 1000


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def plain_frame(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({f"c{i}": rng.random(n) for i in range(18)})


def page_through(session: requests.Session, first: str) -> tuple[int, int]:
    url: str | None = first
    pages = size = 0
    while url:
        body = session.get(url, timeout=30).json()
        size += len(body["results"])
        pages += 1
        url = body["next"]
    return pages, size


def static_server(body: bytes) -> ThreadingHTTPServer:
    class Static(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Static)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    gen = best(lambda: generate_activity(1_000_000, seed=1), args.repeat)
    base = best(lambda: plain_frame(1_000_000), args.repeat)
    print(
        f"generate 1,000,000 rows: {gen:.2f} s ({1e6 / gen:,.0f} rows/s); "
        f"plain 18-column frame: {base:.2f} s; ratio {gen / base:.1f}x"
    )

    end = datetime.now(UTC).replace(microsecond=0)
    plan = generate_activity(args.records, start=end - timedelta(days=7), end=end, seed=1)
    t0 = time.perf_counter()
    with FakeWebshare(KEY, plans={1: plan}, page_cap=PAGE) as fake, requests.Session() as s:
        startup = time.perf_counter() - t0
        s.headers["Authorization"] = f"Token {KEY}"
        first = f"{fake.base_url}/api/v2/proxy/activity/?page_size={PAGE}"
        pages, rows = page_through(s, first)
        fake_t = best(lambda: page_through(s, first), args.repeat)
        body = s.get(first, timeout=30).content
        scan = best(lambda: s.get(first + "&error_reason=*", timeout=30).content, args.repeat)
        plain = best(lambda: s.get(first, timeout=30).content, args.repeat)
    server = static_server(body)
    with requests.Session() as s:
        url = f"http://127.0.0.1:{server.server_address[1]}/"

        def static_pages() -> None:
            for _ in range(pages):
                s.get(url, timeout=30).json()

        static_t = best(static_pages, args.repeat)
    server.shutdown()
    server.server_close()
    print(f"fake server start-up with {args.records:,} records (render once): {startup:.2f} s")
    print(
        f"page through {rows:,} records in {pages} pages: fake {fake_t:.3f} s "
        f"({rows / fake_t:,.0f} rows/s); static stdlib server, same bytes: {static_t:.3f} s; "
        f"ratio {fake_t / static_t:.2f}x"
    )
    print(
        f"filtered page (error_reason=*, scans): {scan * 1000:.1f} ms; unfiltered page: "
        f"{plain * 1000:.1f} ms; ratio {scan / plain:.1f}x"
    )


if __name__ == "__main__":
    main()
