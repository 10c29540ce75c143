"""Calibrate the fatigue verdict by simulation: false positives under confounds, coverage of steps.

Every scenario of :mod:`analysis.sample.fatigue_scenarios` is simulated ``--reps`` times
(2 teams of 11 reps, 40 working days each, 40% of decisions quality-bearing; every
scenario also has heavier reps with lower baselines) and run through the package's own
:func:`analysis.decisions.fatigue.fatigue` with its defaults. For each scenario and row
type (a team row, the ``all`` row) it records how often each shape is called, how often
``significant`` is true, the coverage of the planted threshold (38: the estimate names the
last decision before the drop) and of the planted slope, and the interval widths.

    .venv/bin/python benchmarks/calibration/fatigue.py                 # 200 replications
    .venv/bin/python benchmarks/calibration/fatigue.py --reps 20 --scenarios no_effect,step_medium

Writes ``--out`` (default ``benchmarks/calibration/results``): ``fatigue.json`` (every
figure), ``fatigue.md`` (the summary table) and ``fatigue.png`` (rates with 95% intervals);
every replication's verdict goes to ``--runs-out`` (default
``data/calibration/fatigue_runs.parquet``, generated data kept out of git). Not a timed test; the summary is quoted in
``docs/calibration_fatigue.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from analysis.decisions.fatigue import fatigue
from analysis.sample.fatigue_scenarios import SCENARIOS, simulate_decisions

SIZES = {"teams": 2, "reps_per_team": 11, "days": 40, "quality_share": 0.4}
TEAMS = ("A", "B")


def run_scenario(name: str, *, reps: int, seed0: int = 0) -> pl.DataFrame:
    """One row per replication and fatigue row (team A, B and all) of one scenario."""
    frames = []
    for rep in range(reps):
        data = simulate_decisions(
            name,
            n_reps=SIZES["reps_per_team"],
            n_days=SIZES["days"],
            teams=TEAMS,
            quality_share=SIZES["quality_share"],
            seed=seed0 + rep,
        )
        out = fatigue(data).select(
            "team",
            "shape",
            "significant",
            "threshold_estimate",
            "threshold_ci_low",
            "threshold_ci_high",
            "relative_drop",
            "p_value",
            "slope_per_10",
            "slope_ci_low",
            "slope_ci_high",
            "ci_method",
        )
        frames.append(out.with_columns(scenario=pl.lit(name), replication=pl.lit(rep)))
    return pl.concat(frames)


def _rate(hits: int, n: int) -> dict[str, Any]:
    low, high = proportion_confint(hits, n, alpha=0.05, method="wilson") if n else (None, None)
    return {"hits": hits, "n": n, "rate": hits / n if n else None, "ci_low": low, "ci_high": high}


def summarise(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """Rates per scenario and row type (``team`` rows pooled, ``all``)."""
    out = []
    for name, spec in SCENARIOS.items():
        scen = rows.filter(pl.col("scenario") == name)
        if scen.height == 0:
            continue
        for kind, part in (
            ("team", scen.filter(pl.col("team") != "all")),
            ("all", scen.filter(pl.col("team") == "all")),
        ):
            n = part.height
            shapes = {s: int((part["shape"] == s).sum()) for s in ("threshold", "gradual", "none")}
            entry: dict[str, Any] = {
                "scenario": name,
                "row": kind,
                "null": spec.null,
                "planted": {
                    "day_logit": spec.day_logit,
                    "late_logit": spec.late_logit,
                    "slope_per_10": spec.slope_per_10,
                    "step_at": spec.step_at,
                    "drop": spec.drop,
                    "clock_per_hour": spec.clock_per_hour,
                    "slope_spread": spec.slope_spread,
                },
                "shape_counts": shapes,
                "threshold_rate": _rate(shapes["threshold"], n),
                "gradual_rate": _rate(shapes["gradual"], n),
                "significant_rate": _rate(int(part["significant"].fill_null(False).sum()), n),
                "any_fatigue_rate": _rate(shapes["threshold"] + shapes["gradual"], n),
            }
            if spec.step_at is not None:
                called = part.filter(pl.col("shape") == "threshold")
                covered = called.filter(
                    (pl.col("threshold_ci_low") <= spec.step_at)
                    & (pl.col("threshold_ci_high") >= spec.step_at)
                )
                entry["coverage_given_threshold"] = _rate(covered.height, called.height)
                entry["coverage_unconditional"] = _rate(covered.height, n)
                width = called["threshold_ci_high"] - called["threshold_ci_low"]
                entry["median_interval_width"] = float(width.median()) if called.height else None
                entry["median_estimate"] = (
                    float(called["threshold_estimate"].median()) if called.height else None
                )
                entry["mean_relative_drop"] = (
                    float(called["relative_drop"].mean()) if called.height else None
                )
            if spec.slope_per_10 != 0.0:
                ok = part.filter(
                    (pl.col("slope_ci_low") <= spec.slope_per_10)
                    & (pl.col("slope_ci_high") >= spec.slope_per_10)
                )
                entry["slope_coverage"] = _rate(ok.height, n)
                entry["mean_slope_per_10"] = float(part["slope_per_10"].mean())
            out.append(entry)
    return out


def _pct(rate: dict[str, Any] | None) -> str:
    if not rate or rate["rate"] is None:
        return "—"
    return f"{rate['rate']:.1%} ({rate['ci_low']:.1%}–{rate['ci_high']:.1%})"


def markdown(summary: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Run {meta['date']} · {meta['reps']} replications per scenario · "
        f"{meta['sizes']['teams']} teams x {meta['sizes']['reps_per_team']} reps x "
        f"{meta['sizes']['days']} days, {meta['sizes']['quality_share']:.0%} quality-bearing · "
        f"{meta['seconds']:.0f} s",
        "",
        "| scenario | row | threshold called | gradual called | any fatigue verdict "
        "| coverage of 38 (given threshold) | median width | slope coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        lines.append(
            f"| {e['scenario']} | {e['row']} | {_pct(e['threshold_rate'])} | "
            f"{_pct(e['gradual_rate'])} | {_pct(e['any_fatigue_rate'])} | "
            f"{_pct(e.get('coverage_given_threshold'))} | "
            f"{e.get('median_interval_width', '—')} | {_pct(e.get('slope_coverage'))} |"
        )
    return "\n".join(lines) + "\n"


def figure(summary: list[dict[str, Any]], path: Path) -> None:
    """False positives (nulls: any fatigue verdict), power (gradual, steps) and coverage."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    labels, rates, lows, highs, colors = [], [], [], [], []
    for e in summary:
        if e["null"]:
            keys = (("any_fatigue_rate", "#C44E52", "any verdict"),)
        elif e["planted"]["step_at"] is None:
            keys = (("gradual_rate", "#DD8452", "gradual"),)
        else:
            keys = (
                ("threshold_rate", "#55A868", "threshold"),
                ("coverage_given_threshold", "#4C72B0", "coverage"),
            )
        for key, color, label in keys:
            rate = e.get(key)
            if rate is None or rate["rate"] is None:
                continue
            labels.append(f"{e['scenario']} ({e['row']})\n{label}")
            rates.append(rate["rate"])
            lows.append(max(0.0, rate["rate"] - rate["ci_low"]))
            highs.append(max(0.0, rate["ci_high"] - rate["rate"]))
            colors.append(color)
    x = range(len(rates))
    ax.bar(x, rates, color=colors, yerr=[lows, highs], capsize=2)
    ax.axhline(0.05, color="#333333", ls=":", lw=1, label="5% (false-positive ceiling)")
    ax.axhline(0.93, color="#4C72B0", ls="--", lw=1, label="93% (coverage floor)")
    ax.set_xticks(list(x), labels, rotation=75, ha="right", fontsize=6)
    ax.set_ylabel("rate (95% interval)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="center left")
    ax.set_title(
        "Fatigue verdict: false positives (red), gradual power (orange), "
        "threshold power (green), coverage of 38 (blue)",
        fontsize=9,
        loc="left",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument(
        "--runs-out",
        default=str(Path(__file__).parents[2] / "data" / "calibration" / "fatigue_runs.parquet"),
        help="every replication's verdict (generated data: git-ignored)",
    )
    args = parser.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    frames = []
    for i, name in enumerate(names):
        t0 = time.perf_counter()
        frames.append(run_scenario(name, reps=args.reps, seed0=1_000 * (i + 1)))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = pl.concat(frames)
    summary = summarise(rows)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "reps": args.reps,
        "sizes": SIZES,
        "seconds": time.perf_counter() - start,
        "method": "analysis.decisions.fatigue.fatigue with its defaults",
    }
    # the summary is kept with the docs; every replication's verdict is generated data
    (out / "fatigue.json").write_text(json.dumps({"meta": meta, "summary": summary}, indent=1))
    runs_path = Path(args.runs_out)
    runs_path.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(runs_path)
    (out / "fatigue.md").write_text(markdown(summary, meta))
    figure(summary, out / "fatigue.png")
    print(markdown(summary, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
