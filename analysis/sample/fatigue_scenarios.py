"""Simulated decisions tables for calibrating the fatigue verdict (planted truth known).

Each scenario is a small organisation of reps working local days; every scenario carries
the confound that must not matter (heavier reps have lower baselines: "heavier reps are
worse reps", not fatigue) and adds one effect:

* ``no_effect``: nothing else;
* ``busy_day``: a rep's whole day is worse the more decisions it has (a day-level shift,
  ``day_logit`` per SD of the rep's daily volume); no change within the day;
* ``late_afternoon``: decisions from 16:00 local on are worse (``late_logit``); no change
  with the position in the day;
* ``clock_decline``: quality falls smoothly with the local clock time, ``clock_per_hour``
  (share points per hour from 8:00), whatever the position in the day;
* ``mixed_slopes``: half the reps decline with the position in the day, half improve
  (``+/- slope_spread`` per 10 decisions on alternate reps): no decline on average;
* ``gradual`` / ``gradual_3`` / ``gradual_4``: quality falls linearly, ``slope_per_10``
  (share points) per 10 decisions (2, 3, 4);
* ``step_small`` / ``step_medium`` / ``step_large``: after decision ``step_at`` (the
  last good decision; default 38) the positive probability is multiplied by
  ``1 - drop`` (0.15 / 0.30 / 0.50).

The same module gives the sample data its fatigue confounds (:func:`confound_logit`).

Examples
--------
>>> d = simulate_decisions("no_effect", n_reps=3, n_days=2, seed=1).collect()
>>> d.columns
['team', 'rep_id', 'day', 'seq_in_day', 'local_hour', 'quality']
>>> sorted(SCENARIOS)[:3]
['busy_day', 'clock_decline', 'gradual']
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Scenario:
    """Planted effects of one simulated organisation (see the module docstring)."""

    name: str
    day_logit: float = 0.0
    late_logit: float = 0.0
    slope_per_10: float = 0.0
    step_at: int | None = None
    drop: float = 0.0
    clock_per_hour: float = 0.0
    slope_spread: float = 0.0

    @property
    def null(self) -> bool:
        """True where there is no fatigue of any shape (a positive verdict is false)."""
        return self.slope_per_10 == 0.0 and self.step_at is None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("no_effect"),
        Scenario("busy_day", day_logit=-0.15),
        Scenario("late_afternoon", late_logit=-0.5),
        Scenario("clock_decline", clock_per_hour=-0.02),
        Scenario("mixed_slopes", slope_spread=0.03),
        Scenario("gradual", slope_per_10=-0.02),
        Scenario("gradual_3", slope_per_10=-0.03),
        Scenario("gradual_4", slope_per_10=-0.04),
        Scenario("step_small", step_at=38, drop=0.15),
        Scenario("step_medium", step_at=38, drop=0.30),
        Scenario("step_large", step_at=38, drop=0.50),
    )
}

#: First simulated day.
FIRST_DAY = date(2026, 7, 1)
#: Local hour from which the late-afternoon confound applies.
LATE_FROM_HOUR = 16
#: Local clock time (hours) from which the clock-time decline runs.
CLOCK_FROM = 8.0


def confound_logit(
    daily_volume: np.ndarray,
    rep: np.ndarray,
    local_hour: np.ndarray,
    *,
    day_logit: float,
    late_logit: float,
) -> np.ndarray:
    """Logit shift of the busy-day and late-afternoon confounds, per decision.

    ``daily_volume`` is the decision's rep-day count, standardised within the rep (so a
    rep's busy days are worse for that rep); ``local_hour >= 16`` adds ``late_logit``.

    Examples
    --------
    >>> confound_logit(np.array([10, 30, 30]), np.array([0, 0, 0]), np.array([9, 9, 17]),
    ...                day_logit=-0.1, late_logit=-0.5).round(3).tolist()
    [0.141, -0.071, -0.571]
    """
    volume = daily_volume.astype(float)
    n_reps = int(rep.max()) + 1 if rep.size else 0
    count = np.bincount(rep, minlength=n_reps)
    mean = np.bincount(rep, weights=volume, minlength=n_reps) / np.maximum(count, 1)
    var = np.bincount(rep, weights=(volume - mean[rep]) ** 2, minlength=n_reps)
    sd = np.sqrt(var / np.maximum(count, 1))
    z = np.where(sd[rep] > 0, (volume - mean[rep]) / np.where(sd[rep] > 0, sd[rep], 1.0), 0.0)
    return day_logit * z + late_logit * (local_hour >= LATE_FROM_HOUR)


def simulate_decisions(
    scenario: str | Scenario,
    *,
    n_reps: int = 11,
    n_days: int = 40,
    teams: tuple[str, ...] = ("T1",),
    quality_share: float = 0.4,
    seed: int = 0,
    **overrides: float | int | None,
) -> pl.LazyFrame:
    """A ``decisions``-like table (quality-bearing columns only) for one scenario.

    ``n_reps`` reps per team work ``n_days`` days. A rep's mean daily count is 35-70
    (heavier reps have lower baselines, 0.35-0.75 positive); a day's count varies around
    it (SD 12, at least 10). Decisions are spread over a working day starting 7:30-9:30
    local and lasting 8-10 hours; ``local_hour`` is the clock hour of each.
    ``overrides`` change the scenario's fields (e.g. ``drop=0.3, step_at=45``).

    Examples
    --------
    >>> d = simulate_decisions("step_large", n_reps=4, n_days=5, seed=2).collect()
    >>> d.group_by("rep_id", "day").agg(ok=(pl.col("seq_in_day").max() == pl.len())).height > 0
    True
    """
    spec = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    if overrides:
        spec = replace(spec, **overrides)
    rng = np.random.default_rng(seed)
    total_reps = n_reps * len(teams)
    base = rng.uniform(0.35, 0.75, total_reps)
    load = 35 + (0.75 - base) / 0.4 * 25 + rng.uniform(0, 10, total_reps)  # heavier: worse
    per_day = np.maximum(np.rint(load[:, None] + rng.normal(0, 12, (total_reps, n_days))), 10)
    per_day = per_day.astype(np.int64).ravel()
    rep = np.repeat(np.repeat(np.arange(total_reps), n_days), per_day)
    day = np.repeat(np.tile(np.arange(n_days), total_reps), per_day)
    seq = np.concatenate([np.arange(1, k + 1) for k in per_day])
    # working day: start 7:30-9:30, length 8-10 h; decisions at sorted uniform times
    start = rng.uniform(7.5, 9.5, per_day.size)
    length = rng.uniform(8.0, 10.0, per_day.size)
    u = rng.random(seq.size)
    run_id = np.repeat(np.arange(per_day.size), per_day)
    u = np.sort(u + run_id) - run_id  # sorted within each rep-day (runs are in order)
    clock = start[run_id] + u * length[run_id]
    hour = np.minimum(np.floor(clock), 23).astype(np.int64)
    logit = np.log(base / (1 - base))[rep] + confound_logit(
        per_day[run_id], rep, hour, day_logit=spec.day_logit, late_logit=spec.late_logit
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    if spec.step_at is not None:
        p = np.where(seq > spec.step_at, p * (1.0 - spec.drop), p)
    # rep slopes: the planted slope, +/- the spread on alternate reps (a team average of 0
    # when the planted slope is 0: some reps tire, as many freshen up)
    rep_slope = spec.slope_per_10 + spec.slope_spread * np.where(np.arange(total_reps) % 2, -1, 1)
    p = p + rep_slope[rep] * (seq - 1) / 10.0 + spec.clock_per_hour * (clock - CLOCK_FROM)
    p = np.clip(p, 0.01, 0.99)
    good = rng.random(seq.size) < p
    bearing = rng.random(seq.size) < quality_share
    team_names = pl.Series(list(teams), dtype=pl.String)
    return pl.LazyFrame(
        {
            "_team": (rep // n_reps).astype(np.int64),
            "_rep": rep.astype(np.int64),
            "_day": day.astype(np.int64),
            "seq_in_day": seq.astype(np.int32),
            "local_hour": hour.astype(np.int8),
            "_good": good,
            "_bearing": bearing,
        }
    ).select(
        team=pl.lit(team_names).gather(pl.col("_team")),
        rep_id=pl.lit("r") + pl.col("_rep").cast(pl.String).str.zfill(3),
        day=pl.lit(FIRST_DAY) + pl.duration(days=pl.col("_day")),
        seq_in_day="seq_in_day",
        local_hour="local_hour",
        quality=pl.when("_bearing").then(pl.col("_good")),
    )


# ------------------------------------------------------------------ the sample data's confound
#: The sample team with no fatigue step, only the confounds (``decision-stack sample-data``).
SAMPLE_CONFOUND_TEAM = "APAC"
#: Its confounds: busy days worse (logit per SD of the rep's daily count), late afternoons worse.
SAMPLE_CONFOUNDS = {"day_logit": -0.3, "late_logit": -0.6, "late_from_hour": LATE_FROM_HOUR}


def sample_quality_probability(
    p: np.ndarray,
    confounded: np.ndarray,
    *,
    rep: np.ndarray,
    local_day: np.ndarray,
    local_hour: np.ndarray,
) -> np.ndarray:
    """The sample's positive probability with the confound team's busy-day and late-afternoon
    shifts (:data:`SAMPLE_CONFOUNDS`) applied on the logit scale where ``confounded``.

    ``p`` already holds each activity's probability (with or without the fatigue step);
    the daily count is every activity of the rep's local day.

    Examples
    --------
    >>> p = sample_quality_probability(np.full(3, 0.5), np.array([True, True, False]),
    ...     rep=np.zeros(3, dtype=int), local_day=np.array([1, 2, 2]), local_hour=np.array([9, 17, 17]))
    >>> p.round(3).tolist()
    [0.605, 0.307, 0.5]
    """
    key = rep.astype(np.int64) * 1_000_000 + local_day.astype(np.int64)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    shift = confound_logit(
        counts[inverse],
        rep.astype(np.int64),
        local_hour,
        day_logit=SAMPLE_CONFOUNDS["day_logit"],
        late_logit=SAMPLE_CONFOUNDS["late_logit"],
    )
    clipped = np.clip(np.nan_to_num(p), 1e-6, 1 - 1e-6)
    shifted = 1.0 / (1.0 + np.exp(-(np.log(clipped / (1 - clipped)) + shift)))
    return np.where(confounded & np.isfinite(p), shifted, p)
