"""The fake listens on loopback only, and a client hanging up is not a traceback on stderr.

``serve-fake --host 0.0.0.0`` used to start and print ``export WEBSHARE_BASE_URL=http://0.0.0.0:...``,
a URL wsframes itself refuses (plain http only towards loopback); and every client that closed
its connection mid-response made socketserver print a BrokenPipe/ConnectionReset traceback.
"""

from __future__ import annotations

import logging
import socket
import struct
import time

import pytest
import requests

from wsframes._config import resolve_base_url
from wsframes.cli import main
from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare

ACTIVITY = "/api/v2/proxy/activity/"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", ""])
def test_a_host_beyond_loopback_is_refused_with_the_reason(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"loopback only .* test and demo server"):
        FakeWebshare("k", host=host, records=10)


def test_serve_fake_refuses_a_public_host_before_printing_a_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the host accepted, the command would serve until Ctrl-C: return at once instead, so
    # the test fails rather than hangs.
    monkeypatch.setattr("wsframes.cli.serve_fake._wait_for_stop_signal", lambda: None)
    assert main(["serve-fake", "--api-key", "k", "--records", "10", "--host", "0.0.0.0"]) == 2
    captured = capsys.readouterr()
    assert "loopback only" in captured.err
    assert "WEBSHARE_BASE_URL" not in captured.out + captured.err


@pytest.mark.parametrize(("host", "prefix"), [("localhost", "http://127.0.0.1:"), ("::1", "http://[::1]:")])
def test_every_loopback_host_serves_a_url_wsframes_accepts(host: str, prefix: str) -> None:
    with FakeWebshare("k", host=host, records=20) as fake:
        assert fake.base_url.startswith(prefix)
        assert resolve_base_url(fake.base_url) == fake.base_url
        body = requests.get(fake.base_url + ACTIVITY, headers={"Authorization": "Token k"}, timeout=10).json()
        assert body["count"] == 20


def test_a_client_hanging_up_is_logged_at_debug_not_printed(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="wsframes.fake.server")
    with FakeWebshare("k", records=3000) as fake:
        host, port = fake.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                f"GET {ACTIVITY}?page_size=1000 HTTP/1.1\r\nHost: {host}\r\n"
                "Authorization: Token k\r\n\r\n".encode()
            )
            # Linger 0: close() sends a reset, so the server's write or next read fails with
            # ConnectionResetError or BrokenPipeError, whichever it is doing at that moment.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        deadline = time.monotonic() + 10
        while not _disconnects(caplog) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert _disconnects(caplog), "the reset connection was never reported"
    assert all(r.levelno == logging.DEBUG for r in _disconnects(caplog))
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred during processing" not in err


def _disconnects(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "disconnected" in r.getMessage()]
