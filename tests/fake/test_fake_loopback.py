"""The fake listens on loopback only.

``serve-fake --host 0.0.0.0`` used to start and print ``export WEBSHARE_BASE_URL=http://0.0.0.0:...``,
a URL wsframes itself refuses (plain http only towards loopback).
"""

from __future__ import annotations

import pytest
import requests

from wsframes.api.config import resolve_base_url
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
