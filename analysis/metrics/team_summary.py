"""``team_summary``: every headline figure a team report states, one row per team.

Report sentences format these numbers and never compute them, so a sentence and the
tables it summarises agree by construction. Each figure is built from the same
expression factories as the rep tables (:mod:`analysis.decisions.exprs`), or taken
from the team row of the table that defines it (``handoff_summary``'s team row,
``hygiene``'s team row, ``fatigue``'s team row): one definition per number.

A figure is null, never 0, where its table is unavailable or the team has no evidence
in it (``flagged_bdrs`` is null for a team without BDR rows, 0 when it has BDRs and none
is flagged).

Columns are declared in :mod:`analysis.registry` (``team_summary``).
"""

from __future__ import annotations

import polars as pl

from analysis import registry
from analysis.config import DEFAULTS
from analysis.decisions.exprs import (
    automatable_share,
    judgment_share,
    over_threshold,
    share,
    wilson_bounds,
)

__all__ = ["team_summary"]

# the columns each source table contributes (types: the registry entry ``team_summary``)
_LOAD = (
    "rep_days",
    "decisions",
    "classified",
    "pattern_recognition",
    "judgment",
    "median_daily_decisions",
    "p90_daily_decisions",
    "share_rep_days_over_threshold",
    "judgment_share",
    "automatable_share",
    "automatable_ci_low",
    "automatable_ci_high",
)
_TAXONOMY = ("taxonomy_coverage",)
_FATIGUE = ("fatigue_threshold_estimate",)
_FUNNEL = ("bdrs", "flagged_bdrs")
_HANDOFF = (
    "handoff_meetings",
    "handoff_share_within_24h",
    "handoff_median_latency_hours",
    "handoff_n_censored",
)
_GAPS = (
    "reps_compared",
    "reps_too_few",
    "top_performer_rep_id",
    "top_performer_role",
    "top_performer_rate",
    "top_performer_ci_low",
    "top_performer_ci_high",
)
_HYGIENE = ("hygiene_score", "trusted")
_STAGES = ("slowest_stage", "slowest_stage_median_days")
_EXCEPTIONS = ("open_deals", "stalled_deals", "pushed_twice_or_more", "past_due_deals")


def _load_figures(load: pl.LazyFrame, *, threshold: int) -> pl.LazyFrame:
    pattern, judgment = pl.col("pattern_recognition").sum(), pl.col("judgment").sum()
    return (
        load.group_by("team")
        .agg(
            pl.len().cast(pl.Int64).alias("rep_days"),
            pl.col("decisions").sum().cast(pl.Int64),
            (pattern + judgment).cast(pl.Int64).alias("classified"),
            pattern.cast(pl.Int64),
            judgment.cast(pl.Int64),
            pl.col("decisions").median().cast(pl.Float64).alias("median_daily_decisions"),
            # the report's long-standing definition of the team's 90th percentile
            pl.col("decisions").quantile(0.9).cast(pl.Float64).alias("p90_daily_decisions"),
            share(over_threshold(threshold).sum(), pl.len()).alias("share_rep_days_over_threshold"),
            judgment_share(pattern, judgment),
            automatable_share(pattern, judgment),
        )
        .with_columns(*wilson_bounds("pattern_recognition", "classified", prefix="automatable_"))
    )


def _fatigue_figures(fatigue: pl.LazyFrame) -> pl.LazyFrame:
    return fatigue.filter(pl.col("team") != "all").select(
        "team", pl.col("threshold_estimate").cast(pl.Int64).alias("fatigue_threshold_estimate")
    )


def _funnel_figures(funnel: pl.LazyFrame) -> pl.LazyFrame:
    return funnel.group_by("team").agg(
        pl.len().cast(pl.Int64).alias("bdrs"),
        pl.col("flag").fill_null(False).sum().cast(pl.Int64).alias("flagged_bdrs"),
    )


def _handoff_figures(summary: pl.LazyFrame) -> pl.LazyFrame:
    return summary.filter(pl.col("level") == "team").select(
        "team",
        pl.col("meetings").alias("handoff_meetings"),
        pl.col("share_within_24h").alias("handoff_share_within_24h"),
        pl.col("median_latency_hours").alias("handoff_median_latency_hours"),
        pl.col("n_censored").alias("handoff_n_censored"),
    )


def _gap_figures(gaps: pl.LazyFrame) -> pl.LazyFrame:
    # the team's named top performer: the first by role, then rep id, among the
    # top performers of each (team, role)
    top = (
        gaps.filter(pl.col("is_top_performer").fill_null(False))
        .sort("team", "role", "rep_id")
        .group_by("team", maintain_order=True)
        .first()
        .select(
            "team",
            pl.col("rep_id").alias("top_performer_rep_id"),
            pl.col("role").cast(pl.String).alias("top_performer_role"),
            pl.col("shrunk_win_rate").alias("top_performer_rate"),
            pl.col("ci_low").alias("top_performer_ci_low"),
            pl.col("ci_high").alias("top_performer_ci_high"),
        )
    )
    counts = gaps.group_by("team").agg(
        (pl.col("evidence") == "sufficient").sum().cast(pl.Int64).alias("reps_compared"),
        (pl.col("evidence") == "too_few").sum().cast(pl.Int64).alias("reps_too_few"),
    )
    return counts.join(top, on="team", how="left")


