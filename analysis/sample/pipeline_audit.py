"""Planted process-audit effects for the sample data (``stage_history``, ``close_date_changes``).

The stage history is re-timed as a semi-Markov process: each entry into an open stage
lasts a log-normal time whose median is planted per team and stage (one **slow stage**
in one team), a closed deal closes at its fixed close time from whatever stage it is in,
and an open deal keeps going past the snapshot (its current spell is censored there).
The generator knows every spell's true length, including the part after the snapshot,
so ``planted.json`` records the realised true median per team and stage: the value a
censoring-aware estimate should recover, and the naive mean over the spells that already
ended (what pipeline tools show) for contrast.

Open deals are then made unambiguous for the stall rule: each is either **stalled** (in
its stage for more than ``STALLED_FACTOR`` times the team's true p80 of that stage) or
**fresh** (under ``FRESH_FACTOR`` times it); deals in between are moved into their stage
(or the next one) more recently. Close dates: every deal gets a close-date history; chosen
open deals are pushed 1, 2 or 3 times, a few are pulled in (never a push), and a chosen set
is past due (expected close before the snapshot date). All sets are in ``planted.json``.

A separate random stream (seeded from the sample seed) is used, so the other planted
effects are untouched.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

DAY = 86_400
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
WON, LOST = "Closed Won", "Closed Lost"
#: planted median days in stage for every team ...
BASE_MEDIAN_DAYS = {"Prospecting": 6.0, "Qualification": 8.0, "Proposal": 9.0, "Negotiation": 10.0}
#: ... except the slow stage of one team
SLOW_STAGE = {"team": "Mid-Market West", "stage": "Proposal", "median_days": 24.0}
SIGMA = 0.45
STALLED_FACTOR = 1.8
STALLED_PER_TEAM = 4  # fresh open deals per team moved back to sit in their stage for long
STALLED_GAP = (2.2, 3.2)  # ... for this many times the team's true p80 of the stage
FRESH_FACTOR = 0.45
PUSHES = {1: 14, 2: 10, 3: 6}  # pushes -> number of open deals pushed that many times
PULLED_IN = 6
PAST_DUE = 18
EPOCH = date(1970, 1, 1)


def _fmt(seconds: np.ndarray) -> list[str]:
    stamps = np.asarray(seconds, dtype="int64").astype("datetime64[s]")
    return [f"{s}Z" for s in stamps.astype(str)]


def _medians(teams: np.ndarray) -> np.ndarray:
    """Planted median days, shape (deals, stages)."""
    base = np.array([BASE_MEDIAN_DAYS[s] for s in STAGES])
    out = np.tile(base, (len(teams), 1))
    slow = teams == SLOW_STAGE["team"]
    out[slow, STAGES.index(SLOW_STAGE["stage"])] = SLOW_STAGE["median_days"]
    return out


def simulate(
    deals: pl.DataFrame, *, as_of_s: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Stage history, close-date history and the true spells for ``deals``.

    ``deals`` has ``opportunity_id, team, owner_id, created_s, closed, won, close_s``
    (``close_s`` the close time in epoch seconds, ignored for open deals).
    Returns ``(stage_history, close_date_changes, spells)``: the first two as the
    canonical text tables (UTC ``Z`` timestamps), ``spells`` one row per true spell.

    A deal whose drawn path would end before its fixed close (or, open, before the
    snapshot) has every spell stretched by the same factor, so the time is spread over
    its stages instead of piling up in the last one.
    """
    n = deals.height
    k_stages = len(STAGES)
    teams = deals["team"].to_numpy()
    created = deals["created_s"].to_numpy().astype(np.float64)
    closed = deals["closed"].to_numpy()
    won = deals["won"].to_numpy()
    close = np.where(closed, deals["close_s"].to_numpy().astype(np.float64), np.inf)
    med = _medians(teams) * DAY
    draws = med * np.exp(SIGMA * rng.standard_normal((n, k_stages)))
    total = draws.sum(axis=1)
    # closed deals that would finish every stage before their close: stretch to close at the end
    stretch = np.ones(n)
    short = closed & (created + total < close)
    stretch[short] = (close[short] - created[short]) / total[short]
    # open deals that would finish before the snapshot: stretch so they are mid-Negotiation
    share = rng.uniform(0.2, 0.9, n)
    partial = draws[:, :-1].sum(axis=1) + share * draws[:, -1]
    early = ~closed & (created + partial <= as_of_s)
    stretch[early] = (as_of_s - created[early]) / partial[early]
    draws *= stretch[:, None]
    entry = created[:, None] + np.concatenate(
        [np.zeros((n, 1)), np.cumsum(draws[:, :-1], axis=1)], axis=1
    )
    horizon = np.where(closed, close, as_of_s)
    reached = entry < horizon[:, None]
    reached[~closed] = entry[~closed] <= as_of_s
    reached[:, 0] = True
    current = reached.sum(axis=1) - 1
    # open deals: stalled or fresh, nothing in between (moved into their stage more recently)
    open_idx = np.flatnonzero(~closed & (created <= as_of_s))
    true = _true_lengths(entry, reached, draws, closed, close)
    p80 = _true_quantiles(teams, reached & (entry <= as_of_s), true, 0.8)
    # a moved spell's true length: drawn from its team and stage's other spells that lasted
    # at least as long (so the moved deals behave like the deals still at risk)
    pools = {
        (team, k): np.sort(true[(teams == team) & reached[:, k], k])
        for team in np.unique(teams)
        for k in range(k_stages)
    }
    age = as_of_s - entry[open_idx, current[open_idx]]
    thr = np.array([p80[(teams[i], current[i])] for i in open_idx])
    ambiguous = (age >= FRESH_FACTOR * thr) & (age <= STALLED_FACTOR * thr)
    for i in open_idx[ambiguous]:
        k = current[i]
        if k == 0:  # still in the first stage since creation: move it on to the next one
            k = 1
            reached[i, 1] = True
            current[i] = 1
        limit = min(FRESH_FACTOR * p80[(teams[i], k)], 0.8 * (as_of_s - entry[i, k - 1]))
        new_age = limit * rng.uniform(0.15, 0.9)
        entry[i, k] = as_of_s - new_age
        draws[i, k] = _longer_than(pools[(teams[i], k)], new_age, rng)
        reached[i, k + 1 :] = False
    # planted stalled deals: a few fresh open deals per team have sat in their stage for long
    fresh = open_idx[~ambiguous & (age < FRESH_FACTOR * thr)]
    for team in np.unique(teams):
        k_of = current[fresh]
        new_age = np.array(
            [STALLED_GAP[1] * p80[(team, k)] for k in k_of]
        )  # the longest planted age must fit after the previous entry
        fits = (teams[fresh] == team) & (k_of > 0)
        fits &= as_of_s - new_age > entry[fresh, np.maximum(k_of - 1, 0)]
        chosen = fresh[fits][:STALLED_PER_TEAM]
        for i in chosen:
            k = current[i]
            new = p80[(team, k)] * rng.uniform(*STALLED_GAP)
            entry[i, k] = as_of_s - new
            draws[i, k] = _longer_than(pools[(team, k)], new, rng)
    # every open deal's current spell continues like its team and stage's spells that
    # lasted at least as long: the censoring is uninformative, as Kaplan–Meier assumes
    for i in open_idx:
        k = current[i]
        draws[i, k] = _longer_than(pools[(teams[i], k)], as_of_s - entry[i, k], rng)
    true = _true_lengths(entry, reached, draws, closed, close)
    ids = deals["opportunity_id"].to_numpy()
    stage_rows = []
    spell_rows = []
    for k, stage in enumerate(STAGES):
        seen = reached[:, k] & (entry[:, k] <= as_of_s)
        m = int(seen.sum())
        stage_rows.append(
            pl.DataFrame({"opportunity_id": ids[seen], "stage": [stage] * m, "_t": entry[seen, k]})
        )
        spell_rows.append(
            pl.DataFrame(
                {
                    "opportunity_id": ids[seen],
                    "team": teams[seen],
                    "stage": [stage] * m,
                    "entered_s": entry[seen, k],
                    "true_days": true[seen, k] / DAY,
                    "censored": entry[seen, k] + true[seen, k] > as_of_s,
                    "current": (current == k)[seen] & ~closed[seen],
                }
            )
        )
    close_seen = closed & (close <= as_of_s)
    stage_rows.append(
        pl.DataFrame(
            {
                "opportunity_id": ids[close_seen],
                "stage": np.where(won[close_seen], WON, LOST).tolist(),
                "_t": close[close_seen],
            }
        )
    )
    history = (
        pl.concat(stage_rows)
        .with_columns(pl.col("_t").round(0).cast(pl.Int64))
        .sort("opportunity_id", "_t")
    )
    history = history.with_columns(pl.Series("entered_at", _fmt(history["_t"].to_numpy()))).drop(
        "_t"
    )
    spells = pl.concat(spell_rows).sort("opportunity_id", "entered_s")
    changes = _close_dates(deals, as_of_s=as_of_s, rng=rng)
    return history, changes, spells


