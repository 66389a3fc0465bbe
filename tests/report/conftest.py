"""Fixtures for the report tests: a tiny DevTools-protocol client driving a real headless Chromium.

Chromium is started with ``--remote-debugging-pipe`` (commands on fd 3, events on fd 4, JSON
messages ended by NUL), so no WebSocket library is needed. The client records every network
request, console message and exception while a page loads, then asks the page about its images.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--remote-debugging-pipe",
)
IMAGES_JS = "JSON.stringify([...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]))"


@dataclass
class PageVisit:
    """What happened while a page loaded in Chromium."""

    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console_errors: list[str] = field(default_factory=list)
    images: list[list[Any]] = field(default_factory=list)  # [complete, naturalWidth, naturalHeight]
    scripts: int = -1
    title: str = ""
    text: str = ""  # document.body.innerText: what a reader sees


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self.proc, self.out, self.inp = proc, to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium sent no {method} within {timeout} s")
            self.events.append(self._read())

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)


def visit(path: Path, *, settle: float = 0.5) -> PageVisit:
    """Open *path* (a file on disk) in headless Chromium and report what the page did."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is not installed (apt-get install chromium)"
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire_fds() -> None:  # runs in the child: the pipe must sit on fds 3 and 4
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    with tempfile.TemporaryDirectory(prefix="wsframes-chromium-") as profile:
        proc = subprocess.Popen(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=wire_fds,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _Pipe(proc, to_browser_w, from_browser_r)
        try:
            return _drive(pipe, path.resolve().as_uri(), settle)
        finally:
            with contextlib.suppress(RuntimeError, OSError):  # the browser may already be gone
                pipe.send("Browser.close")
            os.close(to_browser_w)
            os.close(from_browser_r)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _drive(pipe: _Pipe, url: str, settle: float) -> PageVisit:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.events.clear()
    pipe.send("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired")
    time.sleep(settle)  # late requests (lazy images, fonts) would show up now
    images = pipe.send("Runtime.evaluate", {"expression": IMAGES_JS, "returnByValue": True}, session=session)
    counts = pipe.send(
        "Runtime.evaluate",
        {
            "expression": "[document.scripts.length, document.title, document.body.innerText]",
            "returnByValue": True,
        },
        session=session,
    )
    result = PageVisit(images=json.loads(images["result"]["value"]))
    result.scripts, result.title, result.text = counts["result"]["value"]
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        request_url = params.get("request", {}).get("url", "")
        # data: URLs (the embedded figures) are decoded in place, not fetched from anywhere.
        fetched = request_url != url and not request_url.startswith("data:")
        if method == "Network.requestWillBeSent" and fetched:
            result.requests.append(request_url[:200])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            result.console_errors.append(json.dumps(params.get("args"))[:300])
        elif method == "Runtime.exceptionThrown":
            result.console_errors.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            result.console_errors.append(params["entry"].get("text", "")[:300])
    return result


@pytest.fixture(scope="session")
def chromium_visit() -> Iterator[Any]:
    """``chromium_visit(path) -> PageVisit``."""
    yield visit
