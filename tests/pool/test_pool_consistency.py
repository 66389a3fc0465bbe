"""The fake's stats agree with its pool, and a list that changes while paged is never returned."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import polars as pl
import pytest

from wsframes import IncompleteDataError, enrich
from wsframes.fake import FakeWebshare
from wsframes.pool import load_proxies

from .conftest import NOW


def test_stats_countries_match_the_enriched_activity(
    fake: FakeWebshare, proxies: pl.DataFrame, replaced: pl.DataFrame
) -> None:
    query = urllib.parse.urlencode({"timestamp__gte": (NOW - timedelta(days=8)).isoformat(),
                                    "timestamp__lte": NOW.isoformat()})
    request = urllib.request.Request(f"{fake.base_url}/api/v2/stats/aggregate/?{query}",
                                     headers={"Authorization": "Token pool-key"})
    with urllib.request.urlopen(request) as response:
        served = json.loads(response.read())["countries_used"]
    enriched = enrich(fake.truth(), proxies, replaced)
    # Every row went through a proxy of the pool (listen_address), failed before it or not.
    by_listen = enrich(fake.truth().with_columns(pl.col("listen_address").alias("proxy_address")),
                       proxies, replaced)
    counts = dict(by_listen.group_by("proxy_country").len().iter_rows())
    assert served == {str(k): v for k, v in counts.items()}
    assert set(served) == set(enriched["proxy_country"].drop_nulls())


class _Shifting(BaseHTTPRequestHandler):
    """A proxy list whose count grows between page 1 and page 2 (a replacement landing)."""

    def do_GET(self) -> None:
        page = int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)).get("page", 1))
        rows: list[dict[str, Any]] = [
            {"id": f"d-{page}", "proxy_address": f"10.0.0.{page}", "password": "pw"}]
        body = json.dumps({"count": 2 + page, "next": "more" if page < 3 else None, "previous": None,
                           "results": rows}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def shifting() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shifting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_list_changing_while_paged_raises(shifting: str) -> None:
    with pytest.raises(IncompleteDataError, match="changed while it was paged") as info:
        load_proxies(api_key="k", base_url=shifting, page_size=1, requests_per_minute=None)
    assert "pw" not in str(info.value)
