"""The archive on S3, against a real S3-compatible server on loopback (moto's server mode).

The fake Webshare API (a real HTTP server) is the truth; every test reads back through the same
public functions a user calls with an ``s3://bucket/prefix`` location.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import boto3
import polars as pl
import pytest

import wsframes as wsf
from wsframes.archive import archive_status, export_archive, scan_activity, sync, verify_archive
from wsframes.archive.manifest import MANIFEST_NAME, Manifest
from wsframes.archive.remote import s3_write
from wsframes.archive.s3 import S3Location
from wsframes.archive.s3lease import LOCK_KEY
from wsframes.cli import main
from wsframes.errors import ArchiveError, ConfigurationError, DamagedFileError

PLAN = 7


def objects(url: str) -> dict[str, bytes]:
    loc = S3Location.parse(url)
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.prefix + "/").get("Contents", [])
    return {o["Key"].removeprefix(loc.prefix + "/"):
            s3.get_object(Bucket=loc.bucket, Key=o["Key"])["Body"].read() for o in listed}


def put(url: str, relative: str, body: bytes) -> None:
    loc = S3Location.parse(url)
    boto3.client("s3").put_object(Bucket=loc.bucket, Key=loc.key(relative), Body=body)


def test_sync_then_scan_round_trip_is_exact_and_incremental(s3_archive, fake, args, same_records):
    first = sync(s3_archive, start="5d", **args)
    assert str(first.archive) == s3_archive and s3_archive in str(first)
    truth = fake.truth(PLAN)
    assert same_records(scan_activity(s3_archive, plan_id=PLAN).collect(), truth)
    # The same Hive layout as on disk, the manifest beside it, no temporary object, lock released.
    keys = set(objects(s3_archive))
    assert MANIFEST_NAME in keys and LOCK_KEY not in keys
    assert all(k == MANIFEST_NAME or k.startswith(f"plan_id={PLAN}/date=") for k in keys)

    before = fake.request_count
    again = sync(s3_archive, start="5d", **args)
    assert fake.request_count - before <= 3 and again.rows_fetched < truth.height  # only the tail
    assert same_records(scan_activity(s3_archive, plan_id=PLAN).collect(), truth)

    # A window, load_activity(archive=) and a fresh reader (empty cache) agree with the truth.
    lo = truth["timestamp"][1000]
    hi = truth["timestamp"][3000]
    part = truth.filter(pl.col("timestamp").is_between(lo, hi, closed="left"))
    assert same_records(scan_activity(s3_archive, lo, hi, plan_id=PLAN).collect(), part)
    loaded = wsf.load_activity(lo, hi, archive=s3_archive, plan_id=PLAN, api_key=fake.api_key,
                               base_url=fake.base_url, progress=False)
    assert same_records(loaded, part)


def test_scan_downloads_only_the_days_of_its_window(s3_archive, fake, args, monkeypatch, tmp_path):
    sync(s3_archive, start="5d", **args)
    monkeypatch.setenv("WSFRAMES_S3_CACHE", str(tmp_path / "empty-cache"))
    truth = fake.truth(PLAN)
    day = truth["timestamp"][2000].date()
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    got = scan_activity(s3_archive, lo, lo + timedelta(hours=6), plan_id=PLAN).collect()
    assert got.height > 0
    assert len(list((tmp_path / "empty-cache" / "objects").glob("*/*.parquet"))) == 1


def kill_child_at(code: str, argv: list[str], request: int, extra: float, fake) -> int:
    import signal
    import time

    base = fake.request_count
    child = subprocess.Popen([sys.executable, "-c", code, *argv])
    deadline = time.monotonic() + 60
    while fake.request_count - base < request and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(extra)
    child.send_signal(signal.SIGKILL)
    return child.wait()


_CHILD = """
import sys
from wsframes.archive import sync
sync(sys.argv[1], start="5d", plan_id=7, api_key=sys.argv[2], base_url=sys.argv[3],
     requests_per_minute=None, progress=False)