def _hygiene_figures(hygiene: pl.LazyFrame) -> pl.LazyFrame:
    return hygiene.filter(pl.col("rep_id").is_null()).select(
        "team", pl.col("score").alias("hygiene_score"), "trusted"
    )


def _stage_figures(durations: pl.LazyFrame) -> pl.LazyFrame:
    """The team's stage with the longest Kaplan–Meier median time in stage."""
    return (
        durations.filter(pl.col("team") != "all", pl.col("median_days").is_not_null())
        .group_by("team")
        .agg(
            pl.col("stage")
            .sort_by("median_days", "stage", descending=[True, False])
            .first()
            .alias("slowest_stage"),
            pl.col("median_days").max().alias("slowest_stage_median_days"),
        )
    )


def _exception_figures(exceptions: pl.LazyFrame) -> pl.LazyFrame:
    """Open deals and their exception counts summed over the team's reps (null: no evidence)."""

    def total(column: str) -> pl.Expr:
        return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum())

    return exceptions.group_by("team").agg(
        pl.col("open_deals").sum(),
        total("stalled").alias("stalled_deals"),
        total("pushed_twice_or_more"),
        total("past_due").alias("past_due_deals"),
    )


def team_summary(
    reps: pl.LazyFrame,
    *,
    decision_load: pl.LazyFrame | None = None,
    taxonomy_coverage: pl.LazyFrame | None = None,
    fatigue: pl.LazyFrame | None = None,
    bdr_funnel: pl.LazyFrame | None = None,
    handoff_summary: pl.LazyFrame | None = None,
    skill_gaps: pl.LazyFrame | None = None,
    hygiene: pl.LazyFrame | None = None,
    stage_durations: pl.LazyFrame | None = None,
    pipeline_exceptions: pl.LazyFrame | None = None,
    fatigue_threshold: int = DEFAULTS.fatigue_threshold,
) -> pl.LazyFrame:
    """One row per team of ``reps`` with the report's headline figures (null: no evidence).

    Every input but ``reps`` is an output table, ``None`` when it was not computed.
    ``automatable_share`` is pattern recognition ÷ classified decisions, summed over the
    team's ``decision_load`` (the same factory as ``rep_load``'s).

    Examples
    --------
    >>> from datetime import date
    >>> reps = pl.LazyFrame({"rep_id": ["a", "b"], "team": ["T", "U"]})
    >>> load = pl.LazyFrame({"rep_id": ["a", "a"], "team": ["T", "T"],
    ...     "day": [date(2026, 7, 1), date(2026, 7, 2)], "decisions": [40, 50],
    ...     "pattern_recognition": [20, 25], "judgment": [10, 10]})
    >>> s = team_summary(reps, decision_load=load).collect()
    >>> s.select("team", "automatable_share", "share_rep_days_over_threshold").rows()
    [('T', 0.6923076923076923, 0.5), ('U', None, None)]
    """
    teams = reps.select(pl.col("team").cast(pl.String)).drop_nulls().unique()
    schema = registry.get("team_summary").schema()
    parts: list[tuple[pl.LazyFrame | None, tuple[str, ...]]] = [
        (
            None
            if decision_load is None
            else _load_figures(decision_load, threshold=fatigue_threshold),
            _LOAD,
        ),
        (
            None
            if taxonomy_coverage is None
            else taxonomy_coverage.select("team", pl.col("coverage").alias("taxonomy_coverage")),
            _TAXONOMY,
        ),
        (None if fatigue is None else _fatigue_figures(fatigue), _FATIGUE),
        (None if bdr_funnel is None else _funnel_figures(bdr_funnel), _FUNNEL),
        (None if handoff_summary is None else _handoff_figures(handoff_summary), _HANDOFF),
        (None if skill_gaps is None else _gap_figures(skill_gaps), _GAPS),
        (None if hygiene is None else _hygiene_figures(hygiene), _HYGIENE),
        (None if stage_durations is None else _stage_figures(stage_durations), _STAGES),
        (
            None if pipeline_exceptions is None else _exception_figures(pipeline_exceptions),
            _EXCEPTIONS,
        ),
    ]
    out = teams
    for frame, columns in parts:
        if frame is None:
            out = out.with_columns(pl.lit(None, schema[c]).alias(c) for c in columns)
        else:
            frame = frame.with_columns(pl.col("team").cast(pl.String)).select(
                "team", *(pl.col(c).cast(schema[c]) for c in columns)
            )
            out = out.join(frame, on="team", how="left")
    return out.select(schema.names()).sort("team")
