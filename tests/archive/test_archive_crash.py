"""SIGKILL a sync at random moments; the archive must read correctly and the rerun be exact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.archive import scan_activity, sync
from wsframes.archive.manifest import MANIFEST_NAME, Manifest
from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

PLAN = 7

_CHILD = """
import sys
from wsframes.archive import sync
sync(sys.argv[1], start="5d", plan_id=7, api_key=sys.argv[2], base_url=sys.argv[3],
     requests_per_minute=None, progress=False)
"""


def covered_rows(truth: pl.DataFrame, spans) -> pl.DataFrame:
    ts = pl.col("timestamp")
    return truth.filter(pl.any_horizontal([(ts >= a) & (ts < b) for a, b in spans]))


def kill_sync_at(request: int, extra: float, archive, fake) -> int:
    """Run a sync in a child; SIGKILL it *extra* seconds after the fake saw its *request*-th
    activity request (progress-based, so the kill point does not depend on machine speed)."""
    base = fake.request_count
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(archive), fake.api_key, fake.base_url],
        stdout=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while fake.request_count - base < request and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(extra)
    child.send_signal(signal.SIGKILL)
    return child.wait()


@pytest.fixture(scope="module")
def busy_fake():
    # Enough pages (~30) and day files that a kill lands anywhere in a first sync.
    now = datetime.now(UTC)
    df = generate_activity(30_000, start=now - timedelta(days=4), end=now, seed=5, plan_id=PLAN)
    with FakeWebshare(plans={PLAN: df}, page_cap=1000) as server:
        yield server


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sync_killed_at_random_points_then_rerun_is_exact(same_records, busy_fake, tmp_path, seed):
    # The fake (and its records) live in this process and outlive every killed child.
    archive = tmp_path / "archive"
    truth = busy_fake.truth(PLAN)
    rng = random.Random(seed)
    killed = partial = 0
    for _ in range(2):  # two kills in a row on the same archive, then a full rerun
        code = kill_sync_at(rng.randint(1, 30), rng.uniform(0.0, 0.02), archive, busy_fake)
        killed += code == -signal.SIGKILL
        if (archive / MANIFEST_NAME).exists():
            # Whatever the kill interrupted, what the manifest claims reads back exactly.
            covered = Manifest.load(archive).covered(str(PLAN))
            got = scan_activity(archive, plan_id=PLAN).collect()
            assert same_records(got, covered_rows(truth, covered))
            partial += covered[-1][1] < truth["timestamp"].max()
    assert killed, "the first kill lands while the first sync runs"
    assert partial, "some kill left an archive covering only part of the window"
    sync(archive, start="5d", plan_id=PLAN, api_key=busy_fake.api_key, base_url=busy_fake.base_url,
         requests_per_minute=None, progress=False)
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), truth)
    assert [p for p in archive.rglob("*") if p.name.endswith(".tmp")] == []
    assert os.listdir(archive / "plan_id=7")


def test_two_concurrent_syncs_serialise_and_leave_an_exact_archive(same_records, busy_fake, tmp_path):
    before = busy_fake.request_count
    sync(tmp_path / "alone", start="5d", plan_id=PLAN, api_key=busy_fake.api_key,
         base_url=busy_fake.base_url, requests_per_minute=None, progress=False)
    one_full_sync = busy_fake.request_count - before

    archive = tmp_path / "archive"
    cmd = [sys.executable, "-c", _CHILD, str(archive), busy_fake.api_key, busy_fake.base_url]
    before = busy_fake.request_count
    children = [subprocess.Popen(cmd) for _ in range(2)]
    assert [c.wait(timeout=120) for c in children] == [0, 0]
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), busy_fake.truth(PLAN))
    # One did the full sync while the other waited for the lock, then re-read only the tail.
    assert busy_fake.request_count - before <= one_full_sync + 2
