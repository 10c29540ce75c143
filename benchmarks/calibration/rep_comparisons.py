"""Calibration of the rep comparisons: skill gaps, the BDR flag and handoffs (issue 11).

Runs every scenario of ``analysis.sample.rep_scenarios`` with at least 200 replications
(teams, or team-quarters) through the package's own metric functions and writes
``benchmarks/calibration/rep_comparisons.json`` and ``docs/calibration_rep_comparisons.md``.
Not a test (it takes minutes); the tests run small fixed-seed versions of each scenario.

    .venv/bin/python benchmarks/calibration/rep_comparisons.py [--reps 200] [--seed 11]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.metrics.funnel import bdr_funnel
from analysis.metrics.handoffs import handoff_summary, handoffs
from analysis.metrics.skill_gaps import skill_gaps
from analysis.sample.rep_scenarios import Q3, bdr_teams, handoff_batch, skill_gap_teams

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "calibration" / "rep_comparisons.json"
DOC = ROOT / "docs" / "calibration_rep_comparisons.md"


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(float(x), digits)


def skill_equal(rng: np.random.Generator, teams: int, size: int, rate: float) -> dict[str, Any]:
    opps, reps, truth = skill_gap_teams(rng, teams=teams, reps_per_team=size, rate=rate)
    out = skill_gaps(opps, reps, period=Q3)
    suff = out.filter(pl.col("evidence") == "sufficient")
    non_top = suff.filter(pl.col("gap_verdict") != "top")
    cover = suff.with_columns(t=pl.col("rep_id").replace_strict(truth, return_dtype=pl.Float64))
    worst = suff.group_by("team").agg(pl.col("ratio_to_top").min())
    return {
        "teams": teams,
        "aes_per_team": size,
        "true_rate": rate,
        "closed_deals": "uniform 15-60",
        "non_top_reps": non_top.height,
        "share_non_top_with_gap": _r((non_top["gap_verdict"] == "gap").mean()),
        "share_teams_with_any_gap": _r(
            non_top.group_by("team")
            .agg((pl.col("gap_verdict") == "gap").any())["gap_verdict"]
            .mean()
        ),
        "weakest_point_ratio_mean": _r(worst["ratio_to_top"].mean()),
        "share_teams_weakest_point_ratio_below_0_8": _r((worst["ratio_to_top"] < 0.8).mean()),
        "coverage_shrunk_interval": _r(
            ((cover["ci_low"] <= cover["t"]) & (cover["t"] <= cover["ci_high"])).mean()
        ),
        "coverage_ratio_interval_of_true_ratio_1": _r((non_top["ratio_ci_high"] >= 1.0).mean()),
    }


def skill_weak(rng: np.random.Generator, teams: int, weak_closed: int) -> dict[str, Any]:
    opps, reps, _ = skill_gap_teams(
        rng,
        teams=teams,
        reps_per_team=6,
        rate=0.45,
        closed=(40, 100),
        weak_factor=0.6,
        weak_closed=weak_closed,
    )
    out = skill_gaps(opps, reps, period=Q3)
    weak = out.filter(pl.col("rep_id").str.ends_with("-r0"))
    others = out.filter(~pl.col("rep_id").str.ends_with("-r0") & (pl.col("gap_verdict") != "top"))
    return {
        "teams": teams,
        "aes_per_team": 6,
        "true_rates": "0.45, weak AE 0.27 (0.6 of the top)",
        "other_closed_deals": "uniform 40-100",
        "weak_closed_deals": weak_closed,
        "weak_share_gap": _r((weak["gap_verdict"] == "gap").mean()),
        "weak_mean_ratio_ci_high": _r(weak["ratio_ci_high"].mean()),
        "equal_non_top_share_gap": _r((others["gap_verdict"] == "gap").mean()),
    }


def skill_heterogeneous(rng: np.random.Generator, teams: int) -> dict[str, Any]:
    """Coverage of the capped EB interval when reps truly differ (Beta(0.3, strength 30))."""
    rows_opps, rows_reps, truth = [], [], {}
    for t in range(teams):
        rates = rng.beta(0.3 * 30, 0.7 * 30, size=6)
        for r, p in enumerate(rates):
            o, rp, _tr = skill_gap_teams(rng, teams=1, reps_per_team=1, rate=float(p))
            rename = {"t0000-r0": f"h{t:04d}-r{r}"}
            rows_opps.append(
                o.with_columns(
                    pl.col("owner_id").replace(rename),
                    pl.col("opportunity_id").str.replace("t0000-r0", f"h{t:04d}-r{r}"),
                )
            )
            rows_reps.append(
                rp.with_columns(pl.col("rep_id").replace(rename), team=pl.lit(f"h{t:04d}"))
            )
            truth[f"h{t:04d}-r{r}"] = float(p)
    out = skill_gaps(pl.concat(rows_opps), pl.concat(rows_reps), period=Q3)
    out = out.with_columns(t=pl.col("rep_id").replace_strict(truth, return_dtype=pl.Float64))
    suff = out.filter(pl.col("evidence") == "sufficient")
    return {
        "teams": teams,
        "aes_per_team": 6,
        "true_rates": "Beta(mean 0.3, strength 30) per rep",
        "closed_deals": "uniform 15-60",
        "coverage_shrunk_interval": _r(
            ((suff["ci_low"] <= suff["t"]) & (suff["t"] <= suff["ci_high"])).mean()
        ),
    }


def skill_degenerate(rng: np.random.Generator, teams: int, rate: float) -> dict[str, Any]:
    opps, reps, truth = skill_gap_teams(rng, teams=teams, reps_per_team=4, rate=rate)
    out = skill_gaps(opps, reps, period=Q3)
    out = out.with_columns(t=pl.col("rep_id").replace_strict(truth, return_dtype=pl.Float64))
    zero = out.filter(pl.col("won") == 0)
    full = out.filter(pl.col("won") == pl.col("closed"))
    team_won = out.group_by("team").agg(pl.col("won").sum())
    no_win_teams = team_won.filter(pl.col("won") == 0)["team"]
    return {
        "teams": teams,
        "aes_per_team": 4,
        "true_rate": rate,
        "closed_deals": "uniform 15-60",
        "coverage_shrunk_interval": _r(
            ((out["ci_low"] <= out["t"]) & (out["t"] <= out["ci_high"])).mean()
        ),
        "reps_with_no_win": zero.height,
        "min_ci_high_of_no_win_reps_with_40_plus_deals": _r(
            zero.filter(pl.col("closed") >= 40)["ci_high"].min(), 4
        ),
        "reps_with_all_won": full.height,
        "all_won_reps_ci_low_below_estimate": _r(
            (full["ci_low"] < full["shrunk_win_rate"]).mean() if full.height else None
        ),
        "teams_without_any_win": no_win_teams.len(),
        "ratio_null_in_teams_without_win": _r(
            out.filter(pl.col("team").is_in(no_win_teams.implode()))["ratio_to_top"].null_count()
            / max(out.filter(pl.col("team").is_in(no_win_teams.implode())).height, 1)
        ),
        "gap_verdicts": int((out["gap_verdict"] == "gap").sum()),
    }


def funnel_run(rng: np.random.Generator, **kw: Any) -> pl.DataFrame:
    batch = bdr_teams(rng, **kw)
    out = bdr_funnel(batch.meetings, batch.opportunities, batch.reps, period=Q3, as_of=batch.as_of)
    return out.with_columns(kind=pl.col("rep_id").replace_strict(batch.planted, default="equal"))


def funnel_scenario(rng: np.random.Generator, name: str, **kw: Any) -> dict[str, Any]:
    out = funnel_run(rng, **kw)
    equal = out.filter(pl.col("kind") == "equal")
    res: dict[str, Any] = {
        "scenario": name,
        "teams": kw["teams"],
        "bdrs_per_team": kw["bdrs_per_team"],
        "meetings_per_bdr": "uniform {}-{}".format(*kw.get("meetings", (40, 100))),
        "won_per_meeting": kw.get("win_per_meeting", 0.15),
        "close_days_after_opportunity": "uniform {}-{}".format(*kw.get("close_days", (5, 75))),
        "as_of": "3 days after the quarter",
        "share_teams_with_a_false_flag": _r(
            equal.group_by("team").agg(pl.col("flag").any())["flag"].mean()
        ),
        "share_equal_bdrs_flagged": _r(equal["flag"].mean(), 4),
    }
    for kind in ("weak", "late", "perfect"):
        part = out.filter(pl.col("kind") == kind)
        if part.height:
            res[f"{kind}_bdrs"] = part.height
            res[f"share_{kind}_flagged"] = _r(part["flag"].mean())
            res[f"{kind}_won_per_meeting_mean"] = _r(part["won_per_meeting"].mean())
            res[f"{kind}_won_by_horizon_mean"] = _r(part["won_by_horizon"].mean())
    res["equal_won_per_meeting_mean"] = _r(equal["won_per_meeting"].mean())
    res["equal_won_by_horizon_mean"] = _r(equal["won_by_horizon"].mean())
    return res


def handoff_scenario(rng: np.random.Generator, reps: int) -> dict[str, Any]:
    as_of = datetime(2026, 8, 15, tzinfo=UTC)
    km, naive, covered, med_km, med_naive, period_end = [], [], [], [], [], []
    truth = {}
    for _ in range(reps):
        meetings, acts, rp, truth = handoff_batch(rng, meetings=300, as_of=as_of)
        table = handoffs(meetings, acts, reps=rp, period=Q3, as_of=as_of).collect()
        row = handoff_summary(table.lazy()).filter(pl.col("level") == "team").row(0, named=True)
        km.append(row["share_within_24h"])
        covered.append(row["ci_low"] <= truth["share_within_24h"] <= row["ci_high"])
        naive.append(table["within_24h"].drop_nulls().mean())
        # the old rule: censored at the period end (weeks away), so every untouched
        # meeting counted as a miss
        period_end.append((table["latency_hours"].fill_null(1e9) <= 24).mean())
        med_km.append(row["median_latency_hours"])
        med_naive.append(table["latency_hours"].median())
    t = truth["share_within_24h"]
    return {
        "replications": reps,
        "meetings": 300,
        "as_of": "2026-08-15 (mid-quarter export)",
        "latency": "70% exponential mean 8 h, 30% mean 60 h, 5% never touched",
        "true_share_within_24h": _r(t),
        "km_share_mean_error": _r(np.mean(km) - t, 4),
        "km_interval_coverage": _r(np.mean(covered)),
        "decided_only_share_mean_error": _r(np.mean(naive) - t, 4),
        "censored_at_period_end_share_mean_error": _r(np.mean(period_end) - t, 4),
        "true_median_latency_hours": _r(truth["median_latency_hours"], 2),
        "km_median_mean_error_h": _r(np.mean(med_km) - truth["median_latency_hours"], 2),
        "touched_only_median_mean_error_h": _r(
            np.mean(med_naive) - truth["median_latency_hours"], 2
        ),
    }


def _table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    head = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
    return head + "".join("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |\n" for r in rows)


def _rerun(res: dict[str, Any]) -> str:
    """The line saying the BDR-flag section was rerun on its own (``--funnel-only``)."""
    rerun = res.get("funnel_rerun")
    if not rerun:
        return ""
    return (
        f" This section was rerun on its own (`--funnel-only`) on {rerun['date']}, seed "
        f"{rerun['seed']}, {rerun['replications']} teams per scenario."
    )


def render(res: dict[str, Any]) -> str:
    """The calibration page (docs/calibration_rep_comparisons.md) from the results."""
    het, zero, one, hand = (
        res["skill_heterogeneous"],
        res["skill_all_zero"],
        res["skill_all_one"],
        res["handoffs_mid_period"],
    )
    equal_coverage = ", ".join(
        "{:.1%}".format(r["coverage_shrunk_interval"]) for r in res["skill_equal"]
    )
    late = next(r for r in res["funnel"] if r["scenario"].startswith("late"))
    late_raw, equal_raw = (
        late.get("late_won_per_meeting_mean"),
        late.get("equal_won_per_meeting_mean"),
    )
    return f"""# Calibration: rep comparisons (skill gaps, BDR flag, handoffs)

