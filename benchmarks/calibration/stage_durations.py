"""Calibrate the Kaplan–Meier time-in-stage estimate (``analysis.metrics.stages``) by simulation.

Each replication: ``n`` deals enter a stage at uniform times over the ``window`` days
before as-of; their true time in the stage is log-normal (median ``m``, sigma 0.6); the
ones still in the stage at as-of are censored there. We compare, against the true
median ``m``:

* the Kaplan–Meier median (``km_summary``, statsmodels ``SurvfuncRight``) and how often
  its 95% interval covers ``m`` (and how often the median is null: never reached);
* the naive mean and median over the deals that already left the stage.

Run: ``.venv/bin/python benchmarks/calibration/stage_durations.py [--reps 200]``; it writes
``benchmarks/calibration/stage_durations.json`` next to this file (seconds, not minutes).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.metrics.stages import km_summary

SCENARIOS = (
    {"name": "typical stage", "median_days": 8.0, "n": 150, "window_days": 90},
    {"name": "slow stage", "median_days": 24.0, "n": 150, "window_days": 90},
    {"name": "slow stage, small team", "median_days": 24.0, "n": 40, "window_days": 90},
    {"name": "very slow stage, short window", "median_days": 40.0, "n": 150, "window_days": 60},
)
SIGMA = 0.6


def replicate(rng: np.random.Generator, *, median_days: float, n: int, window_days: float) -> dict:
    entered = rng.uniform(0, window_days, n)  # days before as-of
    true = median_days * np.exp(SIGMA * rng.standard_normal(n))
    exited = true <= entered
    observed = np.where(exited, true, entered)
    km = km_summary(observed, exited.astype(int))
    return {
        "km": km["median"],
        # a null upper bound means the interval is open above (beyond the follow-up)
        "covered": (
            km["ci_low"] is not None
            and km["ci_low"] <= median_days <= (km["ci_high"] or float("inf"))
        ),
        "open_above": km["median"] is not None and km["ci_high"] is None,
        "naive_mean": float(true[exited].mean()) if exited.any() else None,
        "naive_median": float(np.median(true[exited])) if exited.any() else None,
        "censored_share": float(1 - exited.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    results = []
    for scenario in SCENARIOS:
        m = scenario["median_days"]
        runs = [
            replicate(rng, median_days=m, n=scenario["n"], window_days=scenario["window_days"])
            for _ in range(args.reps)
        ]
        km = np.array([r["km"] for r in runs if r["km"] is not None])

        def rel(values: list, m: float = m) -> float:
            v = np.array([x for x in values if x is not None], dtype=float)
            return float(np.median(np.abs(v / m - 1))) if len(v) else float("nan")

        results.append(
            {
                **scenario,
                "sigma": SIGMA,
                "replications": args.reps,
                "censored_share": float(np.mean([r["censored_share"] for r in runs])),
                "km_null_share": 1 - len(km) / len(runs),
                "km_median_of_estimates": float(np.median(km)) if len(km) else None,
                "km_median_abs_rel_error": rel([r["km"] for r in runs]),
                "km_share_within_15pct": float(np.mean(np.abs(km / m - 1) < 0.15))
                if len(km)
                else None,
                "km_ci_coverage": float(np.mean([r["covered"] for r in runs])),
                "km_ci_open_above_share": float(np.mean([r["open_above"] for r in runs])),
                "naive_mean_median_abs_rel_error": rel([r["naive_mean"] for r in runs]),
                "naive_median_median_abs_rel_error": rel([r["naive_median"] for r in runs]),
            }
        )
    out = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start, 1),
        "results": results,
    }
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    for r in results:
        print(
            f"{r['name']:32s} censored {r['censored_share']:.0%}  KM |err| {r['km_median_abs_rel_error']:.1%} "
            f"(within 15%: {r['km_share_within_15pct']:.0%}, null {r['km_null_share']:.0%}, CI coverage {r['km_ci_coverage']:.0%}, open above {r['km_ci_open_above_share']:.0%})  "
            f"naive mean |err| {r['naive_mean_median_abs_rel_error']:.1%}, naive median |err| {r['naive_median_median_abs_rel_error']:.1%}"
        )


if __name__ == "__main__":
    main()
