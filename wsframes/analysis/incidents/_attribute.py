"""From significant cells to incidents: runs over time, then the segment that explains each.

Attribution follows Adtributor (Bhagwan et al., NSDI 2014): for a candidate segment, its
**explanatory power** is its share of the account-wide excess (observed minus expected events in
the incident's window) and its **surprise** is the Jensen-Shannon divergence between its expected
and observed share of the events. A segment explains the incident when it carries at least
:data:`MIN_EXPLAINED` of the excess; among those the most surprising wins (a domain that usually
has 2% of the failures and now has 80%), ties going to the more readable dimension.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from scipy.stats import binom

from wsframes.analysis.incidents._cells import ALL, DIMENSIONS, ERROR_REASON

#: Share of the excess a segment must carry to be named as the explanation.
MIN_EXPLAINED = 0.5
#: Below this surprise (JS divergence, nats) a segment is just the account's usual mix.
MIN_SURPRISE = 0.005
#: A segment with more of the window's requests than this is not a "where".
MAX_SEGMENT_SHARE = 0.8
_ORDER = {d: i for i, d in enumerate((*DIMENSIONS, ERROR_REASON, ALL))}


def clusters(found: pl.DataFrame) -> list[pl.DataFrame]:
    """Runs whose time spans overlap (one underlying change seen through many segments)."""
    out: list[pl.DataFrame] = []
    rows = found.sort("start").to_dicts()
    group: list[dict[str, Any]] = []
    end: Any = None
    for row in rows:
        if group and end is not None and row["start"] >= end:
            out.append(pl.DataFrame(group, schema=found.schema))
            group = []
        group.append(row)
        end = row["end"] if end is None or not group[:-1] else max(end, row["end"])
    if group:
        out.append(pl.DataFrame(group, schema=found.schema))
    return out


def _js(p: float, q: float) -> float:
    """Jensen-Shannon divergence of one element (Adtributor's surprise term)."""

    def term(a: float, b: float) -> float:
        return 0.0 if a <= 0 else a * math.log(2 * a / (a + b))

    return 0.5 * (term(p, q) + term(q, p))


def explain(cluster: pl.DataFrame, tested: pl.DataFrame) -> dict[str, Any]:
    """The segment (and its window) that best explains a cluster of runs."""
    start: Any = cluster["start"].min()
    end: Any = cluster["end"].max()
    window = tested.filter(pl.col("t").is_between(start, end, closed="left"))
    sums = window.group_by("dimension", "value").agg(pl.col("k", "expected", "n").sum())
    total = sums.filter(pl.col("dimension") == ALL)
    k_all: Any
    e_all: Any
    n_all: Any
    if total.is_empty():
        k_all, e_all, n_all = sums["k"].max(), sums["expected"].max(), sums["n"].max()
    else:
        k_all, e_all, n_all = total["k"][0], total["expected"][0], total["n"][0]
    excess_all = max(float(k_all - e_all), 1e-9)
    best: tuple[float, int, dict[str, Any]] | None = None
    fallback: tuple[float, int, dict[str, Any]] | None = None
    candidates = cluster.join(sums, on=["dimension", "value"], how="left")
    for row in candidates.iter_rows(named=True):
        if row["k"] is None or row["dimension"] == ALL:
            continue
        power = (row["k"] - row["expected"]) / excess_all
        surprise = _js(row["expected"] / max(e_all, 1e-9), row["k"] / max(k_all, 1))
        # A segment holding most of the traffic (every proxy of a one-subnet plan) is the account.
        broad = row["dimension"] != ERROR_REASON and row["n"] > MAX_SEGMENT_SHARE * n_all
        if power < MIN_EXPLAINED or surprise < MIN_SURPRISE or broad:
            continue
        row["explained"] = min(power, 1.0)
        key = (round(surprise, 2), -_ORDER[row["dimension"]], row)
        if row["dimension"] == ERROR_REASON:
            fallback = max(fallback, key, key=lambda x: x[:2]) if fallback else key
        else:
            best = max(best, key, key=lambda x: x[:2]) if best else key
    chosen = best or fallback
    if chosen is not None:
        return chosen[2]
    whole = cluster.filter(pl.col("dimension") == ALL)
    if whole.height:  # the account as a whole changed and no part of it stands out
        return {
            **whole.join(sums, on=["dimension", "value"], how="left").row(0, named=True),
            "explained": 1.0,
        }
    # Only small segments changed (too small to move the account): name the most significant.
    row = candidates.sort("q").row(0, named=True)
    return {**row, "explained": min(max((row["k"] - row["expected"]) / excess_all, 0.0), 1.0)}


#: Joins the two dimensions (and the two values) of a conjunction: ``domain & client_address``.
AND = " & "
#: Share of the segment's excess the pair must carry, and most of the segment it may hold.
PAIR_EXPLAINED, PAIR_MAX_SHARE = 0.8, 0.8
#: The rest of the segment must show no rise at this one-sided level for the pair to be named.
PAIR_REST_LEVEL = 0.01


def conjunction(
    inside: pl.LazyFrame, usual_rate: float, dimension: str, flag: pl.Expr
) -> tuple[str, str] | None:
    """A second dimension's value that confines a found incident, as in iDice/DIFF's pair search.

    *inside* are the segment's rows in the incident's window and *usual_rate* its usual rate of
    *flag* (failed or slow). A value ``v`` of another dimension is named with the segment when
    the pair carries at least :data:`PAIR_EXPLAINED` of the segment's excess events while holding
    at most :data:`PAIR_MAX_SHARE` of its requests, and the rest of the segment shows no rise
    (one-sided binomial test at :data:`PAIR_REST_LEVEL`): the segment alone then over-states
    where the problem is (e.g. one customer's traffic to a site fails, not the site). Only the
    top values of each dimension by excess are looked at, on the few rows of one incident.
    """
    others = [d for d in DIMENSIONS if d != dimension]
    frames = pl.collect_all(
        [
            inside.group_by(pl.col(d).cast(pl.String).alias("v"))
            .agg(pl.len().alias("n"), flag.sum().alias("k"))
            .drop_nulls("v")
            .with_columns(dim=pl.lit(d))
            for d in others
        ]
        + [inside.select(pl.len().alias("n"), flag.sum().alias("k"))]
    )
    total = frames[-1].row(0, named=True)
    excess = total["k"] - total["n"] * usual_rate
    if excess <= 0:
        return None
    values = pl.concat(frames[:-1]).with_columns(excess=pl.col("k") - pl.col("n") * usual_rate)
    best: tuple[float, int, str, str] | None = None
    for row in values.filter(pl.col("excess") >= PAIR_EXPLAINED * excess).iter_rows(named=True):
        if row["n"] > PAIR_MAX_SHARE * total["n"]:
            continue
        rest_k, rest_n = total["k"] - row["k"], total["n"] - row["n"]
        if rest_n > 0 and binom.sf(rest_k - 1, rest_n, usual_rate) < PAIR_REST_LEVEL:
            continue
        key = (row["excess"], -_ORDER[row["dim"]], row["dim"], row["v"])
        best = key if best is None or key[:2] > best[:2] else best
    return None if best is None else (best[2], best[3])


#: Share of a segment's rows a wider one must hold to contain it (client 203.0.113.10 in sub-user 4).
CONTAINED = 0.95
#: The rest of the wider segment must rise by at least this share of the segment's own rise.
WIDEN_SHARE = 0.5


def widen(row: dict[str, Any], prepared: pl.LazyFrame, inside: pl.Expr, flag: pl.Expr) -> tuple[str, str]:
    """The widest segment containing the found one whose other rows rose alike: the mirror of
    :func:`conjunction`.

    A burst hitting a sub-user (or a country, or the account) uniformly is carried mostly by its
    busiest member, which Adtributor then names. A wider segment *P* holding at least
    :data:`CONTAINED` of the found segment's rows in the window is named instead when the rest of
    *P* (its rows outside the segment) rose too: significantly (one-sided binomial test at
    :data:`PAIR_REST_LEVEL`) and by at least :data:`WIDEN_SHARE` of the segment's own rise, each
    against its own rate outside the window. The account is the widest segment.
    """
    dim, value = row["dimension"], row["value"]
    if dim not in DIMENSIONS:
        return dim, value
    mine = segment(dim, value)
    tops = pl.collect_all(
        [
            prepared.filter(mine & inside)
            .group_by(pl.col(d).cast(pl.String).alias("v"))
            .len()
            .drop_nulls("v")
            .top_k(1, by="len")
            .with_columns(dim=pl.lit(d))
            for d in DIMENSIONS
            if d != dim
        ]
        + [prepared.filter(mine & inside).select(pl.len())]
    )
    held = tops.pop().item()
    wider = [
        (r["dim"], r["v"]) for f in tops for r in f.iter_rows(named=True) if r["len"] >= CONTAINED * held
    ]
    parts = [(dim, value, mine), *((d, v, ~mine & segment(d, v)) for d, v in [*wider, (ALL, ALL)])]
    rates = pl.collect_all(
        [
            prepared.filter(rows)
            .group_by(inside.alias("now"))
            .agg(pl.len().alias("n"), flag.sum().alias("k"))
            for _, _, rows in parts
        ]
    )

    def change(rate: pl.DataFrame) -> tuple[int, int, float] | None:
        now, before = rate.filter(pl.col("now")), rate.filter(~pl.col("now"))
        if now.is_empty() or before.is_empty():
            return None
        return now["n"][0], now["k"][0], before["k"][0] / before["n"][0]

    own = change(rates[0])
    if own is None:
        return dim, value
    rise = own[1] / own[0] - own[2]
    best: tuple[int, str, str] | None = None
    for (d, v, _), rate in zip(parts[1:], rates[1:], strict=True):
        rest = change(rate)
        if rest is None:
            continue
        n, k, usual = rest
        if k / n - usual >= WIDEN_SHARE * rise and binom.sf(k - 1, n, usual) < PAIR_REST_LEVEL:
            best = (n, d, v) if best is None or n > best[0] else best
    return (dim, value) if best is None else (best[1], best[2])


def segment(dimension: str, value: str) -> pl.Expr:
    """Rows of a segment; a conjunction (``a & b``) is both conditions."""
    if dimension == ALL:
        return pl.lit(True)
    conditions = zip(dimension.split(AND), value.split(AND), strict=True)
    return pl.all_horizontal([pl.col(d).cast(pl.String) == v for d, v in conditions])


def narrow_to_pair(
    row: dict[str, Any], prepared: pl.LazyFrame, inside: pl.Expr, flag: pl.Expr
) -> tuple[str, str]:
    """The incident's segment, narrowed to a conjunction of two dimensions when one explains it."""
    dim, value = row["dimension"], row["value"]
    if dim not in DIMENSIONS or not row.get("N0"):
        return dim, value
    found = conjunction(prepared.filter(segment(dim, value) & inside), row["K0"] / row["N0"], dim, flag)
    if found is None:
        return dim, value
    other, other_value = found
    # A value nested in the segment (a hostname of the domain) is the whole explanation alone.
    alone, both = (
        prepared.filter(inside & segment(other, other_value))
        .select(pl.len(), segment(dim, value).sum())
        .collect()
        .row(0)
    )
    if both >= 0.95 * alone:
        return other, other_value
    pair = sorted([(dim, value), found], key=lambda c: _ORDER[c[0]])
    return AND.join(c[0] for c in pair), AND.join(c[1] for c in pair)
