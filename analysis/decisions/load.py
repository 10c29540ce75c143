"""Decision load: decisions per rep per local day, and per-rep summaries.

The default threshold of 45 decisions a day is a heuristic taken from practitioner
write-ups ("quality drops after 40-50 decisions a day"), not an established law;
:func:`analysis.decisions.fatigue.fatigue` estimates the threshold from the data.

Examples
--------
>>> from datetime import date
>>> import polars as pl
>>> d = pl.LazyFrame({"rep_id": ["r1"] * 3, "team": ["A"] * 3, "day": [date(2026, 7, 1)] * 3,
...                   "decision_class": ["judgment", "pattern_recognition", "unclassified"]})
>>> decision_load(d, threshold=2).collect().row(0)
('r1', 'A', datetime.date(2026, 7, 1), 3, 1, 1, 1, 2, True)
"""

from __future__ import annotations

import polars as pl

from analysis.config import DEFAULTS
from analysis.decisions.exprs import (
    automatable_share,
    class_count,
    classified_count,
    judgment_share,
    over_threshold,
    share,
    wilson_bounds,
)
from analysis.decisions.taxonomy import UNCLASSIFIED


def decision_load(
    decisions: pl.LazyFrame, *, threshold: int = DEFAULTS.fatigue_threshold
) -> pl.LazyFrame:
    """Per rep and local day with at least one decision: counts by class.

    ``decisions`` counts every activity of the day, unclassified ones included (it is the
    same count ``seq_in_day`` runs over); ``over_threshold`` is ``decisions > threshold``,
    where ``threshold`` is a heuristic.

    Returns
    -------
    pl.LazyFrame
        ``rep_id, team, day, decisions, pattern_recognition, judgment, unclassified,
        classified, over_threshold``, sorted by ``rep_id, day``.
    """
    return (
        decisions.group_by("rep_id", "team", "day")
        .agg(
            pl.len().cast(pl.Int64).alias("decisions"),
            class_count("pattern_recognition"),
            class_count("judgment"),
            class_count(UNCLASSIFIED),
            classified_count(),
        )
        .with_columns(over_threshold(threshold))
        .select(
            "rep_id",
            "team",
            "day",
            "decisions",
            "pattern_recognition",
            "judgment",
            UNCLASSIFIED,
            "classified",
            "over_threshold",
        )
        .sort("rep_id", "day")
    )


def rep_load_summary(
    load: pl.LazyFrame, *, threshold: int = DEFAULTS.fatigue_threshold
) -> pl.LazyFrame:
    """Per rep: how many decisions a day, how often over the threshold, and of what kind.

    Parameters
    ----------
    load
        The :func:`decision_load` table.
    threshold
        Days with ``decisions > threshold`` count as over (a heuristic); recomputed from
        ``decisions`` so it need not match the threshold ``load`` was built with.

    Returns
    -------
    pl.LazyFrame
        ``rep_id, team, days_active, decisions, classified, mean_daily_decisions,
        median_daily_decisions, p90_daily_decisions, days_over_threshold,
        share_days_over_threshold, judgment_share, automatable_share,
        automatable_ci_low, automatable_ci_high`` sorted by ``team, rep_id``.
        Shares are over classified decisions and null where a rep has none;
        the automatable interval is a Wilson 95% interval treating decisions as
        independent (optimistic when a rep's days differ).

    Examples
    --------
    >>> from datetime import date
    >>> load = pl.LazyFrame({"rep_id": ["r1", "r1"], "team": ["A", "A"],
    ...     "day": [date(2026, 7, 1), date(2026, 7, 2)], "decisions": [10, 50],
    ...     "pattern_recognition": [6, 30], "judgment": [2, 10]})
    >>> s = rep_load_summary(load).collect()
    >>> s.select("days_active", "mean_daily_decisions", "share_days_over_threshold",
    ...          "automatable_share").row(0)
    (2, 30.0, 0.5, 0.75)
    """
    pattern = pl.col("pattern_recognition").sum()
    judgment = pl.col("judgment").sum()
    return (
        load.group_by("rep_id", "team")
        .agg(
            pl.len().cast(pl.Int64).alias("days_active"),
            pl.col("decisions").sum().cast(pl.Int64).alias("decisions"),
            (pattern + judgment).cast(pl.Int64).alias("classified"),
            pattern.cast(pl.Int64).alias("pattern_recognition"),
            pl.col("decisions").mean().alias("mean_daily_decisions"),
            pl.col("decisions").median().cast(pl.Float64).alias("median_daily_decisions"),
            pl.col("decisions")
            .quantile(0.9, interpolation="linear")
            .cast(pl.Float64)
            .alias("p90_daily_decisions"),
            over_threshold(threshold).sum().cast(pl.Int64).alias("days_over_threshold"),
            judgment_share(pattern, judgment),
            automatable_share(pattern, judgment),
        )
        .with_columns(
            share("days_over_threshold", "days_active").alias("share_days_over_threshold"),
            *wilson_bounds("pattern_recognition", "classified", prefix="automatable_"),
        )
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
        .sort("team", "rep_id")
    )