"""


@pytest.fixture(scope="module")
def busy_fake():
    from wsframes.fake import generate_activity
    from wsframes.fake.server import FakeWebshare

    now = datetime.now(UTC)
    df = generate_activity(20_000, start=now - timedelta(days=4), end=now, seed=5, plan_id=PLAN)
    with FakeWebshare(plans={PLAN: df}, page_cap=1000) as server:
        yield server


@pytest.mark.parametrize("seed", [1, 2])
def test_sync_killed_mid_way_then_rerun_is_exact(s3_archive, busy_fake, same_records, seed, tmp_path):
    import random
    import signal

    truth = busy_fake.truth(PLAN)
    rng = random.Random(seed)
    argv = [s3_archive, busy_fake.api_key, busy_fake.base_url]
    killed = partial = 0
    for _ in range(2):  # two kills in a row (each leaves its lock behind), then a full rerun
        code = kill_child_at(_CHILD, argv, rng.randint(1, 20), rng.uniform(0.0, 0.05), busy_fake)
        killed += code == -signal.SIGKILL
        stored = objects(s3_archive)
        if MANIFEST_NAME in stored:
            # Whatever the kill interrupted, what the manifest claims reads back exactly.
            (tmp_path / MANIFEST_NAME).write_bytes(stored[MANIFEST_NAME])
            covered = Manifest.load(tmp_path).covered(str(PLAN))
            ts = pl.col("timestamp")
            want = truth.filter(pl.any_horizontal([(ts >= a) & (ts < b) for a, b in covered]))
            assert same_records(scan_activity(s3_archive, plan_id=PLAN).collect(), want)
            partial += covered[-1][1] < truth["timestamp"].max()
    assert killed, "the first kill lands while the first sync runs"
    assert partial, "some kill left an archive covering only part of the window"
    # The rerun takes over the dead syncs' lock at once (their processes are gone) and repairs.
    sync(s3_archive, start="5d", plan_id=PLAN, api_key=busy_fake.api_key, base_url=busy_fake.base_url,
         requests_per_minute=None, progress=False, lock_timeout=5)
    assert same_records(scan_activity(s3_archive, plan_id=PLAN).collect(), truth)
    assert verify_archive(s3_archive).ok
    assert LOCK_KEY not in objects(s3_archive)


def test_two_concurrent_syncs_cannot_corrupt_the_archive(s3_archive, busy_fake, same_records):
    cmd = [sys.executable, "-c", _CHILD, s3_archive, busy_fake.api_key, busy_fake.base_url]
    before = busy_fake.request_count
    children = [subprocess.Popen(cmd) for _ in range(2)]
    assert [c.wait(timeout=120) for c in children] == [0, 0]
    truth = busy_fake.truth(PLAN)
    assert same_records(scan_activity(s3_archive, plan_id=PLAN).collect(), truth)
    assert verify_archive(s3_archive).ok
    # One synced while the other waited on the lease, then re-read only the unsettled tail.
    pages = -(-truth.height // 1000)
    assert busy_fake.request_count - before <= pages + 6 + 3


def test_a_held_lock_makes_a_second_sync_wait_then_fail_clearly(s3_archive, fake, args):
    sync(s3_archive, start="5d", **args)
    with s3_write(s3_archive, lock_timeout=1), pytest.raises(ArchiveError, match="another wsframes sync"):
        sync(s3_archive, start="5d", lock_timeout=0.3, **args)
    assert LOCK_KEY not in objects(s3_archive)


def test_a_writer_whose_manifest_changed_underneath_stops_without_overwriting(s3_archive, fake, args):
    # A sync that lost its lease without knowing it (paused past it, another took over): its next
    # manifest PUT is conditional on the ETag it last saw, so it fails instead of overwriting.
    sync(s3_archive, start="5d", **args)
    with s3_write(s3_archive, lock_timeout=1) as view:
        other = objects(s3_archive)[MANIFEST_NAME]
        put(s3_archive, MANIFEST_NAME, other.replace(b'"final"', b'"final" '))  # another writer's
        manifest = Manifest.load(view.root)
        with pytest.raises(ArchiveError, match="changed by another writer"):
            manifest.save(view.root)
    assert objects(s3_archive)[MANIFEST_NAME] == other.replace(b'"final"', b'"final" ')


def test_status_and_verify_name_a_damaged_object_and_sync_repairs_it(s3_archive, fake, args, capsys):
    sync(s3_archive, start="5d", **args)
    assert verify_archive(s3_archive).ok
    stored = objects(s3_archive)
    day = sorted(k for k in stored if k.endswith(".parquet"))[1]
    body = bytearray(stored[day])
    body[len(body) // 2] ^= 0xFF
    put(s3_archive, day, bytes(body))
    url = f"{s3_archive}/{day}"

    result = verify_archive(s3_archive)
    assert not result.ok and [str(d.path) for d in result.damaged] == [url]
    status = archive_status(s3_archive)
    assert any(url in w for w in status.plans[0].warnings)
    assert f"wsframes sync --archive {s3_archive}" in str(status)
    with pytest.raises(DamagedFileError) as err:
        scan_activity(s3_archive, plan_id=PLAN).collect()
    assert err.value.paths == [url] and url in str(err.value)
    assert main(["archive", "verify", s3_archive]) == 1
    assert url in capsys.readouterr().out
    assert main(["status", "--offline", "--archive", s3_archive]) == 1

    sync(s3_archive, start="5d", **args)  # the day is in the API's window: fetched again whole
    assert verify_archive(s3_archive).ok
    assert main(["archive", "verify", s3_archive]) == 0


def test_export_from_s3_to_a_local_backup(s3_archive, fake, args, tmp_path, same_records):
    sync(s3_archive, start="5d", **args)
    result = export_archive(s3_archive, tmp_path / "backup")
    assert result.source == s3_archive and result.copied >= 4
    assert verify_archive(tmp_path / "backup").ok
    assert same_records(scan_activity(tmp_path / "backup", plan_id=PLAN).collect(), fake.truth(PLAN))
    with pytest.raises(ConfigurationError, match="export to a local directory"):
        export_archive(tmp_path / "backup", s3_archive)


@pytest.mark.parametrize(
    ("archive", "options", "message"),
    [
        ("s3://", None, "not an S3 location"),
        ("s3://AKIAKEY:hunter2@bucket/p", None, "may not hold credentials"),
        ("s3://bucket/../p", None, r"'\.\.'"),
        ("s3://bucket/p", {"password": "hunter2"}, "unknown storage_options password"),
        ("s3://bucket/p", {"endpoint_url": "http://minio.example.com:9000"}, "plain http"),
    ],
)
def test_bad_locations_and_options_fail_before_any_request(s3_archive, fake, archive, options, message):
    before = fake.request_count
    with pytest.raises(ConfigurationError, match=message) as err:
        sync(archive, start="1d", plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url,
             storage_options=options)
    assert "hunter2" not in str(err.value) and fake.request_count == before


def test_storage_options_for_a_local_archive_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="s3://bucket/prefix archive only"):
        scan_activity(tmp_path / "archive", storage_options={"region_name": "eu-west-1"})


def test_without_the_s3_extra_the_error_names_it(monkeypatch, s3_archive):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigurationError, match=r"wsframes\[s3\]"):
        scan_activity(s3_archive)


def test_the_s3_archive_is_a_plain_dataset_other_engines_read(s3_archive, fake, args):
    # DuckDB/Spark/Polars read the Hive layout straight from S3 (they do not consult the manifest,
    # like on disk); here Polars' own object_store reader counts what the manifest covers.
    sync(s3_archive, start="5d", **args)
    import os

    opts = {"aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"], "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing-secret", "aws_region": "us-east-1", "aws_allow_http": "true"}
    n = pl.scan_parquet(f"{s3_archive}/plan_id=*/date=*/activity.parquet", storage_options=opts,
                        hive_partitioning=False).select(pl.len()).collect().item()
    assert n == fake.truth(PLAN).height
    assert json.loads(objects(s3_archive)[MANIFEST_NAME])["format"] == "wsframes-archive"


def test_a_lock_left_on_another_host_is_waited_for_until_its_lease_ends(s3_archive, fake, args):
    import time

    lock = {"owner": "x", "host": "build-7.example", "pid": 4242, "expires": time.time() + 600}
    put(s3_archive, LOCK_KEY, json.dumps(lock).encode())
    with pytest.raises(ArchiveError, match=r"build-7\.example pid 4242, lease ends in"):
        sync(s3_archive, start="5d", lock_timeout=0.3, **args)
    assert MANIFEST_NAME not in objects(s3_archive)  # nothing was written while it waited
    put(s3_archive, LOCK_KEY, json.dumps({**lock, "expires": time.time() - 1}).encode())
    sync(s3_archive, start="5d", lock_timeout=0.3, **args)  # an ended lease is taken over
    assert LOCK_KEY not in objects(s3_archive) and verify_archive(s3_archive).ok


def test_accept_loss_on_s3_deletes_the_damaged_object_and_leaves_a_gap(s3_archive, fake, args):
    from wsframes.archive import accept_loss
    from wsframes.errors import IncompleteDataError

    sync(s3_archive, start="5d", **args)
    day = sorted(k for k in objects(s3_archive) if k.endswith(".parquet"))[1]
    put(s3_archive, day, b"not parquet")
    first = datetime.fromisoformat(day.split("date=")[1].split("/")[0]).replace(tzinfo=UTC)
    assert accept_loss(s3_archive, first, first + timedelta(days=1), plan_id=PLAN) == [first.date()]
    assert day not in objects(s3_archive) and verify_archive(s3_archive).ok
    with pytest.raises(IncompleteDataError):
        scan_activity(s3_archive, first, first + timedelta(days=1), plan_id=PLAN)


def test_operations_without_s3_support_refuse_an_s3_url(s3_archive):
    from wsframes.archive.proxies import save_proxy_snapshot

    with pytest.raises(ConfigurationError, match="needs a local archive directory"):
        save_proxy_snapshot(s3_archive, pl.DataFrame({"proxy_address": ["10.0.0.1"]}))


def test_a_dead_syncs_lock_is_taken_over_once_and_a_lost_lease_is_noticed(s3_archive):
    import socket
    import time

    from wsframes.archive.s3 import open_store
    from wsframes.archive.s3lease import Lease

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    put(s3_archive, LOCK_KEY, json.dumps({"owner": "x", "host": socket.gethostname(), "pid": dead.pid,
                                          "expires": time.time() + 600}).encode())
    store = open_store(s3_archive)
    first, second = Lease(store, timeout=0.2), Lease(store, timeout=0.2)
    first.acquire()  # its holder's process is gone: taken over by compare-and-swap at once
    with pytest.raises(ArchiveError, match="another wsframes sync"):
        second.acquire()  # the lock is now the first one's, alive
    # Someone took the lock from the first (its lease ran out while it was paused): it notices.
    put(s3_archive, LOCK_KEY, b'{"owner": "y"}')
    first.lease = 0
    with pytest.raises(ArchiveError, match="lost its lock"):
        first.renew()
    first.release()  # not its lock any more: left alone
    assert objects(s3_archive)[LOCK_KEY] == b'{"owner": "y"}'


def test_the_cli_and_wsframes_archive_take_an_s3_url(s3_archive, fake, same_records, monkeypatch, capsys):
    monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
    argv = ["--plan-id", str(PLAN), "--base-url", fake.base_url, "--start", "5d", "--no-progress"]
    assert main(["sync", "--archive", s3_archive, *argv]) == 0
    assert s3_archive in capsys.readouterr().out
    monkeypatch.setenv("WSFRAMES_ARCHIVE", s3_archive)  # the default location may be on S3 too
    assert main(["sync", *argv]) == 0
    assert same_records(scan_activity(plan_id=PLAN).collect(), fake.truth(PLAN))
    assert main(["archive", "verify"]) == 0