Run {res["date"]}, seed {res["seed"]}, {res["replications"]} replications (teams, or
team-quarters) per scenario, {res["seconds"]} s. Reproduce with
`.venv/bin/python benchmarks/calibration/rep_comparisons.py` (results in
`benchmarks/calibration/rep_comparisons.json`). The simulators are
`analysis/sample/rep_scenarios.py`; the tests run small fixed-seed versions of each scenario
(`tests/test_rep_comparisons_scenarios.py`, `tests/test_rep_comparisons_skill_gaps.py`).

## Skill gaps: `gap_verdict` with all AEs equal

A `gap` needs the 95% interval of `p_rep / p_top` (joint posterior draws, the top's own
posterior included) to stay below 1. The point ratio still shows the winner's curse (the
weakest rep's `ratio_to_top` is far below 1 in most equal teams); the verdict is what protects
the reader.

{_table(res["skill_equal"], ["aes_per_team", "teams", "share_non_top_with_gap", "share_teams_with_any_gap", "weakest_point_ratio_mean", "share_teams_weakest_point_ratio_below_0_8", "coverage_shrunk_interval"])}
Closed deals uniform 15-60 per AE, true win rate 0.3.

## Skill gaps: a planted weak AE at 0.6 of the top

{_table(res["skill_weak"], ["weak_closed_deals", "teams", "weak_share_gap", "weak_mean_ratio_ci_high", "equal_non_top_share_gap"])}
Six AEs per team, true rates 0.45 (weak AE 0.27), the others with 40-100 closed deals.

