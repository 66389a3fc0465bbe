"""Generated weeks with known truth: the acceptance test of the report's alerts (issue 18).

:func:`draw_scenario` composes, from a seed, a realistic stretch of traffic and its ground truth:

- volume 30-3,000 requests an hour (log-uniform), 1-4 weeks, a display time zone;
- the generator's daily wave, plus a weekly one (weekends, in the scenario's time zone, carry
  50-100% of weekday traffic);
- over-dispersion: each hour's failure share is drawn from a Beta around the usual share with
  dispersion 50-200 (real hours vary more than binomial): successes turned into failures as the
  API logs them, or failures dropped, so the volume stays;
- the proxy's country and network (ASN) on every row, as :func:`wsframes.analysis.enrich` adds
  them from the proxy list; a third of the scenarios read two plans (``plan_id``: each plan its
  own proxy ranges), a third four sub-users (``subuser_id``, by client);
- 0-3 incidents from every kind, on every segment the fake can plant (the account, a domain,
  a host name, a proxy address, its /24, network and country, a client, a listen address, a plan,
  a sub-user; error codes through ``new_error_code``; volume drops and bandwidth surges on the
  demand side only: the account, a domain, a host name, a client, a plan, a sub-user, on a
  weekday unless the period holds two weeks of weekends),
  latency per phase, each at or above the documented minimum effects
  (:data:`MINIMUM`) and on a segment busy enough to show it;
- half of the scenarios with a previous period (the week before) to compare with.

:func:`judge` matches what was found against what was planted: a planted incident is detected
when an incident of its kind names its segment and starts within one bucket of it; anything else
found is a false alarm. ``scripts/soak_scenarios.py`` runs hundreds of seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from wsframes.analysis.pool import enrich
from wsframes.fake.generate import generate_activity
from wsframes.fake.incidents import INCIDENT_KINDS, Incident, fail, plant, segment_column
from wsframes.fake.proxies import proxy_frame

__all__ = ["MINIMUM", "Scenario", "draw_scenario", "judge", "over_disperse"]

#: The smallest change each kind is planted with, and the busiest share a "segment" may hold.
MINIMUM: dict[str, Any] = {
    "error_burst": {"size": 0.6, "hours": 4, "segment_per_hour": 15},
    "latency_regression": {"size": 4.0, "hours": 12, "segment_per_hour": 15},
    "traffic_gap": {"hours": 6, "expected": 60},
    "new_error_code": {"size": 0.1, "hours": 24},
    # A drop's size is the share of requests lost; a surge's the factor on bytes.
    "volume_drop": {"size": 0.6, "hours": 12, "segment_per_hour": 30},
    "bandwidth_surge": {"size": 3.0, "hours": 12, "segment_per_hour": 60},
    "max_segment_share": 0.5,
}
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
DIMENSIONS = ("domain", "hostname", "proxy_address", "proxy_net", "proxy_asn", "proxy_country",
              "client_address", "listen_address")
#: Where volume incidents are looked for (traffic through one proxy moves as the pool rotates).
DEMAND = ("domain", "hostname", "client_address")
#: Dimensions of some scenarios only: several plans, sub-users (both on the demand side too).
SOMETIMES = ("plan_id", "subuser_id")
#: The proxy ranges (third octet) of the second plan, when there are two.
SECOND_PLAN = (4, 5)
VOLUME = ("volume_drop", "bandwidth_surge")
END = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: the periods are whole weeks


@dataclass(frozen=True)
class Scenario:
    """A generated period (and maybe the one before it) with the incidents planted in it."""

    seed: int
    per_hour: int
    weeks: int
    tz: str
    dispersion: float
    weekend: float
    incidents: tuple[Incident, ...]
    previous: bool
    start: datetime
    end: datetime
    frame: pl.DataFrame  # both periods, incidents planted

    @property
    def current(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("timestamp") >= self.start)

    @property
    def baseline(self) -> pl.DataFrame | None:
        return self.frame.filter(pl.col("timestamp") < self.start) if self.previous else None


def draw_scenario(seed: int, *, max_records: int | None = None) -> Scenario:
    """The scenario of *seed* (same seed, same scenario); *max_records* caps the volume."""
    rng = np.random.default_rng([seed, 0x5CE])
    weeks = int(rng.integers(1, 5))
    per_hour = int(np.exp(rng.uniform(np.log(30), np.log(3000))))
    previous = bool(rng.random() < 0.5)
    hours = weeks * 7 * 24 * (2 if previous else 1)
    if max_records is not None:
        per_hour = max(30, min(per_hour, max_records // hours))
    start = END - timedelta(weeks=weeks)
    first = start - timedelta(weeks=weeks) if previous else start
    weekend, dispersion = float(rng.uniform(0.5, 1.0)), float(rng.uniform(50, 200))
    tz = str(rng.choice(ZONES))
    frame = generate_activity(int(per_hour * hours * 1.15), start=first, end=END, seed=seed)
    frame = over_disperse(_weekly(frame, weekend, tz, rng), dispersion, rng)
    frame = _accounts(frame, np.random.default_rng([seed, 0xACC]))
    weekends = weeks * (2 if previous else 1) >= 2  # else a weekend has no other one to compare
    incidents = _incidents(frame.filter(pl.col("timestamp") >= start), start, rng, tz, weekends)
    return Scenario(seed, per_hour, weeks, tz, dispersion, weekend,
                    tuple(incidents), previous, start, END, plant(frame, incidents, seed=seed))  # fmt: skip


def _weekly(frame: pl.DataFrame, weekend: float, tz: str, rng: np.random.Generator) -> pl.DataFrame:
    """Weekends quieter, in the user's own time zone (their Saturday, not UTC's)."""
    local = frame["timestamp"].dt.convert_time_zone(tz)
    keep = np.where(local.dt.weekday().to_numpy() >= 6, weekend, 1.0)
    return frame.filter(pl.Series(rng.random(frame.height) < keep))


def over_disperse(frame: pl.DataFrame, dispersion: float, rng: np.random.Generator) -> pl.DataFrame:
    """Each hour's failure share drawn from Beta(mean = the usual share, a + b = *dispersion*).

    An hour above its usual share gets successes turned into failures (codes drawn from the
    period's mix, logged as the API logs them); an hour below loses some failures. Volume stays.
    """
    failed = frame["error_reason"].is_not_null().to_numpy()
    hour = frame["timestamp"].dt.truncate("1h").rank("dense").to_numpy() - 1
    mean = float(failed.mean()) if len(failed) else 0.0
    if not 0 < mean < 1:
        return frame
    target = rng.beta(mean * dispersion, (1 - mean) * dispersion, size=int(hour.max()) + 1)
    n = np.bincount(hour).astype(float)
    n_fail = np.bincount(hour, weights=failed)
    flip = np.clip((target * n - n_fail) / np.maximum(n - n_fail, 1), 0, 1)[hour]
    keep_fail = np.clip((n - n_fail) * target / np.maximum((1 - target) * n_fail, 1e-9), 0, 1)[hour]
    u = rng.random(frame.height)
    codes = frame["error_reason"].drop_nulls().cast(pl.String).value_counts().sort("error_reason")
    shares = (codes["count"] / codes["count"].sum()).to_numpy()
    drawn = rng.choice(codes["error_reason"].to_numpy(), size=frame.height, p=shares)
    for code in codes["error_reason"]:
        frame = fail(frame, pl.lit(pl.Series(~failed & (u < flip) & (drawn == code))), code)
    return frame.filter(pl.Series(~failed | (u < keep_fail)))


def _accounts(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The proxy list's country and network on every row; two plans or four sub-users, maybe."""
    frame = enrich(frame, proxy_frame()).select(*frame.columns, "proxy_country", "proxy_asn")
    draw = rng.integers(0, 3)
    if draw == 1:  # each plan its own proxies; failures before any proxy was picked, the first plan's
        octet = pl.col("proxy_address").cast(pl.String).str.split(".").list.get(2, null_on_oob=True)
        second = octet.cast(pl.Int64, strict=False).is_in(SECOND_PLAN).fill_null(False)
        frame = frame.with_columns(plan_id=pl.when(second).then(2).otherwise(1).cast(pl.Int64))
    elif draw == 2:  # a sub-user per group of client machines
        client = pl.col("client_address").cast(pl.String)
        frame = frame.with_columns(subuser_id=(client.rank("dense") % 4 + 1).cast(pl.Int64))
    return frame


def _busy_values(
    frame: pl.DataFrame, dimension: str, per_hour: float, start: datetime, hours: float
) -> list[str]:
    """Values of *dimension* with at least *per_hour* requests an hour in the window from *start*
    (a night's traffic, not the period's average) and at most the max share of the period."""
    window = pl.col("timestamp").is_between(start, start + timedelta(hours=hours), closed="left")
    counts = frame.group_by(segment_column(dimension).alias("v")).agg(
        pl.len().alias("all"), window.sum().alias("inside")
    ).drop_nulls("v")
    limit = MINIMUM["max_segment_share"] * frame.height
    busy = counts.filter((pl.col("inside") >= per_hour * hours) & (pl.col("all") <= limit))
    return sorted(busy["v"].to_list())


def _incidents(
    current: pl.DataFrame, start: datetime, rng: np.random.Generator, tz: str, weekends: bool
) -> list[Incident]:
    """0-3 incidents in separate days of the current period, each meeting :data:`MINIMUM`."""
    hours = (END - start) / timedelta(hours=1)
    # Every other day, so that no two incidents overlap (a slowdown lasts up to 24 hours).
    days = rng.permutation(np.arange(1, int(hours // 24) - 1, 2))[: int(rng.integers(0, 4))]
    out: list[Incident] = []
    for day in days:
        kind = str(rng.choice(INCIDENT_KINDS))
        at = start + timedelta(days=int(day), hours=int(rng.integers(0, 12)))
        rule = MINIMUM[kind]
        length = float(rule["hours"] * rng.uniform(1, 2))
        if kind == "traffic_gap":
            if current.height / hours * rule["hours"] >= rule["expected"]:
                out.append(Incident(kind, at, hours=length))
            continue
        if kind == "new_error_code":
            if not any(i.kind == kind for i in out):
                out.append(Incident(kind, at, hours=length, code="upstream_tls_failure",
                                    size=float(rng.uniform(rule["size"], 0.3))))  # fmt: skip
            continue
        extra = tuple(d for d in SOMETIMES if d in current.columns)
        dimension = str(rng.choice((*DEMAND, *extra) if kind in VOLUME else (*DIMENSIONS, *extra)))
        values = _busy_values(current, dimension, rule["segment_per_hour"], at, length)
        weekend = at.astimezone(ZoneInfo(tz)).weekday() >= 5
        inside = current.filter(pl.col("timestamp").is_between(at, at + timedelta(hours=length), "left"))
        quiet = not values and inside.height < rule["segment_per_hour"] * length
        if quiet or (kind in VOLUME and weekend and not weekends):
            continue  # below the minimum: too few requests, or no usual to compare with
        segment = (dimension, str(rng.choice(values))) if values else (None, None)
        phase = str(rng.choice(["handshake", "tunnel", "all"])) if kind == "latency_regression" else "all"
        out.append(Incident(kind, at, hours=length, dimension=segment[0], value=segment[1],
                            size=float(rule["size"] * rng.uniform(1, 1.5)),
                            phase=None if phase == "all" else phase))  # fmt: skip
    return out


def judge(
    found: pl.DataFrame, scenario: Scenario, *, bucket: timedelta = timedelta(hours=1)
) -> dict[str, list[Any]]:
    """``detected`` and ``missed`` planted incidents, and ``false``: found rows nobody planted.

    A segment named differently but holding the same requests (a proxy and the one listen
    address it is reached by) is the planted one: at least :data:`SAME_ROWS` of either's
    requests in the window belong to the other.
    """
    rows = found.to_dicts()
    matched: set[int] = set()
    detected, missed = [], []
    for inc in scenario.incidents:
        hit = next(
            (i for i, r in enumerate(rows) if i not in matched and _matches(r, inc, scenario, bucket)), None
        )
        if hit is None:
            missed.append(inc)
        else:
            matched.add(hit)
            detected.append(inc)
    false = [r for i, r in enumerate(rows) if i not in matched]
    return {"detected": detected, "missed": missed, "false": false}


#: Share of requests two segments must have in common to be the same place.
SAME_ROWS = 0.8


def _matches(row: dict[str, Any], inc: Incident, scenario: Scenario, bucket: timedelta) -> bool:
    kinds = {"new_error_code": ("new_error_code", "error_burst")}.get(inc.kind, (inc.kind,))
    if row["kind"] not in kinds or abs(row["start"] - inc.start) > bucket:
        return False
    if inc.kind == "latency_regression" and inc.phase and row["metric"] != f"{inc.phase}_duration_p95":
        return False
    if inc.kind == "new_error_code":
        return bool(row["value"] == inc.code)
    if inc.dimension is None:  # the account, or the one code its failures carry
        return row["dimension"] == "all" or (row["dimension"], row["value"]) == ("error_reason", inc.code)
    if (row["dimension"], row["value"]) == (inc.dimension, inc.value):
        return True
    if row["dimension"] in ("all", "error_reason") or " & " in row["dimension"]:
        return False
    window = scenario.current.filter(pl.col("timestamp").is_between(inc.start, inc.end, closed="left"))
    mine = window.select(segment_column(str(inc.dimension)) == inc.value).to_series().fill_null(False)
    theirs = window.select(segment_column(row["dimension"]) == row["value"]).to_series().fill_null(False)
    both = int((mine & theirs).sum())
    return both >= SAME_ROWS * max(int(mine.sum()), int(theirs.sum()), 1)
