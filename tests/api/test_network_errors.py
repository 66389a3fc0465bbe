"""Network failures in the user's terms: which host, what to check, and no silent retrying."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from tests.api.conftest import KEY
from wsframes._config import resolve_base_url
from wsframes.errors import ConfigurationError, TransportError
from wsframes.loader import Client


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_fails_at_once_naming_the_host_and_what_to_check():
    port = _closed_port()
    with Client(api_key=KEY, base_url=f"http://127.0.0.1:{port}", progress=False,
                max_retries=5, backoff=2.0) as client:
        began = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.activity("2h")
        took = time.monotonic() - began
        assert client.request_count <= 2  # first page and stats request, each tried once: no retries
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "connection refused" in message
    assert "WEBSHARE_BASE_URL" in message and "network" in message
    assert took < 2.0  # with backoff=2.0, a single retry would already take longer


def test_an_unknown_host_fails_at_once_with_the_same_hint():
    with Client(api_key=KEY, base_url="https://no-such-host.invalid", progress=False,
                max_retries=5, backoff=2.0) as client, pytest.raises(TransportError) as info:
        client.activity("2h")
    assert "no-such-host.invalid" in str(info.value) and "WEBSHARE_BASE_URL" in str(info.value)
    assert KEY not in str(info.value)


def test_a_base_url_ending_in_the_api_path_is_normalised_with_a_message(caplog):
    with caplog.at_level(logging.WARNING, logger="wsframes.api"):
        assert resolve_base_url("https://proxy.webshare.io/api/v2/") == "https://proxy.webshare.io"
    assert "dropped the path '/api/v2/'" in caplog.text


def test_a_base_url_with_another_path_is_refused():
    with pytest.raises(ConfigurationError, match="must be an origin"):
        resolve_base_url("https://proxy.webshare.io/webshare")


def test_a_normalised_base_url_reaches_the_api_paths(fake, window):
    """No 404 on /api/v2/api/v2/...: the pasted path is dropped before any request."""
    lo, hi = window
    with Client(api_key=KEY, base_url=f"{fake.base_url}/api/v2/", progress=False,
                requests_per_minute=None) as client:
        assert client.activity(lo, hi).height > 0
