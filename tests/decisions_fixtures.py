"""Synthetic frames for the decision tests (planted effects, built in the decisions schema)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

UTC = "UTC"


def utc(*args: int) -> datetime:
    """A naive datetime meant as UTC (the frames attach the zone)."""
    return datetime(*args)


def activities_frame(rows: list[dict]) -> pl.LazyFrame:
    """Clean activities from dicts; missing optional columns are null."""
    cols = {
        "activity_id": pl.String,
        "rep_id": pl.String,
        "occurred_at": pl.Datetime("us"),
        "activity_type": pl.String,
        "outcome": pl.String,
        "subject": pl.String,
        "notes": pl.String,
        "lead_id": pl.String,
        "opportunity_id": pl.String,
        "duration_s": pl.Float64,
    }
    data = {c: [r.get(c) for r in rows] for c in cols}
    df = pl.DataFrame(data, schema=cols)
    return df.with_columns(pl.col("occurred_at").dt.replace_time_zone(UTC)).lazy()


def reps_frame(rows: list[tuple[str, str, str, str]]) -> pl.LazyFrame:
    """Reps from (rep_id, team, role, timezone) tuples."""
    return pl.DataFrame(rows, schema=["rep_id", "team", "role", "timezone"], orient="row").lazy()


def synthetic_decisions(
    *,
    n_reps: int = 60,
    n_days: int = 60,
    min_per_day: int = 30,
    max_per_day: int = 80,
    threshold: int | None = 45,
    drop: float = 0.3,
    quality_share: float = 1.0,
    teams: tuple[str, ...] = ("Alpha", "Beta"),
    seed: int = 1,
) -> pl.LazyFrame:
    """A decisions table with a planted fatigue step.

    Rep baselines differ (positive rate 0.35..0.75, and heavier reps have lower baselines,
    so a raw comparison is confounded). After ``threshold`` decisions in a day the
    positive probability is multiplied by ``1 - drop``. ``threshold=None`` plants nothing.
    """
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.35, 0.75, n_reps)
    # heavier reps: more decisions a day and lower baseline
    load = (1 - (base - 0.35) / 0.4) * 0.6 + rng.uniform(0, 0.4, n_reps)
    per_day = np.clip(
        (min_per_day + load[:, None] * (max_per_day - min_per_day))
        + rng.normal(0, 6, (n_reps, n_days)),
        min_per_day,
        max_per_day,
    ).astype(int)
    rep = np.repeat(np.repeat(np.arange(n_reps), n_days), per_day.ravel())
    day = np.repeat(np.tile(np.arange(n_days), n_reps), per_day.ravel())
    seq = np.concatenate([np.arange(1, k + 1) for k in per_day.ravel()])
    p = base[rep].copy()
    if threshold is not None:
        p = np.where(seq > threshold, p * (1 - drop), p)
    good = rng.random(rep.size) < p
    has_quality = rng.random(rep.size) < quality_share
    start = date(2026, 7, 1)
    return (
        pl.LazyFrame(
            {
                "rep_id": [f"r{i:03d}" for i in rep],
                "team": [teams[i % len(teams)] for i in rep],
                "day": [start + timedelta(days=int(d)) for d in day],
                "seq_in_day": seq.astype(np.int32),
                "decision_class": "judgment",
                "quality": good,
                "_has": has_quality,
            }
        )
        .with_columns(quality=pl.when(pl.col("_has")).then(pl.col("quality")))
        .drop("_has")
    )
