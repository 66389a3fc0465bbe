"""Soak find_incidents (the report's alerts) on generated scenarios; print rates and failing seeds.

Each seed draws a scenario (:mod:`wsframes.fake.scenarios`): 1-4 weeks at 30-3,000 requests an
hour, over-dispersed failures, weekly and daily cycles, 0-3 planted incidents, maybe a previous
period. A planted incident is detected when an incident of its kind names its segment and starts
within one bucket of it; anything else found is a false alarm.

Usage: python scripts/soak_scenarios.py [--seeds 0:200] [--max-records 300000]
Replay one seed: python scripts/soak_scenarios.py --seeds 17:18 --verbose
"""

from __future__ import annotations

import argparse
import time

from wsframes.analysis import find_incidents
from wsframes.fake.scenarios import draw_scenario, judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0:100", help="first:last (exclusive)")
    parser.add_argument("--max-records", type=int, default=300_000, help="cap per scenario (both periods)")
    parser.add_argument("--verbose", action="store_true", help="print every planted and found incident")
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split(":"))
    planted = detected = false = healthy = healthy_false = errors = 0
    failing: list[int] = []
    by_kind: dict[str, list[int]] = {}  # kind -> [detected, planted]
    started = time.perf_counter()
    for seed in range(first, last):
        try:
            sc = draw_scenario(seed, max_records=args.max_records)
            verdict = judge(find_incidents(sc.current, baseline=sc.baseline, tz=sc.tz), sc)
        except Exception as exc:  # a crash is a finding, not the end of the soak
            errors += 1
            failing.append(seed)
            print(f"seed {seed}: {type(exc).__name__}: {exc}")
            continue
        for inc in sc.incidents:
            tally = by_kind.setdefault(inc.kind, [0, 0])
            tally[0] += inc in verdict["detected"]
            tally[1] += 1
        planted += len(sc.incidents)
        detected += len(verdict["detected"])
        false += len(verdict["false"])
        if not sc.incidents:
            healthy += 1
            healthy_false += bool(verdict["false"])
        if verdict["missed"] or verdict["false"]:
            failing.append(seed)
        if args.verbose or verdict["missed"] or verdict["false"]:
            print(f"seed {seed}: {sc.per_hour}/h, {sc.weeks} wk, previous={sc.previous}, {sc.tz}")
            for inc in verdict["missed"]:
                print(f"  missed {inc.kind} {inc.dimension}={inc.value} {inc.phase or ''} at {inc.start}")
            for row in verdict["false"]:
                where = f"{row['dimension']}={row['value']}"
                print(f"  false  {row['kind']} {row['metric']} {where} at {row['start']}")
    runs = last - first - errors
    print(f"\n{runs} scenarios in {time.perf_counter() - started:.0f} s, {errors} crashed")
    rate = detected / max(planted, 1)
    print(f"detection: {detected}/{planted} planted incidents = {rate:.1%} (goal >= 95%)")
    print("  by kind: " + ", ".join(f"{k} {d}/{n}" for k, (d, n) in sorted(by_kind.items())))
    print(f"false alarms: {false} in {runs} reports = {false / max(runs, 1):.2f} per report")
    print(f"healthy reports with any false alarm: {healthy_false}/{healthy} (goal <= 1 per 100)")
    print(f"failing seeds: {failing}")


if __name__ == "__main__":
    main()
