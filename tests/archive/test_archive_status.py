"""Status, completeness against the API's hourly stats, retention warnings and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from wsframes.archive import archive_status, check_completeness, scan_activity, sync
from wsframes.archive.manifest import Manifest
from wsframes.archive.store import day_path
from wsframes.cli import main
from wsframes.fake import generate_activity

PLAN = 7


def test_status_reports_coverage_gaps_rows_and_size(fake, archive, args):
    now = datetime.now(UTC)
    sync(archive, start=now - timedelta(days=3), end=now - timedelta(days=2), **args)
    sync(archive, start=now - timedelta(days=1), end=now - timedelta(hours=3), **args)
    (plan,) = archive_status(archive).plans
    truth = fake.truth(PLAN)
    ts = pl.col("timestamp")
    expected = truth.filter(((ts >= now - timedelta(days=3)) & (ts < now - timedelta(days=2)))
                            | ((ts >= now - timedelta(days=1)) & (ts < now - timedelta(hours=3))))
    assert plan.rows == expected.height
    assert plan.gaps == [(now - timedelta(days=2), now - timedelta(days=1))]
    assert plan.files == expected["timestamp"].dt.date().n_unique()
    assert plan.bytes_on_disk > 0
    assert plan.warnings == []


def test_gaps_about_to_leave_the_api_window_are_warned(tmp_path):
    now = datetime.now(UTC)
    manifest = Manifest()
    for a, b in [(95, 92), (91, 88), (86, 80), (40, 30)]:
        manifest.record("9", now - timedelta(days=a), now - timedelta(days=b),
                        fetched_at=now - timedelta(days=b - 1), settle=timedelta(hours=2))
    manifest.save(tmp_path)
    (plan,) = archive_status(tmp_path).plans
    text = "\n".join(plan.warnings)
    # 92..91 is lost, 88..86 leaves in about 2 days; 80..40 and the unsynced last 30 days are far
    # from the floor.
    assert len(plan.warnings) == 2, text
    assert "no longer serves" in plan.warnings[0]
    assert "in 2.0 days" in plan.warnings[1]
    assert "wsframes sync --archive" in plan.warnings[1]


def test_completeness_flags_hours_that_gained_records_after_they_settled(fake, archive, args):
    sync(archive, start="5d", **args)
    clean = check_completeness(archive, plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url)
    assert clean.ok and clean.hours_checked > 24 * 3
    assert clean.hours["archived"].sum() == clean.hours["api"].sum()
    # Five records reach the API a day late, long after their hour was archived as final.
    hour = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    fake.add_records(PLAN, generate_activity(5, start=hour + timedelta(minutes=5),
                                             end=hour + timedelta(minutes=40), seed=8, plan_id=PLAN))
    late = check_completeness(archive, plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url)
    assert late.mismatches["hour"].to_list() == [hour]
    assert late.mismatches["difference"].to_list() == [-5]
    assert late.mismatches["final"].to_list() == [True]  # a settled hour: sync will not fix it
    assert not clean.hours.filter(pl.col("hour") > datetime.now(UTC) - timedelta(hours=1))["final"].any()
    assert "1 of" in str(late) and f"{hour:%Y-%m-%d %H:%M}" in str(late)
    nxt = hour + timedelta(hours=1)
    assert late.repair_commands() == [f"wsframes sync --archive {archive} --plan-id {PLAN} --refetch "
                                      f"--start {hour:%Y-%m-%dT%H:%M}Z --end {nxt:%Y-%m-%dT%H:%M}Z"]
    # A whole day of disagreeing hours is one command, not 24 (two days off: never adjacent).
    day = (hour - timedelta(days=2)).replace(hour=0)
    fake.add_records(PLAN, pl.concat([
        generate_activity(2, start=day + timedelta(hours=h, minutes=1),
                          end=day + timedelta(hours=h, minutes=50), seed=h, plan_id=PLAN)
        for h in range(24)]))
    whole = check_completeness(archive, plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url)
    assert whole.mismatches.height == 25 and len(whole.repair_commands()) == 2
    assert f"--start {day:%Y-%m-%dT%H:%M}Z --end {day + timedelta(days=1):%Y-%m-%dT%H:%M}Z" in str(whole)
    sync(archive, start=day, end=day + timedelta(days=1), refetch=True, **args)
    # A plain sync trusts final hours; --refetch repairs exactly the hour asked for.
    sync(archive, start="5d", **args)
    assert not check_completeness(archive, plan_id=PLAN, api_key=fake.api_key,
                                  base_url=fake.base_url).ok
    before = fake.request_count
    sync(archive, start=hour, end=hour + timedelta(hours=1), refetch=True, **args)
    assert fake.request_count - before == 1
    assert check_completeness(archive, plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url).ok


def test_cli_sync_then_status(fake, archive, monkeypatch, capsys):
    monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
    common = ["--archive", str(archive), "--base-url", fake.base_url]
    assert main(["sync", *common, "--start", "3d", "--plan-id", str(PLAN), "--no-progress"]) == 0
    assert "fetched" in capsys.readouterr().out
    assert main(["status", *common]) == 0
    out = capsys.readouterr().out
    assert f"plan {PLAN}:" in out and "rows" in out and "hours match the API" in out
    everything = b"".join(p.read_bytes() for p in archive.rglob("*") if p.is_file())
    assert fake.api_key.encode() not in everything


def test_cli_status_without_a_key_stays_offline_and_says_so(fake, archive, args, monkeypatch, capsys):
    sync(archive, start="2d", **args)
    synced = len(fake.requests)  # sync's loads ask /stats/ too (to balance their slices)
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    assert main(["status", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "completeness not checked" in out and "rows" in out
    assert not any(r.path.endswith("/stats/") for r in fake.requests[synced:])


def test_cli_status_explains_a_missing_archive(tmp_path, capsys):
    assert main(["status", "--archive", str(tmp_path / "none"), "--offline"]) == 2
    assert "wsframes sync --archive" in capsys.readouterr().err


def test_status_warns_about_an_archive_holding_the_default_plan_and_plans_by_id(tmp_path):
    # Archives written before sync refused the mix.
    now = datetime.now(UTC)
    manifest = Manifest()
    for plan in ("default", "7"):
        manifest.record(plan, now - timedelta(days=2), now - timedelta(days=1), fetched_at=now,
                        settle=timedelta(hours=2))
    manifest.save(tmp_path)
    by_plan = {p.plan: p.warnings for p in archive_status(tmp_path).plans}
    assert by_plan["7"] == []
    assert any("count it twice" in w for w in by_plan["default"])


def cut_short(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_damaged_day_is_reported_with_its_repair_which_works(same_records, fake, archive, args,
                                                              monkeypatch, capsys):
    sync(archive, start="3d", **args)
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    cut_short(day_path(archive, str(PLAN), day))
    monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
    assert main(["status", "--archive", str(archive), "--base-url", fake.base_url]) == 1
    out = capsys.readouterr().out
    assert str(day_path(archive, str(PLAN), day)) in out and "completeness not checked" in out
    assert "1 damaged day file(s), their rows not counted" in out
    (plan,) = archive_status(archive).plans
    assert [d.day for d in plan.damaged] == [day]
    # Run the very command status printed; afterwards the archive is whole again.
    command = out.split("from the API: wsframes ")[1].splitlines()[0].split()
    assert command[command.index("--start") + 1] == str(day)
    assert main([*command, "--base-url", fake.base_url, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["status", "--archive", str(archive), "--base-url", fake.base_url]) == 0
    assert "hours match the API" in capsys.readouterr().out
    lo = Manifest.load(archive).covered(str(PLAN))[0][0]
    truth = fake.truth(PLAN).filter(pl.col("timestamp") >= lo)
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), truth)


def test_a_gap_partly_past_the_floor_says_how_to_sync_the_rest_whenever_it_is_run(tmp_path):
    from wsframes.archive.status import retention_warnings

    now = datetime.now(UTC)
    (text,) = retention_warnings([(now - timedelta(days=91), now - timedelta(days=89))], now=now,
                                 warn=timedelta(days=7), archive=tmp_path)
    assert "already lost" in text
    # "90d" is the floor whenever the command runs (sync clamps it), unlike a fixed time.
    assert text.endswith(f"wsframes sync --archive {tmp_path} --start 90d")