## Coverage of the shrunk-rate interval (capped EB prior, Jeffreys floor)

- reps that truly differ (rates Beta(mean 0.3, strength 30), 6 AEs, 15-60 deals):
  **{het["coverage_shrunk_interval"]:.1%}** of 95% intervals contain the true rate;
- equal reps (table above): {equal_coverage}
  for 4, 6, 8, 12 AEs per team;
- near-zero teams (true rate 0.005, 4 AEs): **{zero["coverage_shrunk_interval"]:.1%}**; the
  smallest `ci_high` of a 0-win rep with 40+ deals is {zero["min_ci_high_of_no_win_reps_with_40_plus_deals"]}
  (exact Clopper-Pearson for 0/40: 0.088; the old prior gave 0.002); in the
  {zero["teams_without_any_win"]} teams without any win the ratio is null for
  {zero["ratio_null_in_teams_without_win"]:.0%} of reps; `gap` verdicts: {zero["gap_verdicts"]};
- near-one teams (true rate 0.995): **{one["coverage_shrunk_interval"]:.1%}**; every all-won rep's
  lower bound is below its estimate: {one["all_won_reps_ci_low_below_estimate"]}.

## BDR flag: one-sided log-rank vs the pooled other BDRs, Holm within the team

Outcomes at a 60-day horizon, deals still open at as-of (three days after the quarter)
censored.{_rerun(res)}

