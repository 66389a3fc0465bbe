"""Retries, backoff, Retry-After, pacing and cut or invalid bodies."""

from __future__ import annotations

import json
import logging

import pytest

from tests.api.conftest import KEY, canned_client, in_window, make_client
from wsframes.api.client import HttpClient
from wsframes.api.config import redact_url
from wsframes.errors import IncompleteDataError, RateLimitError, ServerError, TransportError
from wsframes.fake import FakeWebshare, Faults, generate_activity
from wsframes.schema import ACTIVITY_SCHEMA


@pytest.fixture(scope="module")
def plan(window):
    lo, hi = window
    return generate_activity(2_500, start=lo, end=hi, seed=21)


@pytest.mark.parametrize("kind", ["429", "502", "503", "truncate", "slow"])
def test_each_fault_is_retried_and_the_load_stays_exact(plan, window, kind):
    lo, hi = window
    faults = Faults(schedule={1: kind, 3: kind, 4: kind}, slow_seconds=1.0)
    timeout = 0.3 if kind == "slow" else 10.0  # only the slow fault should ever time out
    with FakeWebshare(KEY, plans={1: plan}, faults=faults) as fake, make_client(
        fake, page_size=1000, timeout=timeout
    ) as client:
        df = client.activity(lo, hi)
        assert df.equals(in_window(fake.truth(), lo, hi))
        assert fake.request_count == 3 + 3  # three pages plus one retry per fault
        stats = sum(r.path == "/api/v2/stats/" for r in fake.requests)  # sent beside the first page
        assert client.request_count == fake.request_count + stats


def test_random_faults_of_every_kind_still_give_an_exact_load(plan, window):
    lo, hi = window
    faults = Faults(rate=0.4, seed=3, slow_seconds=0.5)
    with FakeWebshare(KEY, plans={1: plan}, faults=faults) as fake, make_client(
        fake, page_size=200, timeout=0.2, max_retries=8
    ) as client:
        df = client.activity(lo, hi)
        assert df.equals(in_window(fake.truth(), lo, hi))
        assert fake.request_count > 14  # faults were met and retried


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("429", RateLimitError, "requests_per_minute"),
        ("503", ServerError, "503"),
        ("502", ServerError, "502"),
        ("truncate", TransportError, "while fetching"),
        ("slow", TransportError, "Timeout"),
    ],
)
def test_persistent_faults_raise_after_a_bounded_number_of_attempts(plan, window, kind, error, match):
    lo, hi = window
    faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=0.5)
    timeout = 0.1 if kind == "slow" else 10.0
    with FakeWebshare(KEY, plans={1: plan}, faults=faults) as fake, make_client(
        fake, max_retries=3, timeout=timeout
    ) as client:
        with pytest.raises(error, match=match) as info:
            client.activity(lo, hi)
        assert fake.request_count == 4  # first attempt + 3 retries, then give up
    assert KEY not in str(info.value)
    if kind in ("429", "503", "502"):
        assert info.value.request_id  # type: ignore[attr-defined]


def test_invalid_json_and_a_wrong_envelope_are_retried(canned):
    good = {"count": 0, "next": None, "previous": None, "results": []}
    canned.answers = [(200, b'{"count": 3, "results": [{"timest'), (200, b"<html>oops</html>"),
                      (200, {"count": "many"}), (200, good)]
    with canned_client(canned, max_retries=3) as client:
        df = client.activity("2h")
    assert df.height == 0 and canned.hits == 4


def test_invalid_bodies_give_up_with_a_transport_error(canned):
    canned.answers = [(200, b"not json")]
    with canned_client(canned, max_retries=2) as client, pytest.raises(TransportError, match="Invalid"):
        client.activity("2h")
    assert canned.hits == 3


def test_client_errors_are_not_retried(canned):
    canned.answers = [(404, {"detail": "Not found."})]
    with canned_client(canned, max_retries=5) as client, pytest.raises(Exception, match="Not found"):
        client.activity("2h")
    assert canned.hits == 1


def test_retry_after_is_honoured_and_capped():
    http = HttpClient(api_key=KEY, base_url="http://127.0.0.1:1", backoff=0.1, max_backoff=1.0,
                      max_retry_after=60.0)
    assert http._delay(1, retry_after=7.0) == 7.0
    assert http._delay(1, retry_after=600.0) == 60.0
    assert 0.05 <= http._delay(1, retry_after=None) <= 0.1
    assert all(0.5 <= http._delay(9, None) <= 1.0 for _ in range(50))  # exponential, then capped


