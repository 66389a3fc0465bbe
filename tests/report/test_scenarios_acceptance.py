"""Generated scenarios as the acceptance test of the report's alerts (issue 18 item 10).

A fixed set of seeds runs here in half a minute; ``scripts/soak_scenarios.py`` runs hundreds and
prints the failing seeds for replay. Goals: detection >= 95% of planted incidents with segment
and start, <= 1 false alarm per 100 healthy reports. Measured by the soak over seeds 0-99
(<= 100k records each; every kind, on every dimension including plans, sub-users, proxy networks
and countries): 94.2% detected (146/155; the misses mostly a broad segment's burst named by its
busiest member), none of 25 healthy reports with a false alarm, 0.05 false alarms per report.
This fixed set measures 100% (47/47) and 0.00: the floors below sit under it, so that a
regression fails here; the goal itself is tracked by the soak.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wsframes.analysis import find_incidents
from wsframes.fake import generate_activity
from wsframes.fake.incidents import INCIDENT_KINDS
from wsframes.fake.proxies import proxy_frame
from wsframes.fake.scenarios import draw_scenario, judge, over_disperse
from wsframes.report import build_report

SEEDS = range(100, 130)
MAX_RECORDS = 150_000


@pytest.fixture(scope="module")
def verdicts() -> list[tuple[object, dict[str, list[object]]]]:
    out = []
    for seed in SEEDS:
        sc = draw_scenario(seed, max_records=MAX_RECORDS)
        out.append((sc, judge(find_incidents(sc.current, baseline=sc.baseline, tz=sc.tz), sc)))
    return out


def test_planted_incidents_are_found_with_segment_and_start(verdicts: list) -> None:
    planted = sum(len(sc.incidents) for sc, _ in verdicts)
    detected = sum(len(v["detected"]) for _, v in verdicts)
    kinds = {inc.kind for sc, _ in verdicts for inc in sc.incidents}
    assert planted >= 30 and kinds == set(INCIDENT_KINDS)
    assert detected / planted >= 0.95, [(sc.seed, v["missed"]) for sc, v in verdicts if v["missed"]]


def test_healthy_weeks_raise_nothing_and_others_little_beside_the_truth(verdicts: list) -> None:
    healthy = [v for sc, v in verdicts if not sc.incidents]
    assert len(healthy) >= 4 and not [v["false"] for v in healthy if v["false"]]
    assert sum(len(v["false"]) for _, v in verdicts) <= 0.1 * len(verdicts)


def test_a_scenario_is_reproducible() -> None:
    one, two = draw_scenario(7, max_records=100_000), draw_scenario(7, max_records=100_000)
    assert_frame_equal(one.frame, two.frame)
    assert one.incidents == two.incidents


def test_over_dispersion_spreads_hourly_failure_shares_and_keeps_the_volume() -> None:
    frame = generate_activity(200_000, start="2026-11-01", end="2026-11-15", seed=3)

    def spread(f: pl.DataFrame) -> tuple[float, float]:
        hourly = f.group_by(pl.col("timestamp").dt.truncate("1h")).agg(
            pl.len().alias("n"), pl.col("error_reason").is_not_null().mean().alias("share")
        )
        p = float(f["error_reason"].is_not_null().mean())
        return float(hourly["share"].var()), float(np.mean(p * (1 - p) / hourly["n"].to_numpy()))

    spread_out = over_disperse(frame, 50, np.random.default_rng(1))
    variance, binomial = spread(spread_out)
    assert variance > 3 * binomial  # Beta(a + b = 50) spread, far beyond chance alone
    assert spread(frame)[0] < 1.5 * spread(frame)[1]  # the generator alone is binomial
    assert spread_out.height > 0.95 * frame.height


# 121 (two plans): error bursts through the proxies in the US and in DE, DE's proxies slow;
# 125 (sub-users): a domain's burst, a new code, a client's drop.
@pytest.mark.parametrize("seed", [121, 125])
def test_the_full_report_of_a_scenario_names_its_incidents(tmp_path, seed: int) -> None:
    sc = draw_scenario(seed, max_records=300_000)
    assert sc.incidents
    proxies = tmp_path / "proxies.parquet"
    proxy_frame().write_parquet(proxies)  # the report learns countries and networks from the list
    data = sc.frame.drop("proxy_country", "proxy_asn")
    result = build_report(sc.start, sc.end, data=data, tz=sc.tz, compare_previous=True, out_dir=tmp_path,
                          proxies=proxies)
    page = result.html_path.read_text(encoding="utf-8")
    alerts = page[page.index(">Alerts<") : page.index(">Latency<")]
    assert "Section failed" not in alerts
    for inc in sc.incidents:
        assert str(inc.value or inc.code) in alerts, inc