def _longer_than(pool: np.ndarray, age: float, rng: np.random.Generator) -> float:
    """A draw from ``pool`` among the values above ``age`` (else a bit above ``age``)."""
    longer = pool[np.isfinite(pool) & (pool > age)]
    if len(longer) == 0:
        return float(age * rng.uniform(1.1, 1.5))
    return float(longer[rng.integers(0, len(longer))])


def _true_lengths(
    entry: np.ndarray, reached: np.ndarray, draws: np.ndarray, closed: np.ndarray, close: np.ndarray
) -> np.ndarray:
    """True spell lengths (seconds): to the next entry, else to the close, else the draw."""
    nxt = np.concatenate([entry[:, 1:], np.full((len(entry), 1), np.inf)], axis=1)
    nxt_reached = np.concatenate([reached[:, 1:], np.zeros((len(entry), 1), bool)], axis=1)
    end = np.where(nxt_reached, nxt, np.where(closed[:, None], close[:, None], entry + draws))
    return np.where(reached, end - entry, np.nan)


def _true_quantiles(
    teams: np.ndarray, mask: np.ndarray, true: np.ndarray, q: float
) -> dict[tuple[str, int], float]:
    out = {}
    for team in np.unique(teams):
        for k in range(len(STAGES)):
            values = true[(teams == team) & mask[:, k], k]
            values = values[np.isfinite(values)]
            out[(team, k)] = float(np.quantile(values, q)) if len(values) else np.inf
    return out