def test_download_token_never_reaches_logs_or_errors(fake, window, caplog):
    caplog.set_level(logging.DEBUG)
    lo, hi = window
    with make_client(fake) as client:
        csv = client.download_csv(lo, hi)
    token = str(fake.download_token["key"])
    assert csv.height == in_window(fake.truth(), lo, hi).height
    assert "download_token=%2A%2A%2A" in caplog.text
    assert token not in caplog.text and KEY not in caplog.text
    assert token not in redact_url(f"http://x/?a=1&download_token={token}")


def _record(ts: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "timestamp": ts, "protocol": "http", "request_duration": 0.5, "handshake_duration": 0.25,
        "tunnel_duration": None, "error_reason": None, "error_reason_how_to_fix": None,
        "auth_username": None, "proxy_address": "192.0.2.1", "bytes": 1024.0, "client_address": "::1",
        "ip_address": None, "hostname": "example.com", "domain": "example.com", "port": 443.0,
        "proxy_port": None, "listen_address": "198.51.100.7", "listen_port": 80,
    }
    return {**base, **extra}


@pytest.mark.parametrize(
    "render",
    [
        lambda env: json.dumps(env, indent=2).encode(),  # pretty, with spaces
        lambda env: json.dumps({"results": env["results"], "count": env["count"]}).encode(),  # results first
        lambda env: json.dumps(env, separators=(",", ":")).encode(),  # the usual compact form
    ],
)
def test_unusual_renderings_and_nested_timestamps_load_the_same(canned, render):
    stamps = ["2026-11-25T10:00:02.000001-08:00", "2026-11-25T18:00:01Z", "2026-11-25T23:30:01+05:30",
              "2026-11-25T10:00:01-08:00"]
    records = [_record(ts) for ts in stamps]
    records[1]["future_field"] = {"timestamp": "1999-01-01T00:00:00+00:00", "n": [1, 2]}  # must not confuse
    # Nor a list of such objects: compactly rendered, it holds what looks like a record boundary.
    records[2]["future_list"] = [{"timestamp": "1999-01-01T00:00:00Z"}, {"timestamp": "1998-01-01T00:00:00Z"}]
    canned.answers = [(200, render({"count": 4, "next": None, "previous": None, "results": records}))]
    with canned_client(canned) as client:
        df = client.activity("2026-11-25T17:00:00Z", "2026-11-25T19:00:00Z")
    assert df["timestamp"].dt.to_string("%H:%M:%S%.6f").to_list() == [
        "18:00:01.000000", "18:00:01.000000", "18:00:01.000000", "18:00:02.000001"]
    assert df["bytes"].to_list() == [1024] * 4 and df.schema == ACTIVITY_SCHEMA


def test_a_page_whose_records_contradict_its_envelope_raises(canned):
    pair = [_record("2026-11-25T18:00:02+00:00"), _record("2026-11-25T18:00:01+00:00")]
    envelope = {"count": 2, "next": None, "previous": None, "results": pair}
    good = json.dumps(envelope, separators=(",", ":")).encode()
    # Same envelope, but one record's port is not an integer: the scan passes, the parse refuses.
    canned.answers = [(200, good.replace(b'"port":443.0', b'"port":443.5', 1))]
    with canned_client(canned, max_retries=0) as client, pytest.raises(TransportError, match="Invalid"):
        client.activity("2026-11-25T17:00:00Z", "2026-11-25T19:00:00Z")
    # Out of order records: the cursor was told otherwise by the scan, so nothing is returned.
    canned.answers = [(200, good.replace(b"18:00:02", b"18:00:00", 1))]
    with canned_client(canned, max_retries=0) as client, pytest.raises(IncompleteDataError):
        client.activity("2026-11-25T17:00:00Z", "2026-11-25T19:00:00Z")


def test_a_refused_download_token_is_not_blamed_on_the_api_key(fake, window):
    """The CSV download authenticates by its token alone: a 401 there says so."""
    from wsframes.api.activity import window_params
    from wsframes.api.download import download_activity_csv
    from wsframes.errors import AuthenticationError

    lo, hi = window
    with make_client(fake) as client:
        params = dict(window_params(int(lo.timestamp() * 1e6), int(hi.timestamp() * 1e6)))
        with pytest.raises(AuthenticationError, match="download token") as info:
            download_activity_csv(client._http, "expired-token-123", params)
    assert "WEBSHARE_API_KEY" not in str(info.value) and "expired-token-123" not in str(info.value)
