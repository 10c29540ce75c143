"""Scenario simulators for the rep-comparison calibration (skill gaps, BDR funnel, handoffs).

Each function builds clean canonical tables (typed like ``canonical.schemas``) for many
independent teams at once, with the truth known, so one call of the metric covers a
whole batch of replications. Used by ``benchmarks/calibration/rep_comparisons.py``
(>= 200 replications per scenario) and, with small fixed seeds, by the tests.

Scenarios (see docs/calibration_rep_comparisons.md):

* ``skill_gap_teams``: AEs with equal (or planted) true win rates and 15-60 closed deals.
* ``bdr_teams``: BDRs with equal conversion, plus optional planted BDRs: ``weak`` (a
  fraction of the others' conversion), ``late`` (same conversion, books only in the
  last weeks of the quarter: their deals are still open at as-of), ``perfect`` (every
  meeting won).
* ``handoff_batch``: meetings with known latencies, exported at an as-of time that may
  fall in the middle of the period (untouched meetings censored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from analysis.canonical.schemas import polars_schema
from analysis.periods import Period

__all__ = ["BdrBatch", "bdr_teams", "handoff_batch", "skill_gap_teams"]

Q3 = Period.quarter("2026Q3")
_START = datetime(2026, 7, 1, tzinfo=UTC)
_END = datetime(2026, 10, 1, tzinfo=UTC)


def _frame(table: str, rows: dict[str, list]) -> pl.LazyFrame:
    schema = polars_schema(table)
    n = len(next(iter(rows.values()))) if rows else 0
    data = {name: rows.get(name, [None] * n) for name in schema.names()}
    return pl.DataFrame(data, schema=schema).lazy()


def skill_gap_teams(
    rng: np.random.Generator,
    *,
    teams: int,
    reps_per_team: int,
    rate: float = 0.3,
    closed: tuple[int, int] = (15, 60),
    weak_factor: float | None = None,
    weak_closed: int | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame, dict[str, float]]:
    """(opportunities, reps, true win rate per rep) for ``teams`` AE teams.

    Every rep's true rate is ``rate``; with ``weak_factor`` the first rep of each team
    (``<team>-r0``) has ``rate * weak_factor`` (and ``weak_closed`` deals if given).
    Closed deal counts are uniform on ``closed``; every deal closes in 2026Q3.

    Examples
    --------
    >>> opps, reps, truth = skill_gap_teams(np.random.default_rng(1), teams=2, reps_per_team=3)
    >>> reps.collect().height, len(truth)
    (6, 6)
    """
    opp: dict[str, list] = {
        k: []
        for k in (
            "opportunity_id",
            "owner_id",
            "created_at",
            "stage",
            "is_closed",
            "is_won",
            "closed_at",
            "segment",
        )
    }
    rep_rows: dict[str, list] = {"rep_id": [], "name": [], "role": [], "team": []}
    truth: dict[str, float] = {}
    for t in range(teams):
        team = f"t{t:04d}"
        for r in range(reps_per_team):
            rep_id = f"{team}-r{r}"
            p = rate * weak_factor if (weak_factor is not None and r == 0) else rate
            n = (
                weak_closed
                if (weak_closed is not None and weak_factor is not None and r == 0)
                else int(rng.integers(closed[0], closed[1] + 1))
            )
            won = rng.random(n) < p
            truth[rep_id] = p
            rep_rows["rep_id"].append(rep_id)
            rep_rows["name"].append(rep_id)
            rep_rows["role"].append("AE")
            rep_rows["team"].append(team)
            days = rng.integers(0, 92, n)
            for i in range(n):
                opp["opportunity_id"].append(f"{rep_id}-{i}")
                opp["owner_id"].append(rep_id)
                opp["created_at"].append(datetime(2026, 5, 1, tzinfo=UTC))
                opp["stage"].append("Closed Won" if won[i] else "Closed Lost")
                opp["is_closed"].append(True)
                opp["is_won"].append(bool(won[i]))
                opp["closed_at"].append((_START + timedelta(days=int(days[i]))).date())
                opp["segment"].append("smb")
    return _frame("opportunities", opp), _frame("reps", rep_rows), truth


@dataclass(frozen=True)
class BdrBatch:
    """Canonical tables of a BDR batch and what was planted."""

    meetings: pl.LazyFrame
    opportunities: pl.LazyFrame
    reps: pl.LazyFrame
    as_of: datetime
    planted: dict[str, str]  # rep_id -> "weak" | "late" | "perfect"


def bdr_teams(
    rng: np.random.Generator,
    *,
    teams: int,
    bdrs_per_team: int,
    meetings: tuple[int, int] = (40, 100),
    win_per_meeting: float = 0.15,
    opportunity_share: float = 0.6,
    close_days: tuple[int, int] = (5, 75),
    weak: float | None = None,
    late: bool = False,
    perfect: Sequence[int] = (),
    late_days: int = 30,
    as_of: datetime | None = None,
) -> BdrBatch:
    """BDR teams booking meetings in 2026Q3 with known conversion.

    Each meeting links an opportunity with probability ``opportunity_share``, created two
    days after booking; a linked opportunity is won with probability ``win_per_meeting /
    opportunity_share`` and closes ``close_days`` (uniform) after creation, unless that is
    after ``as_of`` (default: three days after the quarter), when it is still open.
    Planted per team: ``weak`` (``<team>-b0`` converts at ``weak`` x the others), ``late``
    (``<team>-b1`` books only in the last ``late_days`` of the quarter, same conversion),
    ``perfect`` (extra BDRs with that many meetings, booked before the last 25 days, every
    one won within 20 days: all closed at as-of).

    Examples
    --------
    >>> b = bdr_teams(np.random.default_rng(2), teams=2, bdrs_per_team=3, perfect=[12])
    >>> b.reps.collect().height, sorted(set(b.planted.values()))
    (9, ['perfect'])
    """
    as_of = as_of or _END + timedelta(days=3)
    m: dict[str, list] = {
        k: [] for k in ("meeting_id", "booked_by", "booked_at", "status", "opportunity_id")
    }
    o: dict[str, list] = {
        k: []
        for k in (
            "opportunity_id",
            "owner_id",
            "sourced_by",
            "created_at",
            "stage",
            "is_closed",
            "is_won",
            "closed_at",
        )
    }
    reps: dict[str, list] = {"rep_id": [], "name": [], "role": [], "team": []}
    planted: dict[str, str] = {}
    quarter_s = (_END - _START).total_seconds()

    def book(rep_id: str, n: int, win: float, first_s: float, fast: bool = False) -> None:
        last_s = quarter_s - (25 * 86400.0 if fast else 3600.0)  # a perfect BDR's deals all closed
        booked = np.sort(rng.uniform(first_s, last_s, n))
        has_opp = np.ones(n, bool) if fast else rng.random(n) < opportunity_share
        won = np.ones(n, bool) if fast else rng.random(n) < min(win / opportunity_share, 1.0)
        lo, hi = (5, 20) if fast else close_days
        delay = rng.integers(lo, hi + 1, n)
        for i in range(n):
            at = _START + timedelta(seconds=float(booked[i]))
            if at > as_of:
                continue
            mid = f"{rep_id}-m{i}"
            oid = f"{rep_id}-o{i}" if has_opp[i] else None
            m["meeting_id"].append(mid)
            m["booked_by"].append(rep_id)
            m["booked_at"].append(at)
            m["status"].append("held")
            m["opportunity_id"].append(oid)
            if oid is None:
                continue
            created = at + timedelta(days=2)
            if created > as_of:
                continue
            closed_at = created + timedelta(days=int(delay[i]))
            done = closed_at <= as_of
            o["opportunity_id"].append(oid)
            o["owner_id"].append("ae")
            o["sourced_by"].append(rep_id)
            o["created_at"].append(created)
            o["stage"].append(("Closed Won" if won[i] else "Closed Lost") if done else "Open")
            o["is_closed"].append(bool(done))
            o["is_won"].append(bool(done and won[i]))
            o["closed_at"].append(closed_at.date() if done else None)

    def add_rep(rep_id: str, team: str, role: str = "BDR") -> None:
        reps["rep_id"].append(rep_id)
        reps["name"].append(rep_id)
        reps["role"].append(role)
        reps["team"].append(team)

    add_rep("ae", "t-ae", "AE")
    for t in range(teams):
        team = f"t{t:04d}"
        for b in range(bdrs_per_team):
            rep_id = f"{team}-b{b}"
            add_rep(rep_id, team)
            n = int(rng.integers(meetings[0], meetings[1] + 1))
            win, first = win_per_meeting, 0.0
            if weak is not None and b == 0:
                win, planted[rep_id] = win_per_meeting * weak, "weak"
            if late and b == 1:
                first, planted[rep_id] = quarter_s - late_days * 86400.0, "late"
            book(rep_id, n, win, first)
        for j, n in enumerate(perfect):
            rep_id = f"{team}-p{j}"
            add_rep(rep_id, team)
            planted[rep_id] = "perfect"
            book(rep_id, int(n), 1.0, 0.0, fast=True)
    return BdrBatch(
        _frame("meetings", m),
        _frame("opportunities", o),
        _frame("reps", reps),
        as_of,
        planted,
    )


def handoff_batch(
    rng: np.random.Generator,
    *,
    meetings: int,
    as_of: datetime,
    fast_share: float = 0.7,
    fast_mean_h: float = 8.0,
    slow_mean_h: float = 60.0,
    never_share: float = 0.05,
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, dict[str, float]]:
    """(meetings, activities, reps, truth) for one team's handoffs exported at ``as_of``.

    Latency: with ``fast_share`` exponential with mean ``fast_mean_h``, else with mean
    ``slow_mean_h``; ``never_share`` of meetings are never touched. Meetings are booked
    uniformly in 2026Q3 up to ``as_of``; touches after ``as_of`` are not in the export.
    ``truth`` holds ``share_within_24h`` (the population value) and ``median_latency_hours``.

    Examples
    --------
    >>> m, a, r, truth = handoff_batch(np.random.default_rng(3), meetings=50,
    ...     as_of=datetime(2026, 8, 15, tzinfo=UTC))
    >>> round(truth["share_within_24h"], 3)
    0.726
    """
    end = min(as_of, _END)
    span = (end - _START).total_seconds()
    booked = np.sort(rng.uniform(0, span, meetings))
    fast = rng.random(meetings) < fast_share
    latency_h = np.where(
        fast, rng.exponential(fast_mean_h, meetings), rng.exponential(slow_mean_h, meetings)
    )
    never = rng.random(meetings) < never_share
    mt: dict[str, list] = {
        k: [] for k in ("meeting_id", "booked_by", "owner_id", "booked_at", "status", "lead_id")
    }
    acts: dict[str, list] = {
        k: [] for k in ("activity_id", "rep_id", "occurred_at", "activity_type", "lead_id")
    }
    for i in range(meetings):
        at = _START + timedelta(seconds=float(booked[i]))
        mt["meeting_id"].append(f"m{i}")
        mt["booked_by"].append("bdr")
        mt["owner_id"].append("ae")
        mt["booked_at"].append(at)
        mt["status"].append("held")
        mt["lead_id"].append(f"L{i}")
        touch = at + timedelta(hours=float(latency_h[i]))
        if not never[i] and touch <= as_of:
            acts["activity_id"].append(f"a{i}")
            acts["rep_id"].append("ae")
            acts["occurred_at"].append(touch)
            acts["activity_type"].append("call")
            acts["lead_id"].append(f"L{i}")
    within = (1 - never_share) * (
        fast_share * (1 - np.exp(-24 / fast_mean_h))
        + (1 - fast_share) * (1 - np.exp(-24 / slow_mean_h))
    )
    # the population median: solve P(T <= t) = 0.5 on a fine grid
    grid = np.linspace(0, 500, 50001)
    cdf = (1 - never_share) * (
        fast_share * (1 - np.exp(-grid / fast_mean_h))
        + (1 - fast_share) * (1 - np.exp(-grid / slow_mean_h))
    )
    median = float(grid[np.searchsorted(cdf, 0.5)])
    reps = {
        "rep_id": ["bdr", "ae"],
        "name": ["bdr", "ae"],
        "role": ["BDR", "AE"],
        "team": ["t"] * 2,
    }
    return (
        _frame("meetings", mt),
        _frame("activities", acts),
        _frame("reps", reps),
        {"share_within_24h": float(within), "median_latency_hours": median},
    )
