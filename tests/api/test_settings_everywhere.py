"""Every networked entry point takes ``config=`` plus the same typed overrides, and both reach the wire.

Each entry point runs against a real fake server twice: with the settings as keyword overrides
and with them in a :class:`wsframes.Config`. The fake's request log shows what was sent: the
sub-user header (``subuser``), the page size (``page_size``), the origin (``base_url``) and the
key (``api_key``: a wrong one would be answered 401 and raise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import wsframes as wsf
from wsframes import Config
from wsframes.fake import FakeWebshare, generate_activity

KEY = "sk-settings-3b9d2f7a1c5e"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SUBUSER = 7
PAGE = 333
ACTIVITY = "/api/v2/proxy/activity/"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWebshare]:
    history = generate_activity(1_500, start=NOW - timedelta(days=2), end=NOW, seed=3, plan_id=1)
    with FakeWebshare(KEY, plans={1: history}, subusers=(SUBUSER,)) as server:
        yield server


def _settings(fake: FakeWebshare) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": fake.base_url, "subuser": SUBUSER, "page_size": PAGE,
            "requests_per_minute": None, "progress": False}


def _sync_then(check: Callable[..., Any]) -> Callable[..., Any]:
    """An archive entry point that needs a synced archive first (synced with the same settings)."""

    def run(tmp: Path, **kw: Any) -> Any:
        wsf.sync(tmp / "archive", start=NOW - timedelta(hours=30), end=NOW - timedelta(hours=2), **kw)
        return check(tmp / "archive", **kw)

    return run


ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "load_activity": lambda tmp, **kw: wsf.load_activity(NOW - timedelta(hours=30), NOW, **kw),
    "Client.activity": lambda tmp, **kw: wsf.Client(**kw).activity(NOW - timedelta(hours=30), NOW),
    "load_activity(archive=)": lambda tmp, **kw: wsf.load_activity(
        NOW - timedelta(hours=30), NOW, archive=tmp / "empty-archive", **kw),
    "sync": lambda tmp, **kw: wsf.sync(tmp / "archive", start=NOW - timedelta(hours=30), end=NOW, **kw),
    "check_completeness": _sync_then(lambda root, **kw: wsf.check_completeness(root, **kw)),
    "archive_status(check=True)": _sync_then(lambda root, **kw: wsf.archive_status(root, check=True, **kw)),
    "load_proxies": lambda tmp, **kw: wsf.load_proxies(**kw),
    "load_replaced_proxies": lambda tmp, **kw: wsf.load_replaced_proxies(**kw),
    "build_report": lambda tmp, **kw: wsf.build_report(
        NOW - timedelta(hours=24), NOW, plan_id=1, out_dir=tmp / "reports", compare_previous=False, **kw),
}


@pytest.mark.parametrize("how", ["overrides", "config"])
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_each_setting_reaches_the_http_layer(fake: FakeWebshare, tmp_path: Path, entry: str,
                                             how: str) -> None:
    settings = _settings(fake)
    kwargs = settings if how == "overrides" else {"config": Config(**settings)}
    fake.requests.clear()
    ENTRY_POINTS[entry](tmp_path, **kwargs)
    sent = [r for r in fake.requests if r.status == 200]
    assert sent, f"{entry} sent nothing"
    assert all(r.status == 200 for r in fake.requests), [r for r in fake.requests if r.status != 200]
    assert any(r.subuser == str(SUBUSER) for r in sent)
    for r in sent:
        if r.path == ACTIVITY and r.params.get("page_size") != "1":  # 1: a probe (count, sub-user check)
            assert r.subuser == str(SUBUSER)
            assert r.params.get("page_size") in (None, str(PAGE)), r.params
        elif r.path.startswith("/api/v2/proxy/list/"):
            assert r.params["page_size"] == str(PAGE)
    if entry in {"load_activity", "Client.activity", "sync", "build_report"}:
        assert any(r.path == ACTIVITY and r.params.get("page_size") == str(PAGE) for r in sent)


def test_a_config_override_wins_and_unknown_settings_fail_before_any_request(fake: FakeWebshare) -> None:
    fake.requests.clear()
    with pytest.raises(wsf.ConfigurationError, match="unknown setting"):
        wsf.sync("unused", config=Config(api_key=KEY), api_options={"page_size": 5})  # type: ignore[call-arg]
    with pytest.raises(wsf.ConfigurationError, match="page_size"):
        wsf.load_proxies(config=Config(api_key=KEY, base_url=fake.base_url), page_size=0)
    assert fake.requests == []


def test_the_report_kernel_gets_every_setting_but_the_key(tmp_path: Path) -> None:
    from wsframes.report import builder

    cfg = Config(api_key=KEY, base_url="http://127.0.0.1:9", backoff=0.25, max_backoff=3.0,
                 max_retry_after=7.0, rate_limits={"proxy_list": 10}, max_retries=2, subuser=SUBUSER)
    job = builder._validate(NOW - timedelta(days=1), NOW, period=None, plan_id=None, tz="UTC",
                            compare_previous=False, data=None, archive=None, config=cfg, out_dir=tmp_path,
                            anonymize_clients=False, template=None, now=None, source_label=None,
                            cell_timeout=60)
    sent = job.parameters["settings"]
    assert Config(**sent) == cfg.replace(api_key=None, progress=False)
    assert KEY not in repr(job.parameters)
    assert job.kernel_env["WEBSHARE_API_KEY"] == KEY