def _close_dates(deals: pl.DataFrame, *, as_of_s: int, rng: np.random.Generator) -> pl.DataFrame:
    """Expected close-date history: one row per value, with planted pushes, pulls, past due."""
    closed = deals["closed"].to_numpy()
    created = deals["created_s"].to_numpy()
    ids = deals["opportunity_id"].to_numpy()
    as_of_day = int(as_of_s // DAY)
    open_idx = np.flatnonzero(~closed & (created <= as_of_s))
    picks = rng.permutation(open_idx)
    n_push = sum(PUSHES.values())
    pushes = np.zeros(len(ids), dtype=np.int64)
    start = 0
    for k, count in PUSHES.items():
        pushes[picks[start : start + count]] = k
        start += count
    pulled = np.zeros(len(ids), dtype=bool)
    pulled[picks[n_push : n_push + PULLED_IN]] = True
    past_due = np.zeros(len(ids), dtype=bool)
    past_due[rng.choice(open_idx, size=min(PAST_DUE, len(open_idx)), replace=False)] = True
    out_id, out_day, out_at = [], [], []
    for i in range(len(ids)):
        if closed[i]:
            final = int(deals["close_s"][i] // DAY)
            steps = 0
        else:
            final = as_of_day + (
                -int(rng.integers(3, 21)) if past_due[i] else int(rng.integers(5, 60))
            )
            steps = pushes[i] + int(pulled[i])
        span = max(as_of_s - int(created[i]), 3600) if not closed[i] else 0
        times = np.sort(rng.uniform(0.05, 0.95, steps)) * span + created[i] if steps else []
        moves = []
        for _ in range(pushes[i] if not closed[i] else 0):
            moves.append(int(rng.integers(7, 31)))  # later
        if pulled[i] and not closed[i]:
            moves.insert(int(rng.integers(0, len(moves) + 1)), -int(rng.integers(5, 12)))
        values = [final]
        for move in reversed(moves):
            values.insert(0, values[0] - move)
        stamps = [int(created[i]), *(int(t) for t in times)]
        out_id += [ids[i]] * len(values)
        out_day += values
        out_at += stamps
    return pl.DataFrame(
        {
            "opportunity_id": out_id,
            "close_date": [(EPOCH + timedelta(days=d)).isoformat() for d in out_day],
            "changed_at": _fmt(np.array(out_at)),
        }
    )


def planted_block(
    spells: pl.DataFrame,
    changes: pl.DataFrame,
    deals: pl.DataFrame,
    *,
    as_of_s: int,
) -> dict[str, Any]:
    """What the process-audit metrics should recover (for ``planted.json``)."""
    truth = spells.group_by("team", "stage").agg(
        pl.col("true_days").median().alias("true_median_days"),
        pl.col("true_days").quantile(0.8).alias("true_p80_days"),
        pl.col("true_days").filter(~pl.col("censored")).mean().alias("naive_mean_exited_days"),
        pl.col("censored").sum().alias("censored"),
        pl.len().alias("entered"),
    )
    every = (
        spells.with_columns(pl.lit("all").alias("team"))
        .group_by("team", "stage")
        .agg(
            pl.col("true_days").median().alias("true_median_days"),
            pl.col("true_days").quantile(0.8).alias("true_p80_days"),
            pl.col("true_days").filter(~pl.col("censored")).mean().alias("naive_mean_exited_days"),
            pl.col("censored").sum().alias("censored"),
            pl.len().alias("entered"),
        )
    )
    durations: dict[str, dict[str, Any]] = {}
    for row in pl.concat([truth, every]).sort("team", "stage").iter_rows(named=True):
        durations.setdefault(row["team"], {})[row["stage"]] = {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in row.items()
            if k not in ("team", "stage")
        }
    current = spells.filter(pl.col("current"))
    p80 = truth.select("team", "stage", "true_p80_days")
    current = current.join(p80, on=["team", "stage"]).with_columns(
        ((as_of_s - pl.col("entered_s")) / DAY).alias("age_days")
    )
    stalled = current.filter(pl.col("age_days") > pl.col("true_p80_days"))
    fresh = current.filter(pl.col("age_days") <= pl.col("true_p80_days"))
    as_of_day = EPOCH + timedelta(days=int(as_of_s // DAY))
    hist = (
        changes.with_columns(pl.col("close_date").str.to_date())
        .sort("opportunity_id", "changed_at")
        .with_columns(pl.col("close_date").shift(1).over("opportunity_id").alias("prev"))
        .group_by("opportunity_id")
        .agg(
            (pl.col("close_date") > pl.col("prev")).sum().alias("pushes"),
            (pl.col("close_date") < pl.col("prev")).sum().alias("pulls"),
            pl.col("close_date").last().alias("final"),
        )
    )
    open_deals = deals.filter(~pl.col("closed"), pl.col("created_s") <= as_of_s).join(
        hist, on="opportunity_id", how="left"
    )
    stalled_ids = set(stalled["opportunity_id"].to_list())
    per_rep = (
        open_deals.with_columns(
            pl.col("opportunity_id").is_in(list(stalled_ids)).alias("stalled"),
            (pl.col("final") < as_of_day).alias("past_due"),
        )
        .group_by("owner_id", "team")
        .agg(
            pl.len().alias("open_deals"),
            pl.col("stalled").sum(),
            (pl.col("pushes") >= 2).sum().alias("pushed_twice_or_more"),
            pl.col("past_due").sum(),
        )
        .sort("owner_id")
    )
    return {
        "description": (
            "stage durations: log-normal per team and stage (sigma "
            f"{SIGMA}), one slow stage; medians below are the realised true spell lengths, "
            "including the part of open spells after the snapshot"
        ),
        "planted_median_days": {**BASE_MEDIAN_DAYS},
        "slow_stage": SLOW_STAGE,
        "sigma": SIGMA,
        "snapshot_utc": _fmt(np.array([as_of_s]))[0],
        "stage_order": list(STAGES),
        "durations": durations,
        "stalled_rule": (
            f"open deals are in their stage either more than {STALLED_FACTOR} x or less than "
            f"{FRESH_FACTOR} x the team's true p80 of that stage"
        ),
        "stalled": sorted(stalled_ids),
        "fresh": sorted(fresh["opportunity_id"].to_list()),
        "close_date_pushes": {
            r["opportunity_id"]: int(r["pushes"])
            for r in open_deals.filter(pl.col("pushes") > 0).iter_rows(named=True)
        },
        "pulled_in": sorted(open_deals.filter(pl.col("pulls") > 0)["opportunity_id"].to_list()),
        "past_due": sorted(
            open_deals.filter(pl.col("final") < as_of_day)["opportunity_id"].to_list()
        ),
        "pipeline_exceptions": {
            r["owner_id"]: {k: int(v) for k, v in r.items() if k not in ("owner_id", "team")}
            for r in per_rep.iter_rows(named=True)
        },
    }


def org_deals(org: Any) -> pl.DataFrame:
    """The sample organisation's deals as :func:`simulate` takes them."""
    o, sh = org.o, org.sh
    n = org.n_opps
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, sh["opp"], sh["entered"])
    return pl.DataFrame(
        {
            "opportunity_id": [f"O{i + 1:06d}" for i in range(n)],
            "team": [org.team_names[t] for t in o["team"]],
            "owner_id": org.rep_ids[o["owner"]].tolist(),
            "created_s": o["created_utc"].astype(np.int64),
            "closed": o["closed"],
            "won": o["won"],
            "close_s": np.where(o["closed"], last, -1),
        }
    )


def plant(org: Any, clean: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Re-time ``clean["stage_history"]``, add ``clean["close_date_changes"]``; return the block.

    The hook of :func:`analysis.sample.generate.generate_sample`. Uses its own random
    stream, so every other planted effect is unchanged.
    """
    rng = np.random.default_rng([org.seed, 13])
    deals = org_deals(org)
    history, changes, spells = simulate(deals, as_of_s=int(org.as_of_s), rng=rng)
    clean["stage_history"] = history.select("opportunity_id", "stage", "entered_at")
    clean["close_date_changes"] = changes
    return planted_block(spells, changes, deals, as_of_s=int(org.as_of_s))


def dirty_close_dates(
    frame: pl.DataFrame, rng: np.random.Generator
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Append dirty ``close_date_changes`` rows (each wrong in one way), interleaved.

    Two exact duplicates, one unparseable date, one unparseable timestamp, one missing
    opportunity id.
    """
    picks = np.sort(rng.choice(frame.height, size=5, replace=False))
    dup = frame[picks[:2]]
    bad_date = frame[picks[2:3]].with_columns(pl.lit("2026-02-30").alias("close_date"))
    bad_ts = frame[picks[3:4]].with_columns(pl.lit("soon").alias("changed_at"))
    missing = frame[picks[4:5]].with_columns(pl.lit(None, pl.String).alias("opportunity_id"))
    keys = np.concatenate(
        [
            np.arange(frame.height, dtype=np.float64),
            picks[:2] + 0.5,
            rng.uniform(0, frame.height, 3),
        ]
    )
    combined = pl.concat([frame, dup, bad_date, bad_ts, missing])
    counts = {"duplicate": 2, "missing_required_value": 1, "unparseable_value": 2}
    return combined[np.argsort(keys, kind="stable")], counts
