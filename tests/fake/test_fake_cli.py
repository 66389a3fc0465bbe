"""``wsframes serve-fake`` as a user runs it: a real process, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import requests

from wsframes.cli import main

SECRET = "cli-secret-key-987"


def test_serve_fake_serves_until_ctrl_c_and_never_logs_the_key() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsframes", "serve-fake", "--port", "0", "--api-key", SECRET,
         "--records", "400", "--seed", "3", "--tz", "Asia/Kolkata", "--page-cap", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        body = requests.get(match.group(0) + "/api/v2/proxy/activity/",
                            params={"page_size": 500, "plan_id": 2},
                            headers={"Authorization": f"Token {SECRET}"}, timeout=10).json()
        assert body["count"] == 400 and len(body["results"]) == 50
        assert body["results"][0]["timestamp"].endswith("+05:30")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert SECRET not in line + out + err
    assert "stopped after 1 activity requests" in err


def test_serve_fake_without_a_key_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    assert main(["serve-fake", "--port", "0"]) == 2
    assert "--api-key" in capsys.readouterr().err


def test_serve_fake_rejects_a_bad_time_zone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve-fake", "--api-key", "k", "--records", "10", "--tz", "Mars/Olympus"]) == 2
    assert "IANA" in capsys.readouterr().err
