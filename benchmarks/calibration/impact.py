"""Calibration of the impact analysis (difference in differences) by simulation.

Plants a rollout in one team (+20 % meetings per BDR-week, -27 % won per meeting) with a
+10 % step in every team, and a placebo change in an untreated team, then counts how
often the 95 % intervals contain the truth (coverage), how often the placebo interval
excludes 0 (false positives) and how often the pre-trend test fires without a pre-trend.

    .venv/bin/python benchmarks/calibration/impact.py --reps 200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime

import polars as pl

from analysis.impact.panels import metric_days
from analysis.impact.run import impact_tables, treatment
from analysis.impact.simulate import simulate_rollout
from analysis.periods import Period

TRUTH = {
    ("rollout", "meetings_booked_per_bdr_week"): 0.20,
    ("rollout", "won_per_meeting"): -0.27,
    ("placebo", "meetings_booked_per_bdr_week"): 0.0,
    ("placebo", "won_per_meeting"): 0.0,
}


def one(seed: int, **sizes: int) -> pl.DataFrame:
    """The impact rows of one simulated dataset."""
    tables = simulate_rollout(seed=seed, placebo_team="T3", **sizes)
    clean = {k: v.lazy() for k, v in tables.items()}
    window = Period.between(date(2026, 4, 1), date(2026, 10, 1))
    as_of = datetime(2026, 9, 30, tzinfo=UTC)
    lazy = metric_days(clean, window=window, as_of=as_of)
    days = {m: lazy[m].collect() for m in ("meetings_booked_per_bdr_week", "won_per_meeting")}
    impact, _ = impact_tables(
        days,
        treatment(tables["changes"], tables["reps"]),
        change_ids=["rollout", "placebo"],
        window_start=datetime(2026, 4, 1, tzinfo=UTC),
        window_end=as_of,
    )
    return impact.with_columns(seed=pl.lit(seed))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--bdrs-per-team", type=int, default=10)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = pl.concat([one(seed, bdrs_per_team=args.bdrs_per_team) for seed in range(args.reps)])
    truth = pl.DataFrame(
        [(c, m, t) for (c, m), t in TRUTH.items()],
        schema=["change_id", "metric", "truth"],
        orient="row",
    )
    summary = (
        rows.join(truth, on=["change_id", "metric"])
        .group_by("change_id", "metric")
        .agg(
            pl.len().alias("runs"),
            pl.col("effect_relative").mean().alias("mean_estimate"),
            pl.col("truth").first(),
            ((pl.col("ci_low") <= pl.col("truth")) & (pl.col("truth") <= pl.col("ci_high")))
            .mean()
            .alias("coverage"),
            ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).mean().alias("excludes_0"),
            (pl.col("pre_trend_p_value") < 0.05).mean().alias("pre_trend_fires"),
        )
        .sort("change_id", "metric")
    )
    print(
        json.dumps(
            {
                "date": date.today().isoformat(),
                "replications": args.reps,
                "sizes": {"teams": 4, "bdrs_per_team": args.bdrs_per_team, "weeks": 26},
                "seconds": round(time.perf_counter() - start, 1),
                "summary": summary.to_dicts(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
