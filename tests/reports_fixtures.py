"""A small, realistic metrics directory for the report tests.

It mirrors what ``analysis.pipeline.run_metrics`` writes (CONTRACT section 4 plus the
extra tables, with the pipeline's real column names such as ``fatigue_curve.seq_from`` /
``quality_rate`` and ``handoff_summary.bdr_id``), so the notebooks and the runner are
tested on small planted data, independently of the pipeline's own computations.

Planted facts the tests look for
--------------------------------
- ``Mid-Market West`` is trusted (hygiene 82), ``Enterprise East`` is not (hygiene 48).
- ``SMB North`` is a team with reps but no rows at all this quarter.
- In each team the BDR ``<prefix>-bdr-3`` is flagged (many meetings, few wins).
- In each team ``<prefix>-ae-5`` has only 3 closed deals: evidence ``too_few``;
  ``<prefix>-ae-6`` has no closed deal: ``win_rate`` is null.
- ``<prefix>-ae-1`` is the top performer.
- Fatigue is estimable for West (threshold 44) and not for East (``reason`` says why).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

TRUSTED_TEAM = "Mid-Market West"
UNTRUSTED_TEAM = "Enterprise East"
EMPTY_TEAM = "SMB North"
TEAMS = (TRUSTED_TEAM, UNTRUSTED_TEAM)
HYGIENE = {TRUSTED_TEAM: 82.0, UNTRUSTED_TEAM: 48.0}
PREFIX = {TRUSTED_TEAM: "mmw", UNTRUSTED_TEAM: "ee"}
PERIOD = {"label": "2026Q3", "start": "2026-07-01", "end": "2026-10-01"}
THRESHOLDS = {"fatigue_threshold": 45, "min_deals": 10, "hygiene_threshold": 70.0}

#: metric -> tables whose absence makes it unavailable (what quality.json would list)
METRIC_TABLES = {
    "decision_load": ["activities"],
    "fatigue": ["activities"],
    "bdr_funnel": ["meetings", "opportunities"],
    "handoffs": ["meetings", "activities"],
    "skill_gaps": ["opportunities"],
    "hygiene": ["opportunities"],
}
#: output table -> metric it belongs to
TABLE_METRIC = {
    "decisions": "decision_load",
    "decision_load": "decision_load",
    "rep_load": "decision_load",
    "taxonomy_coverage": "decision_load",
    "unmatched_shapes": "decision_load",
    "fatigue": "fatigue",
    "fatigue_curve": "fatigue",
    "bdr_funnel": "bdr_funnel",
    "handoffs": "handoffs",
    "handoff_summary": "handoffs",
    "skill_gaps": "skill_gaps",
    "hygiene": "hygiene",
}


def _workdays(start: date, n: int) -> list[date]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    n_safe = np.where(n > 0, n, 1)
    p = k / n_safe
    den = 1 + z**2 / n_safe
    centre = (p + z**2 / (2 * n_safe)) / den
    half = z * np.sqrt(p * (1 - p) / n_safe + z**2 / (4 * n_safe**2)) / den
    lo = np.where(n > 0, centre - half, np.nan)
    hi = np.where(n > 0, centre + half, np.nan)
    return lo, hi


def _team_tables(team: str, rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    p = PREFIX[team]
    trusted = HYGIENE[team] >= THRESHOLDS["hygiene_threshold"]
    bdrs = [f"{p}-bdr-{i}" for i in range(1, 5)]
    aes = [f"{p}-ae-{i}" for i in range(1, 7)]
    reps = bdrs + aes
    days = _workdays(date(2026, 7, 1), 30)

    # --- decision load (rep x local day) and the decisions behind it -------------
    load_rows = []
    for rep in reps:
        base = 48 if rep.endswith("-1") else 34
        for day in days:
            n = int(rng.poisson(base))
            judg = int(rng.binomial(n, 0.35))
            uncl = int(rng.binomial(n - judg, 0.1))
            load_rows.append(
                {
                    "rep_id": rep,
                    "team": team,
                    "day": day,
                    "decisions": n,
                    "pattern_recognition": n - judg - uncl,
                    "judgment": judg,
                    "unclassified": uncl,
                    "over_threshold": n > THRESHOLDS["fatigue_threshold"],
                }
            )
    decision_load = pl.DataFrame(load_rows).with_columns(
        pl.col("decisions", "pattern_recognition", "judgment", "unclassified").cast(pl.UInt32)
    )
    dec = (
        decision_load.select(
            "rep_id",
            "team",
            "day",
            cls=pl.concat_list(
                pl.lit("pattern_recognition").repeat_by("pattern_recognition"),
                pl.lit("judgment").repeat_by("judgment"),
                pl.lit("unclassified").repeat_by("unclassified"),
            ),
        )
        .explode("cls")
        .drop_nulls("cls")
        .with_columns(seq_in_day=pl.int_range(1, pl.len() + 1).over("rep_id", "day"))
        .with_columns(
            activity_id=pl.format("{}-a{}", pl.lit(p), pl.int_range(pl.len())),
            decision_class=pl.col("cls"),
            decision=pl.col("cls").replace_strict(
                {
                    "pattern_recognition": "sequencing",
                    "judgment": "qualification",
                    "unclassified": "unclassified",
                }
            ),
            rule_id=pl.col("cls").replace_strict(
                {
                    "pattern_recognition": "email-sequence",
                    "judgment": "discovery-call",
                    "unclassified": None,
                },
                return_dtype=pl.String,
            ),
        )
        .select(
            "activity_id",
            "rep_id",
            "team",
            "day",
            "seq_in_day",
            "decision",
            "decision_class",
            "rule_id",
        )
    )

    decision_load = decision_load.with_columns(
        classified=pl.col("decisions") - pl.col("unclassified")
    )
    per_rep = decision_load.group_by("rep_id").agg(
        days_active=pl.len(),
        decisions=pl.col("decisions").sum(),
        classified=pl.col("classified").sum(),
        mean_daily_decisions=pl.col("decisions").mean(),
        median_daily_decisions=pl.col("decisions").median(),
        p90_daily_decisions=pl.col("decisions").quantile(0.9),
        days_over_threshold=pl.col("over_threshold").sum(),
        share_days_over_threshold=pl.col("over_threshold").mean(),
        judgment_share=pl.col("judgment").sum() / pl.col("classified").sum(),
        automatable_share=pl.col("pattern_recognition").sum() / pl.col("classified").sum(),
    )
    per_rep = per_rep.with_columns(
        automatable_ci_low=pl.col("automatable_share") - 0.02,
        automatable_ci_high=pl.col("automatable_share") + 0.02,
    )
    rep_load = (
        per_rep.with_columns(team=pl.lit(team))
        .sort("rep_id")
        .select(
            "rep_id",
            "team",
            "days_active",
            "decisions",
            "classified",
            "mean_daily_decisions",
            "median_daily_decisions",
            "p90_daily_decisions",
            "days_over_threshold",
            "share_days_over_threshold",
            "judgment_share",
            "automatable_share",
            "automatable_ci_low",
            "automatable_ci_high",
        )
    )
    n_dec = int(decision_load["decisions"].sum())
    n_uncl = int(decision_load["unclassified"].sum())
    taxonomy_coverage = pl.DataFrame(
        {
            "team": [team],
            "decisions": [n_dec],
            "classified": [n_dec - n_uncl],
            "unclassified": [n_uncl],
            "coverage": [(n_dec - n_uncl) / n_dec],
        }
    )

    # --- fatigue ------------------------------------------------------------------
    bins = list(range(1, 71, 5))
    estimable = trusted
    qual = [0.42 if b < 44 else 0.29 for b in bins] if estimable else [0.4] * len(bins)
    ns = [int(400 - 5 * b) for b in bins]
    pos = [round(q * n + rng.normal(0, 3)) for q, n in zip(qual, ns, strict=True)]
    lo, hi = _wilson(np.array(pos), np.array(ns))
    fatigue_curve = pl.DataFrame(
        {
            "team": team,
            "seq_from": bins,
            "seq_to": [b + 4 for b in bins],
            "n": ns,
            "positives": pos,
            "quality_rate": [k / n for k, n in zip(pos, ns, strict=True)],
            "ci_low": lo,
            "ci_high": hi,
            # the within rep-day curve: flat before the step, no confounded slope
            "adjusted_quality": [0.41 if b < 44 else 0.28 for b in bins]
            if estimable
            else [0.4] * len(bins),
        }
    )
    if estimable:
        fat = {
            "threshold_estimate": 44,
            "threshold_ci_low": 38,
            "threshold_ci_high": 51,
            "quality_before": 0.42,
            "quality_after": 0.29,
            "relative_drop": 0.31,
            "p_value": 0.004,
            "significant": True,
            "reason": None,
            "shape": "threshold",
            "slope_per_10": -0.021,
        }
    else:
        fat = {
            "threshold_estimate": None,
            "threshold_ci_low": None,
            "threshold_ci_high": None,
            "quality_before": 0.40,
            "quality_after": None,
            "relative_drop": None,
            "p_value": None,
            "significant": None,
            "reason": "too few decisions after position 45 with a quality outcome (n_after=12 < 30)",
            "shape": "none",
            "slope_per_10": None,
        }
    fatigue = pl.DataFrame(
        [{"team": team, **fat, "n_decisions": sum(ns), "n_after": 12 if not estimable else 880}],
        schema_overrides={
            k: pl.Int64 for k in ("threshold_estimate", "threshold_ci_low", "threshold_ci_high")
        }
        | {
            k: pl.Float64
            for k in (
                "quality_before",
                "quality_after",
                "relative_drop",
                "p_value",
            )
        }
        | {"reason": pl.String, "significant": pl.Boolean, "shape": pl.String}
        | {"slope_per_10": pl.Float64},
    )

    # --- BDR funnel ---------------------------------------------------------------
    booked = np.array([30, 24, 41, 18])
    held = np.array([25, 19, 35, 14])
    opps = np.array([12, 10, 9, 7])
    won = np.array([6, 4, 1, 3])
    lost = opps - won - np.array([2, 2, 3, 1])
    rate = won / booked
    lo, hi = _wilson(won, booked)
    median = float(np.median(rate))
    flag = np.array([False, False, True, False])
    bdr_funnel = pl.DataFrame(
        {
            "rep_id": bdrs,
            "team": team,
            "meetings_booked": booked,
            "meetings_held": held,
            "opportunities": opps,
            "won": won,
            "won_per_meeting": rate,
            "ci_low": lo,
            "ci_high": hi,
            "team_median_won_per_meeting": median,
            "flag": flag,
            "show_rate": held / booked,
            "lost": lost,
            "disqualification_rate": np.array([0.1, 0.15, 0.45, 0.12]),
            "evidence": "sufficient",
            "flag_reason": [
                None,
                None,
                "41 meetings booked (team max) but 1 win: interval entirely below the team median",
                None,
            ],
        }
    )

    # --- handoffs -----------------------------------------------------------------
    m_rows = []
    k = 0
    for bdr, nb in zip(bdrs, booked, strict=True):
        for _ in range(int(nb)):
            k += 1
            booked_at = datetime(2026, 7, 1, 9, tzinfo=UTC) + timedelta(
                hours=int(rng.integers(0, 2000))
            )
            lat = float(rng.gamma(1.5, 14.0 if trusted else 30.0))
            censored = k % 29 == 0
            touch = None if censored else booked_at + timedelta(hours=lat)
            m_rows.append(
                {
                    "meeting_id": f"{p}-m{k}",
                    "bdr_id": bdr,
                    "ae_id": aes[k % len(aes)],
                    "booked_at": booked_at,
                    "first_ae_touch_at": touch,
                    "latency_hours": None if censored else lat,
                    "within_24h": None if censored else lat <= 24,
                    "censored": censored,
                    "team": team,
                }
            )
    handoffs = pl.DataFrame(
        m_rows,
        schema={
            "meeting_id": pl.String,
            "bdr_id": pl.String,
            "ae_id": pl.String,
            "booked_at": pl.Datetime("us", "UTC"),
            "first_ae_touch_at": pl.Datetime("us", "UTC"),
            "latency_hours": pl.Float64,
            "within_24h": pl.Boolean,
            "censored": pl.Boolean,
            "team": pl.String,
        },
    )
    summary_aggs = dict(
        meetings=pl.len(),
        touched=pl.col("first_ae_touch_at").is_not_null().sum(),
        median_latency_hours=pl.col("latency_hours").median(),
        n_decided=pl.col("within_24h").is_not_null().sum(),
        n_within_24h=pl.col("within_24h").sum(),
        share_within_24h=pl.col("within_24h").mean(),
        n_censored=pl.col("within_24h").is_null().sum(),
    )
    handoff_summary = (
        pl.concat(
            [
                handoffs.group_by("bdr_id")
                .agg(**summary_aggs)
                .with_columns(level=pl.lit("bdr"), team=pl.lit(team)),
                handoffs.select(**summary_aggs).with_columns(
                    level=pl.lit("team"), team=pl.lit(team), bdr_id=pl.lit(None, pl.String)
                ),
            ],
            how="diagonal",
        )
        .select(
            "level",
            "team",
            "bdr_id",
            "meetings",
            "touched",
            "median_latency_hours",
            "n_decided",
            "n_within_24h",
            "share_within_24h",
            "n_censored",
        )
        .sort("level", "bdr_id", nulls_last=True)
    )
    ci_lo, ci_hi = _wilson(
        handoff_summary["n_within_24h"].to_numpy(), handoff_summary["n_decided"].to_numpy()
    )
    handoff_summary = handoff_summary.with_columns(ci_low=ci_lo, ci_high=ci_hi)

    # --- skill gaps (AEs) ---------------------------------------------------------
    closed = np.array([24, 20, 18, 15, 3, 0])
    wins = np.array([12, 7, 5, 4, 2, 0])
    win_rate = np.where(closed > 0, wins / np.where(closed > 0, closed, 1), np.nan)
    prior_a, prior_b = 4.0, 8.0
    shrunk = (wins + prior_a) / (closed + prior_a + prior_b)
    slo, shi = _wilson(wins + prior_a, closed + prior_a + prior_b)
    sufficient = closed >= THRESHOLDS["min_deals"]
    top = float(shrunk[sufficient].max())
    skill_gaps = pl.DataFrame(
        {
            "rep_id": aes,
            "team": team,
            "role": "AE",
            "closed": closed,
            "won": wins,
            "win_rate": win_rate,
            "shrunk_win_rate": shrunk,
            "ci_low": slo,
            "ci_high": shi,
            "top_performer_rate": top,
            "ratio_to_top": shrunk / top,
            "evidence": np.where(sufficient, "sufficient", "too_few"),
            "rank_group": 1,
            "is_top_performer": shrunk == top,
            "amount_weighted_win_rate": np.where(closed > 0, win_rate * 1.1, np.nan).clip(0, 1),
            "adjusted_win_rate": shrunk * 0.98,
            "adjusted_ratio_to_top": shrunk * 0.98 / top,
            "mix_note": [None, "more enterprise deals than the team", None, None, None, None],
        }
    ).with_columns(pl.col("win_rate", "amount_weighted_win_rate").fill_nan(None))

    # --- hygiene ------------------------------------------------------------------
    score = HYGIENE[team]
    comp_team = [0.9, 0.7, 0.8, 0.75, 0.95] if trusted else [0.6, 0.3, 0.5, 0.35, 0.7]
    h_rows = [{"level": "team", "team": team, "rep_id": None, "score": score, "trusted": trusted}]
    for i, rep in enumerate(reps):
        s = float(np.clip(score + (i - 4) * 3, 0, 100))
        h_rows.append(
            {
                "level": "rep",
                "team": team,
                "rep_id": rep,
                "score": s,
                "trusted": s >= THRESHOLDS["hygiene_threshold"],
            }
        )
    hygiene = pl.DataFrame(h_rows, schema_overrides={"rep_id": pl.String}).with_columns(
        stage_consistent=pl.lit(comp_team[0]),
        lost_with_reason=pl.lit(comp_team[1]),
        calls_with_notes=pl.lit(comp_team[2]),
        spine_complete=pl.lit(comp_team[3]),
        activities_linked=pl.lit(comp_team[4]),
        stage_consistent_n=pl.lit(80),
        lost_with_reason_n=pl.lit(40),
        calls_with_notes_n=pl.lit(900),
        spine_complete_n=pl.lit(80),
        activities_linked_n=pl.lit(n_dec),
        n_components=pl.lit(5),
    )

    tables = {
        "decisions": dec,
        "decision_load": decision_load,
        "rep_load": rep_load,
        "taxonomy_coverage": taxonomy_coverage,
        "fatigue": fatigue,
        "fatigue_curve": fatigue_curve,
        "bdr_funnel": bdr_funnel,
        "handoffs": handoffs,
        "handoff_summary": handoff_summary,
        "skill_gaps": skill_gaps,
        "hygiene": hygiene,
    }
    with_trust = {"bdr_funnel", "handoffs", "handoff_summary", "skill_gaps", "fatigue", "rep_load"}
    per_rep = {"bdr_funnel", "handoffs", "skill_gaps", "rep_load"}
    out = {}
    for name, df in tables.items():
        if name in with_trust:
            df = df.with_columns(data_trusted=pl.lit(trusted))
        if name in per_rep:  # the rep's own hygiene flag
            df = df.with_columns(rep_data_trusted=pl.lit(trusted))
        out[name] = df
    return out


def _write_team_summary(out: Path, teams: list[str], written: list[str]) -> None:
    """``team_summary`` built by the package's own producer from the fixture's tables."""
    from analysis import registry
    from analysis.metrics.team_summary import team_summary

    reps = pl.LazyFrame({"rep_id": [f"r{i}" for i in range(len(teams))], "team": teams})
    sources = registry.get("team_summary").upstream
    tables = {n: pl.scan_parquet(out / f"{n}.parquet") for n in sources if n in written}
    summary = team_summary(reps, fatigue_threshold=THRESHOLDS["fatigue_threshold"], **tables)
    summary.collect().write_parquet(out / "team_summary.parquet")


def write_metrics_fixture(
    out: Path,
    *,
    teams: Iterable[str] = TEAMS,
    empty_teams: Iterable[str] = (EMPTY_TEAM,),
    missing_metrics: Iterable[str] = (),
    seed: int = 7,
) -> Path:
    """Write a metrics dir like ``run_metrics`` does; return ``out``.

    ``missing_metrics`` drops every table of those metrics (e.g. ``["bdr_funnel"]``) and
    lists them under ``unavailable`` in ``quality.json``, as the pipeline does when an
    optional input table is absent.
    """
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    teams, empty_teams, missing = list(teams), list(empty_teams), set(missing_metrics)
    per_team = [_team_tables(t, rng) for t in teams]
    written = []
    for name in per_team[0]:
        if TABLE_METRIC[name] in missing:
            continue
        df = pl.concat([t[name] for t in per_team], how="vertical_relaxed")
        if name == "fatigue":
            all_row = df.head(1).with_columns(
                team=pl.lit("all"),
                threshold_estimate=pl.lit(45, pl.Int64),
                threshold_ci_low=pl.lit(41, pl.Int64),
                threshold_ci_high=pl.lit(50, pl.Int64),
                p_value=pl.lit(0.01),
                n_decisions=pl.lit(int(df["n_decisions"].sum()), df["n_decisions"].dtype),
                reason=pl.lit(None, pl.String),
            )
            df = pl.concat([df, all_row])
        df.write_parquet(out / f"{name}.parquet")
        written.append(name)
    shapes = pl.DataFrame(
        {
            "activity_type": ["task", "note", "email", "sms"],
            "outcome": ["completed", None, "sent", None],
            "subject_shape": ["follow up", "internal note", "newsletter #", None],
            "n": [410, 220, 95, 12],
            "share": [410 / 737, 220 / 737, 95 / 737, 12 / 737],
        }
    )
    if "decision_load" not in missing:
        shapes.write_parquet(out / "unmatched_shapes.parquet")
        written.append("unmatched_shapes")

    _write_team_summary(out, [*teams, *empty_teams], written)  # always written, like metrics
    written.append("team_summary")

    quarantine = pl.DataFrame(
        {
            "activity_id": ["x1", "x1", "x9"],
            "rep_id": ["mmw-ae-1", "mmw-ae-1", "ghost"],
            "reason": ["duplicate", "duplicate", "unknown rep"],
        }
    )
    quarantine.write_parquet(out / "quarantine" / "activities.parquet")
    n_act = 200_000
    tables_q = {
        "reps": {
            "input_rows": 25,
            "clean_rows": 24,
            "quarantined_rows": 1,
            "reasons": {"missing_required_value": 1},
        },
        "activities": {
            "input_rows": n_act,
            "clean_rows": n_act - 55,
            "quarantined_rows": 55,
            "reasons": {"duplicate": 40, "unknown_rep": 12, "unparseable_value": 3},
        },
    }
    quality = {
        **tables_q,  # the pipeline also repeats each table at the top level
        "default_timezone": "UTC",
        "missing_tables": [],
        "tables": tables_q,
        "unavailable": {m: METRIC_TABLES[m] for m in sorted(missing)},
        "warnings": ["opportunities: 3 rows have closed_at before created_at"],
    }
    (out / "quality.json").write_text(json.dumps(quality, indent=2))
    run = {
        "period": PERIOD,
        "tz": "UTC",
        "as_of": "2026-10-02T08:30:00+00:00",
        "data_dir": "/data/fixture",
        "taxonomy": "default",
        "thresholds": THRESHOLDS,
        "teams": sorted([*teams, *empty_teams]),
        "tables": {name: pl.read_parquet(out / f"{name}.parquet").height for name in written},
        "unavailable": quality["unavailable"],
    }
    (out / "run.json").write_text(json.dumps(run, indent=2))
    return out