{_table(res["funnel"], ["scenario", "teams", "share_teams_with_a_false_flag", "share_equal_bdrs_flagged", "share_weak_flagged", "share_late_flagged", "share_perfect_flagged"])}
A late booker's raw `won_per_meeting` is far below the others'
({late_raw} against {equal_raw}): their
deals are still open; compared at the horizon with censoring they are not flagged.
Exceptional BDRs are left out of the pooled benchmark: a BDR whose own one-sided test for
*more* wins than the rest of the team is below 0.001 after Holm (`bdr_exceptional_alpha`, a
heuristic). Before this, one perfect BDR (12/12) gave 11% of teams a false flag and two perfect
BDRs (12/12 and 34/34) 99%, because they raised the pooled others' rate until ordinary BDRs were
flagged against it. The threshold is strict so that power is unchanged: on the same 100 teams
the weak BDR was flagged as often with and without leaving anyone out (0.15 and 0.75 in the two
weak scenarios), whereas at 0.05 an ordinary BDR above a rest dragged down by the weak BDR was
sometimes left out and the weak BDR was flagged less often (0.10 and 0.71).

## Handoffs exported mid-period (as-of 2026-08-15)

{hand["replications"]} replications of {hand["meetings"]} meetings ({hand["latency"]}); true share
within 24 h {hand["true_share_within_24h"]}, true median {hand["true_median_latency_hours"]} h.

