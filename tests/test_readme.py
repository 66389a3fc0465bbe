"""The README's examples run as written, against the fake API on loopback.

Every fenced ``bash``/``python``/``cron`` block runs, in document order, in one temporary home
(``~/ws-archive`` lands there) with ``WEBSHARE_BASE_URL``/``WEBSHARE_API_KEY`` pointing at a
:class:`~wsframes.fake.FakeWebshare`; ``wsframes`` commands run in-process through
:func:`wsframes.cli.main`. A block that cannot run here (a fresh-machine install, a server that
runs until Ctrl-C, cron lines) carries ``<!-- readme-test: illustrative: <why> -->`` on the line
before it: the test lists those and fails on any other block it cannot run, so none is skipped
silently.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from wsframes.cli import main
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.report import demo
from wsframes.timeutil import utc_now

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"<!--\s*readme-test:\s*illustrative:\s*(?P<why>[^>]+?)\s*-->")
KEY = "readme-test-key-0123456789"
# `wsframes report` exits 3 when the report it wrote has critical alerts (synthetic data may).
OK_CODES = {"report": {0, 3}}


@dataclass
class Block:
    lang: str
    code: str
    line: int
    illustrative: str | None


def blocks(text: str) -> list[Block]:
    """Fenced code blocks with their language, first line number and illustrative marker."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^```(\w+)\s*$", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            before = next((ln for ln in reversed(lines[:i]) if ln.strip()), "")
            marker = MARKER.search(before)
            found.append(Block(fence[1], "\n".join(lines[i + 1 : end]), i + 2, marker and marker["why"]))
            i = end
        i += 1
    return found


def run_shell_line(line: str, env: dict[str, str]) -> None:
    """Run one shell line: ``export``, ``VAR=value`` prefixes, ``&&`` chains of wsframes commands."""
    for part in re.split(r"\s*&&\s*", line):
        words = shlex.split(part, comments=True)
        if not words:
            continue
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value if value != "..." else env[name]  # "..." stands for the user's key
            continue
        local = dict(env)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            local[name] = value
        assert words[0].endswith("wsframes"), f"cannot run {part!r}: mark its block illustrative"
        os.environ.clear()
        os.environ.update(local)
        args = [os.path.expanduser(w) if w.startswith("~/") else w for w in words[1:]]  # as bash does
        code = main(args)
        sub = next((w for w in words[1:] if not w.startswith("-")), "")
        assert code in OK_CODES.get(sub, {0}), f"{part!r} exited {code}"


def test_every_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    all_blocks = blocks(README.read_text(encoding="utf-8"))
    # Only these kinds may be illustrative; everything else must run here, or in the test the
    # marker names (the S3 examples need an S3 server: tests/archive/test_archive_s3_readme.py).
    root = README.parent
    for b in all_blocks:
        if b.illustrative and b.lang not in {"bash", "cron"}:
            named = re.search(r"tests/\S+\.py", b.illustrative)
            assert named and (root / named[0]).is_file(), (b.line, b.illustrative)
    assert all(b.illustrative for b in all_blocks if b.lang == "cron")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".venv").symlink_to(Path(sys.prefix))  # `.venv/bin/wsframes` as in the README
    monkeypatch.chdir(home)
    monkeypatch.setattr(demo, "DEMO_RECORDS", 4_000)  # the real demo is a heavy week
    end = utc_now()
    plans = {pid: generate_activity(8_000, start=end - timedelta(days=75), end=end, plan_id=pid, seed=pid)
             for pid in (1, 2)}
    saved = dict(os.environ)
    with FakeWebshare(KEY, plans=plans, page_cap=5_000) as fake:
        env = dict(saved, HOME=str(home), WEBSHARE_API_KEY=KEY, WEBSHARE_BASE_URL=fake.base_url)
        env.pop("WSFRAMES_ARCHIVE", None)
        namespace: dict[str, object] = {}
        ran = 0
        try:
            for block in all_blocks:
                if block.illustrative:
                    continue
                if block.lang == "python":
                    os.environ.clear()
                    os.environ.update(env)
                    exec(compile(block.code, f"README.md:{block.line}", "exec"), namespace)
                else:
                    for line in block.code.splitlines():
                        run_shell_line(line, env)
                ran += 1
        finally:
            os.environ.clear()
            os.environ.update(saved)
    assert ran >= 8
    assert list((home / "reports").glob("*.html")), "the README's reports were written"
