"""One settings object: validated, secret-free repr, and every entry point hands it to the HTTP layer."""

from __future__ import annotations

import pytest

from tests.api.conftest import KEY, hours_ago
from wsframes import Config, load_activity
from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.loader import Client

# A page size nothing else uses: seeing it in the fake's request log proves the setting arrived.
ODD_PAGE = 137


def test_the_key_never_appears_in_a_repr():
    cfg = Config(api_key=KEY, connections=3)
    assert KEY not in repr(cfg) and KEY not in str(cfg)
    with Client(cfg, base_url="http://127.0.0.1:9") as client:
        assert KEY not in repr(client) and KEY not in repr(client._http)


def test_from_env_reads_key_and_base_url_and_overrides_win(monkeypatch):
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    monkeypatch.setenv("WEBSHARE_BASE_URL", "http://127.0.0.1:8765/")
    cfg = Config.from_env(page_size=50)
    assert (cfg.api_key, cfg.base_url, cfg.page_size) == (KEY, "http://127.0.0.1:8765", 50)
    assert Config.from_env(base_url="https://proxy.webshare.io").base_url == "https://proxy.webshare.io"


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"connections": 0}, "connections must be an int in 1..64"),
        ({"page_size": True}, "page_size must be an int"),
        ({"requests_per_minute": 0}, "requests_per_minute must be an int >= 1"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"rate_limits": {"proxy_list": -1}}, "rate_limits"),
        ({"progress": "yes"}, "progress must be True, False or None"),
        ({"base_url": "http://example.com"}, "Refusing plain http"),
        ({"pagesize": 10}, "unknown setting"),
    ],
)
def test_bad_settings_are_refused_before_any_request(settings, match):
    with pytest.raises(ConfigurationError, match=match):
        Config().replace(**settings)


@pytest.fixture(scope="module")
def fake():
    plan = generate_activity(700, start=hours_ago(30), end=hours_ago(1), seed=5)
    with FakeWebshare(KEY, plans={1: plan}) as server:
        yield server


def _pages_asked(fake: FakeWebshare, since: int) -> set[str]:
    return {r.params.get("page_size", "") for r in fake.requests[since:] if r.path.endswith("/activity/")}


def test_client_and_load_activity_pass_the_config_to_the_http_layer(fake):
    cfg = Config(api_key=KEY, base_url=fake.base_url, page_size=ODD_PAGE, connections=3,
                 requests_per_minute=100, timeout=7.5, progress=False)
    with Client(cfg) as client:
        assert client._http.timeout == 7.5
        assert client._http.limits.for_group("general").limit == 100
        assert client._http._session.get_adapter(fake.base_url)._pool_maxsize == 3
        sent = len(fake.requests)
        client.activity("24h")
    assert _pages_asked(fake, sent) == {str(ODD_PAGE)}
    sent = len(fake.requests)
    load_activity("24h", config=cfg)
    assert _pages_asked(fake, sent) == {str(ODD_PAGE)}


def test_load_activity_with_an_archive_keeps_every_setting(fake, tmp_path):
    cfg = Config(api_key=KEY, base_url=fake.base_url, progress=False)
    sent = len(fake.requests)
    df = load_activity("24h", archive=tmp_path, config=cfg, page_size=ODD_PAGE)
    assert df.height > 0
    assert _pages_asked(fake, sent) == {str(ODD_PAGE)}
    with pytest.raises(ConfigurationError, match="unknown setting"):
        load_activity("24h", archive=tmp_path, config=cfg, requests_per_minit=5)


def test_sync_passes_the_config_to_the_http_layer(fake, tmp_path):
    from wsframes import sync

    sent = len(fake.requests)
    sync(tmp_path, start="24h", config=Config(api_key=KEY, base_url=fake.base_url, page_size=ODD_PAGE))
    assert _pages_asked(fake, sent) == {str(ODD_PAGE)}


def test_build_report_passes_the_config_to_the_kernels_http_layer(fake, tmp_path):
    from wsframes import build_report

    sent = len(fake.requests)
    cfg = Config(api_key=KEY, base_url=fake.base_url, page_size=ODD_PAGE, connections=2,
                 requests_per_minute=200)
    build_report("24h", config=cfg, out_dir=tmp_path)
    assert _pages_asked(fake, sent) == {str(ODD_PAGE)}


@pytest.mark.parametrize("command", ["fetch", "sync"])
def test_the_cli_builds_one_config_for_every_command(fake, tmp_path, monkeypatch, command):
    import wsframes.loader
    from wsframes.cli import main

    seen: list[Config] = []
    real = wsframes.loader.HttpClient

    def recording(config: Config, **kw: object):
        seen.append(config)
        return real(config, **kw)

    monkeypatch.setattr(wsframes.loader, "HttpClient", recording)
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    target = ["fetch", "24h", "--out", str(tmp_path / "x.parquet")] if command == "fetch" else [
        "sync", "--archive", str(tmp_path / "archive"), "--start", "24h"]
    code = main(["--connections", "2", "--requests-per-minute", "90", *target, "--base-url", fake.base_url])
    assert code == 0
    assert seen and all((c.connections, c.requests_per_minute, c.api_key) == (2, 90, KEY) for c in seen)