| estimate | mean error |
|---|---|
| Kaplan-Meier `share_within_24h` (censored at as-of) | {hand["km_share_mean_error"]} |
| share among decided meetings only | {hand["decided_only_share_mean_error"]} |
| censored at the period end (untouched = miss) | {hand["censored_at_period_end_share_mean_error"]} |
| Kaplan-Meier `median_latency_hours` | {hand["km_median_mean_error_h"]} h |
| median of touched meetings only | {hand["touched_only_median_mean_error_h"]} h |

Coverage of the Kaplan-Meier 95% interval of the share: **{hand["km_interval_coverage"]:.1%}**.

## Limits (read before trusting a verdict)

- The share of equal non-top AEs called `gap` grows with the team size (the top is the best
  of more noisy rates): about 5-7% with 4-6 AEs, 8-10% with 8-12. The interval carries the
  top's posterior uncertainty but not a full correction for picking the maximum.
- Power needs evidence: a weak AE at 0.6 of the top is called `gap` in most teams only with
  60+ closed deals; a weak BDR is flagged mostly when enough deals have closed by as-of
  (sample-like closing speed), rarely when most deals are still open (slow closes).
- The BDR flag compares each BDR with the pooled rest of the team, leaving out only BDRs
  significantly above the rest at p < 0.001 (Holm): a merely strong BDR stays in the pool and
  still raises it a little.
"""


def funnel_scenarios(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """Every BDR-flag scenario, ``n`` teams each."""
    out = [
        funnel_scenario(rng, f"equal BDRs, {b} per team", teams=n, bdrs_per_team=b)
        for b in (5, 10, 20)
    ]
    out += [
        funnel_scenario(rng, "weak BDR (0.25 of the others)", teams=n, bdrs_per_team=6, weak=0.25),
        funnel_scenario(
            rng,
            "weak BDR (0.25), sample-like: 90-110 meetings, deals close 5-30 days",
            teams=n,
            bdrs_per_team=6,
            weak=0.25,
            meetings=(90, 110),
            close_days=(5, 30),
        ),
        funnel_scenario(rng, "late booker (last 30 days)", teams=n, bdrs_per_team=6, late=True),
        funnel_scenario(rng, "one perfect BDR (12/12)", teams=n, bdrs_per_team=6, perfect=[12]),
        funnel_scenario(
            rng, "two perfect BDRs (12/12 and 34/34)", teams=n, bdrs_per_team=6, perfect=[12, 34]
        ),
        funnel_scenario(
            rng,
            "weak BDR (0.25), sample-like, plus one perfect BDR (34/34)",
            teams=n,
            bdrs_per_team=6,
            weak=0.25,
            meetings=(90, 110),
            close_days=(5, 30),
            perfect=[34],
        ),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="replications per scenario")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--funnel-only",
        action="store_true",
        help="rerun only the BDR-flag scenarios; keep the others from the last results file",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.reps
    started = time.perf_counter()
    if args.funnel_only:
        results = json.loads(RESULTS.read_text())
        results["funnel"] = funnel_scenarios(rng, n)
        results["funnel_rerun"] = {
            "date": datetime.now(UTC).date().isoformat(),
            "seed": args.seed,
            "replications": n,
            "seconds": round(time.perf_counter() - started, 1),
        }
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        DOC.write_text(render(results))
        print(json.dumps(results["funnel"], indent=2))
        return
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "seed": args.seed,
        "replications": n,
    }
    results["skill_equal"] = [skill_equal(rng, n, size, 0.3) for size in (4, 6, 8, 12)]
    results["skill_weak"] = [skill_weak(rng, n, c) for c in (40, 66, 100)]
    results["skill_heterogeneous"] = skill_heterogeneous(rng, n)
    results["skill_all_zero"] = skill_degenerate(rng, n, 0.005)
    results["skill_all_one"] = skill_degenerate(rng, n, 0.995)
    results["funnel"] = funnel_scenarios(rng, n)
    results["handoffs_mid_period"] = handoff_scenario(rng, n)
    results["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    DOC.write_text(render(results))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
