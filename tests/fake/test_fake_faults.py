"""Faults: each kind behaves as configured, reproducibly, without changing the data served."""

from __future__ import annotations

import http.client
import socket
from datetime import datetime
from urllib.parse import urlsplit

import polars as pl
import pytest
import requests

from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare, Faults

PATH = "/api/v2/proxy/activity/?page_size=100"


def test_schedule_faults_exactly_the_listed_requests(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    faults = Faults(schedule={1: "429", 2: "502", 3: "503", 5: "slow"}, retry_after=1,
                    slow_seconds=0.01)
    with FakeWebshare(api_key, plans={1: plan2}, faults=faults, now=now) as fake:
        got = [session.get(fake.base_url + PATH, timeout=10) for _ in range(6)]
        kinds = [r.fault for r in fake.requests]
    assert [r.status_code for r in got] == [429, 502, 503, 200, 200, 200]
    assert got[0].headers["Retry-After"] == "1"
    assert got[0].json()["detail"].startswith("Request was throttled")
    assert got[1].headers["Content-Type"] == "text/html" and b"<h1>502" in got[1].content
    assert got[2].json() == {"detail": "Service temporarily unavailable, try again later."}
    assert all(r.headers["X-Request-ID"] for r in got)
    assert kinds == ["429", "502", "503", None, "slow", None]
    # A faulted request changes nothing: the retried and the slow answers are the clean one.
    assert got[3].json() == got[4].json() == got[5].json()
    assert fake.request_count == 6


def test_truncated_body_is_shorter_than_its_content_length_then_closes(
    plan2: pl.DataFrame, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan2}, faults=Faults(schedule={1: "truncate"}),
                      now=now) as fake:
        host = urlsplit(fake.base_url)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        conn.request("GET", PATH, headers={"Authorization": f"Token {api_key}"})
        resp = conn.getresponse()
        assert resp.status == 200
        declared = int(resp.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as cut:
            resp.read()
        assert 0 < len(cut.value.partial) < declared
        conn.close()
        # The retry is served whole.
        with requests.Session() as s:
            again = s.get(fake.base_url + PATH, headers={"Authorization": f"Token {api_key}"},
                          timeout=10)
        assert len(again.content) == declared and again.json()["count"] == plan2.height


def test_requests_sees_a_cut_body_as_an_error(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan2}, faults=Faults(schedule={1: "truncate"}),
                      now=now) as fake, pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(fake.base_url + PATH, timeout=10)


def test_rate_mode_is_reproducible_and_roughly_the_rate() -> None:
    a = Faults(rate=0.3, seed=4).kinds_for(range(1, 2001))
    assert a == Faults(rate=0.3, seed=4).kinds_for(range(1, 2001))
    assert a != Faults(rate=0.3, seed=5).kinds_for(range(1, 2001))
    share = sum(k is not None for k in a) / len(a)
    assert 0.25 < share < 0.35
    assert {k for k in a if k} == {"429", "502", "503", "truncate", "slow"}
    only = Faults(rate=1.0, kinds=("503",)).kinds_for(range(1, 50))
    assert set(only) == {"503"}


def test_faults_only_touch_the_activity_list(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan2}, faults=Faults(rate=1.0, kinds=("503",)),
                      now=now) as fake:
        assert session.get(fake.base_url + "/api/v2/stats/aggregate/", timeout=10).ok
        assert session.get(fake.base_url + PATH, timeout=10).status_code == 503


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": 1.5}, {"kinds": ("404",)}, {"schedule": {1: "boom"}}, {"retry_after": -1}],
)
def test_bad_fault_settings_raise_a_configuration_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Faults(**kwargs)  # type: ignore[arg-type]


def test_server_closes_cleanly_with_open_keep_alive_connections(
    plan2: pl.DataFrame, api_key: str
) -> None:
    fake = FakeWebshare(api_key, plans={1: plan2}).start()
    host = urlsplit(fake.base_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request("GET", "/nothing/")
    assert conn.getresponse().read() == b'{"detail": "Not found."}'
    assert conn.sock is not None  # HTTP/1.1: the connection stays open
    sock: socket.socket = conn.sock
    fake.close()
    assert sock.recv(1) == b""  # the idle connection was shut down, not left hanging
    conn.close()


def test_rate_limit_is_a_sliding_window_answering_429_with_retry_after(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan2}, now=now, rate_limit=3) as fake:
        got = [session.get(fake.base_url + PATH, timeout=10) for _ in range(5)]
        stats = session.get(fake.base_url + "/api/v2/stats/", timeout=10)  # same general limit
        assert fake.throttled == 3
    assert [r.status_code for r in got] == [200, 200, 200, 429, 429]
    assert stats.status_code == 429
    assert 55 <= int(got[3].headers["Retry-After"]) <= 60  # until the oldest leaves the window
    assert got[3].json()["detail"].startswith("Request was throttled")


def test_sliding_window_admits_again_as_the_oldest_request_leaves() -> None:
    from wsframes.fake.faults import SlidingWindowLimit

    gate = SlidingWindowLimit(2, window=60.0)
    assert [gate.admit(t) for t in (0.0, 30.0)] == [None, None]
    assert gate.admit(59.0) == pytest.approx(1.0)  # refused; not counted
    assert gate.admit(60.0) is None  # the request at 0 s has left the window
    assert gate.admit(61.0) == pytest.approx(29.0)
    with pytest.raises(ConfigurationError, match="rate_limit"):
        SlidingWindowLimit(0)


def test_latency_delays_every_answer(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan2}, now=now, latency=0.2) as fake:
        got = session.get(fake.base_url + PATH, timeout=10)
    assert got.status_code == 200
    assert got.elapsed.total_seconds() >= 0.2
    with pytest.raises(ConfigurationError, match="latency"):
        FakeWebshare(api_key, plans={1: plan2}, latency=-1)
