"""The command line as cron meets it: exit codes, one-line errors, safe CSV, a final line per fetch."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from wsframes.cli import main
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.timeutil import utc_now

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|/c calc", "-2+3", "@SUM(A1)", "\tsheet", "\rcell"]
KEY = "cli-test-key-0123456789"
CLI = "import sys; from wsframes.cli import main; sys.exit(main())"


@pytest.fixture()
def hostile_fake():
    end = utc_now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=6)
    frame = generate_activity(len(HOSTILE) * 20, start=start, end=end, seed=3)
    names = pl.Series([HOSTILE[i % len(HOSTILE)] for i in range(frame.height)])
    frame = frame.with_columns(hostname=names)
    with FakeWebshare(KEY, plans={1: frame}) as fake:
        yield fake, start, end


def _fetch(fake: FakeWebshare, start: datetime, end: datetime, out: Path, capsys) -> str:
    os.environ["WEBSHARE_API_KEY"] = KEY
    try:
        args = [start.isoformat(), end.isoformat(), "--out", str(out), "--base-url", fake.base_url]
        code = main(["fetch", *args])
    finally:
        os.environ.pop("WEBSHARE_API_KEY")
    assert code == 0
    return capsys.readouterr().out


def test_csv_neutralises_formulas_and_parquet_ndjson_keep_the_text(hostile_fake, tmp_path, capsys):
    fake, start, end = hostile_fake
    printed = _fetch(fake, start, end, tmp_path / "a.csv", capsys)
    assert f"wrote 120 records in [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) UTC to" in printed
    assert str(tmp_path / "a.csv") in printed
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as f:
        hosts = {row["hostname"] for row in csv.DictReader(f)}
    assert hosts == {"'" + h for h in HOSTILE}  # every one neutralised, nothing else changed
    _fetch(fake, start, end, tmp_path / "a.parquet", capsys)
    assert set(pl.read_parquet(tmp_path / "a.parquet")["hostname"]) == set(HOSTILE)
    _fetch(fake, start, end, tmp_path / "a.ndjson", capsys)
    lines = (tmp_path / "a.ndjson").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["hostname"] for line in lines} == set(HOSTILE)


def test_a_future_fetch_window_is_refused_before_any_request(hostile_fake, tmp_path, capsys):
    fake, _, _ = hostile_fake
    before = len(fake.requests) if hasattr(fake, "requests") else None
    args = ["2099-01-01", "2099-02-01", "--out", str(tmp_path / "x.csv"), "--base-url", fake.base_url]
    code = main(["fetch", *args])
    err = capsys.readouterr().err
    assert code == 2 and "starts in the future" in err and "2099-01-01 00:00" in err
    assert not (tmp_path / "x.csv").exists()
    if before is not None:
        assert len(fake.requests) == before


def test_a_future_report_window_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    code = main(["report", "--start", "2099-01-01", "--end", "2099-01-02", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "starts in the future" in err and err.count("\n") == 1


def test_data_missing_a_column_is_refused_before_the_kernel(tmp_path, capsys):
    path = tmp_path / "week.parquet"
    generate_activity(50, start="2026-11-01", end="2026-11-02", seed=1).drop("bytes").write_parquet(path)
    code = main(["report", "--data", str(path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "missing column(s) bytes" in err
    assert not list((tmp_path / "r").glob("*.ipynb"))


def test_data_that_does_not_cover_the_period_names_what_it_covers(tmp_path, capsys):
    path = tmp_path / "week.parquet"
    generate_activity(50, start="2026-06-01", end="2026-06-08", seed=1).write_parquet(path)
    for compare in ("--compare-previous", "--no-compare-previous"):
        args = ["--data", str(path), "--period", "last-month", compare, "--out", str(tmp_path / "r")]
        code = main(["report", *args])
        err = capsys.readouterr().err
        assert code == 2 and "covers 2026-06-0" in err and "holds nothing in the report's window" in err


def test_an_empty_period_exits_3_for_cron(tmp_path, capsys, caplog):
    path = tmp_path / "empty.parquet"
    generate_activity(10, start="2026-11-01", end="2026-11-02", seed=1).clear().write_parquet(path)
    window = ["--start", "2026-11-01", "--end", "2026-11-02"]
    with caplog.at_level("INFO", logger="wsframes"):
        code = main(["-v", "report", "--data", str(path), *window, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 3 and "critical alerts: 1" in captured.out
    # Cron mails stdout: the alert is named (title and sentence) before the paths.
    first, second = captured.out.splitlines()[:2]
    assert first.startswith("CRITICAL: No data: ") and len(first) > len("CRITICAL: No data: ")
    assert second.startswith("report: ")
    assert "report" not in captured.err  # no terminal here: no progress bar (as under cron)
    # -v: every step with its timing, and the record count the kernel loaded.
    logged = caplog.text
    assert "kernel started in" in logged and "'setup' ran in" in logged
    assert "loaded 0 records" in logged and "exported HTML in" in logged
    assert "No data" in next(tmp_path.glob("*.html")).read_text(encoding="utf-8")


def test_ctrl_c_exits_130_with_one_line_and_nothing_partial(tmp_path):
    path = tmp_path / "day.parquet"
    start = datetime(2026, 11, 1, tzinfo=UTC)
    generate_activity(2_000, start=start, end=start + timedelta(days=1), seed=2).write_parquet(path)
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "-v", "report", "--data", str(path), "--out", str(out)],
        # A worker process may ignore SIGINT, and children inherit that: give the CLI a terminal's.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # -v logs each step: interrupt once the kernel is running cells
        if "kernel started" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "ZMQError" not in err
    assert err.strip().splitlines()[-1] == "wsframes report: interrupted; nothing was written."
    assert not list(out.glob("*.html")) and not list(out.glob("*.ipynb"))


def test_compare_previous_older_than_90_days_is_skipped_with_a_note(tmp_path):
    from wsframes import Config
    from wsframes.report import builder

    start = utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(days=60)
    end = start + timedelta(days=40)  # the previous 40 days start 100 days ago
    common = dict(
        period=None, plan_id=None, tz="UTC", data=None, archive=None, config=Config(api_key=KEY),
        out_dir=tmp_path,
        anonymize_clients=False, template=None, now=None, source_label=None, cell_timeout=60,
    )
    asked = builder._validate(start, end, compare_previous=True, **common).parameters
    assert asked["compare_previous"] is False and "older than the 90 days" in asked["compare_note"]
    default = builder._validate(start, end, compare_previous=None, **common).parameters
    assert default["compare_previous"] is False and default["compare_note"] == ""
    recent = builder._validate(end - timedelta(days=7), end, compare_previous=None, **common).parameters
    assert recent["compare_previous"] is True  # available, so compared by default
    off = builder._validate(end - timedelta(days=7), end, compare_previous=False, **common).parameters
    assert off["compare_previous"] is False


def test_a_terminal_gets_a_progress_bar_of_cells_and_the_record_count(tmp_path, capsys):
    from wsframes.report import build_report

    frame = generate_activity(200, start="2026-11-01", end="2026-11-02", seed=5)
    build_report("2026-11-01", "2026-11-02", data=frame, out_dir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "report: 100%" in err and "cell" in err
    assert "loaded 200 records" in err and "exporting wsframes-2026-11-01_2026-11-02" in err
    # Long cells name the step they are at (relayed from the kernel), not only their own name.
    for step in ("headline figures", "incidents: testing segments", "top domain", "pool by proxy_address"):
        assert f"cell/s, {step}]" in err, step


def test_alert_text_from_the_data_cannot_drive_the_terminal():
    from wsframes.cli.report import terminal_safe

    assert terminal_safe("host\x1b[31m.x\x1b[0m\x1b]0;pwned\x07 a\tb\x9bc\x00") == "host.x a?b?c?"


def test_ctrl_c_to_the_whole_group_prints_only_the_interrupted_line(tmp_path):
    path = tmp_path / "day.parquet"
    start = datetime(2026, 11, 1, tzinfo=UTC)
    generate_activity(2_000, start=start, end=start + timedelta(days=1), seed=2).write_parquet(path)
    out = tmp_path / "reports"
    proc = subprocess.Popen(  # its own group, as a terminal's foreground job: Ctrl-C reaches all of it
        [sys.executable, "-c", CLI, "-v", "report", "--data", str(path), "--out", str(out)],
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "kernel started" in line:  # the kernel is running its first cells
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "ERROR" not in err
    assert err.strip().splitlines()[-1] == "wsframes report: interrupted; nothing was written."
    assert not list(out.glob("*.html")) and not list(out.glob("*.ipynb"))


def _run_in_pty(argv: list[str], *, size: tuple[int, int] | None, env: dict[str, str] | None = None
                ) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal of *size* (rows, columns; None: one that reports 0 x 0)."""
    leader, follower = os.openpty()
    if size is not None:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", CLI, *argv], stdin=follower, stdout=follower,
                            stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("size", [(24, 100), None], ids=["sized", "no-size"])
def test_a_pseudo_terminal_sees_progress_before_the_result(tmp_path, size):
    path = tmp_path / "day.parquet"
    generate_activity(200, start="2026-11-01", end="2026-11-02", seed=5).write_parquet(path)
    code, text = _run_in_pty(["report", "--data", str(path), "--out", str(tmp_path / "r")], size=size)
    assert code == 0, text
    before = text[: text.index("report: " + str(tmp_path / "r"))]
    updates = [u for u in before.replace("\r", "\n").splitlines() if "%|" in u and "cell" in u]
    assert len(updates) >= 2, text
    assert "loaded 200 records" in before and "exporting" in before


def test_a_terminal_sees_the_records_load_with_the_expected_total(tmp_path):
    end = utc_now().replace(minute=0, second=0, microsecond=0)
    frame = generate_activity(30_000, start=end - timedelta(days=1), end=end, seed=8, plan_id=1)
    with FakeWebshare(KEY, plans={1: frame}, page_cap=1000) as fake:
        env = {**os.environ, "WEBSHARE_API_KEY": KEY, "WEBSHARE_BASE_URL": fake.base_url}
        code, text = _run_in_pty(
            ["--requests-per-minute", "100000", "report", "--start", (end - timedelta(days=1)).isoformat(),
             "--end", end.isoformat(), "--plan-id", "1", "--no-compare-previous", "--out", str(tmp_path)],
            size=(24, 120), env=env)
    assert code in (0, 3), text
    lines = text.replace("\r", "\n").splitlines()
    loading = [u for u in lines if "loading" in u and "of 30,000 records" in u]
    assert len(loading) >= 2, text  # several updates while the setup cell loads, with the total
    assert text.index("loading") < text.index("exporting")
