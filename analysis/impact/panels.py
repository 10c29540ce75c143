"""Per-metric rep-day counts, and rep-week panels aligned on a change's start.

Every metric of the impact analysis is a ratio ``num / den`` summed over a rep's days:

=====================================  ===================  =============================  ==========
metric                                 rep                  num                            den
=====================================  ===================  =============================  ==========
meetings_booked_per_bdr_week           BDR (``booked_by``)  meetings booked                (rep-week)
opportunities_created_per_rep_week     ``owner_id``         opportunities created          (rep-week)
pipeline_amount_created_per_rep_week   ``owner_id``         amount of those opportunities  (rep-week)
won_per_meeting                        BDR (``booked_by``)  meetings won within the        meetings
                                                            outcome horizon, by as-of
decisions_per_rep_day                  ``rep_id``           decisions                      active days
judgment_share                         ``rep_id``           judgment decisions             classified
handoff_within_24h                     BDR (``booked_by``)  meetings touched within 24 h   meetings judged
=====================================  ===================  =============================  ==========

Count metrics (no ``den``) are per rep-week: a rep-week without events is a 0 while the
rep is active (between their first and last event of any kind), never outside that span.
``won_per_meeting`` also carries the *matured* counts (meetings with the full horizon
observed before as-of), which the descriptive before/after means use; the model uses all
meetings, because censoring depends on the booking week alone and the week fixed effects
absorb it (as long as the change does not alter how fast deals close).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from analysis.decisions.exprs import class_count, classified_count
from analysis.periods import Period

__all__ = ["METRICS", "MetricSpec", "metric_days", "rep_week_panel"]


@dataclass(frozen=True)
class MetricSpec:
    """How one impact metric is built and read."""

    name: str
    needs: tuple[str, ...]
    rate: bool  # num / den (a share or a rate per unit); otherwise a count per rep-week
    label: str
    kind: str  # "volume" or "conversion" (the report puts them side by side)


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec(
            "meetings_booked_per_bdr_week",
            ("meetings",),
            False,
            "meetings booked per BDR-week",
            "volume",
        ),
        MetricSpec(
            "opportunities_created_per_rep_week",
            ("opportunities",),
            False,
            "opportunities created per rep-week",
            "volume",
        ),
        MetricSpec(
            "pipeline_amount_created_per_rep_week",
            ("opportunities",),
            False,
            "pipeline amount created per rep-week",
            "volume",
        ),
        MetricSpec(
            "won_per_meeting",
            ("meetings", "opportunities"),
            True,
            "meetings won within the outcome horizon",
            "conversion",
        ),
        MetricSpec(
            "decisions_per_rep_day", ("activities",), True, "decisions per active rep-day", "volume"
        ),
        MetricSpec(
            "judgment_share",
            ("activities",),
            True,
            "judgment share of classified decisions",
            "conversion",
        ),
        MetricSpec(
            "handoff_within_24h",
            ("meetings", "activities"),
            True,
            "meetings touched by the AE within 24 h",
            "conversion",
        ),
    )
}

_DAY_SCHEMA = {
    "rep_id": pl.String,
    "day": pl.Datetime("us", "UTC"),
    "num": pl.Float64,
    "den": pl.Float64,
    "m_num": pl.Float64,
    "m_den": pl.Float64,
}


def _by_day(frame: pl.LazyFrame, rep: str, at: str, num: pl.Expr, den: pl.Expr) -> pl.LazyFrame:
    return (
        frame.with_columns(day=pl.col(at).dt.truncate("1d"))
        .group_by(pl.col(rep).alias("rep_id"), "day")
        .agg(num=num.cast(pl.Float64), den=den.cast(pl.Float64))
        .with_columns(m_num=pl.col("num"), m_den=pl.col("den"))
    )


def metric_days(
    clean: Mapping[str, pl.LazyFrame],
    *,
    window: Period,
    as_of: datetime,
    horizon_days: int = 60,
    taxonomy: object | None = None,
    tz: str = "UTC",
) -> dict[str, pl.LazyFrame]:
    """Rep-day ``num``/``den`` (and matured ``m_num``/``m_den``) of every computable metric.

    ``clean`` holds the validated canonical tables (``reps`` required); a metric whose
    tables are missing is left out. Events at or after ``as_of`` are not counted.

    Examples
    --------
    >>> from datetime import UTC
    >>> reps = pl.LazyFrame({"rep_id": ["b"], "role": ["BDR"], "team": ["T"], "timezone": ["UTC"]})
    >>> m = pl.LazyFrame({"meeting_id": ["m1", "m2"], "booked_by": ["b", "b"],
    ...     "booked_at": [datetime(2026, 7, 1, 9, tzinfo=UTC), datetime(2026, 7, 1, 11, tzinfo=UTC)]})
    >>> days = metric_days({"reps": reps, "meetings": m}, window=Period.quarter("2026Q3"),
    ...     as_of=datetime(2026, 10, 1, tzinfo=UTC))
    >>> days["meetings_booked_per_bdr_week"].collect()["num"].to_list()
    [2.0]
    """
    from analysis.metrics._common import period_bounds

    start, end = period_bounds(window, tz)
    end = min(end, as_of)
    lo, hi = pl.lit(start).dt.cast_time_unit("us"), pl.lit(end).dt.cast_time_unit("us")
    reps = clean["reps"]
    bdrs = reps.filter(pl.col("role").cast(pl.String) == "BDR").select("rep_id")
    out: dict[str, pl.LazyFrame] = {}
    one = pl.lit(1.0)
    meetings, opps, acts = (
        clean.get("meetings"),
        clean.get("opportunities"),
        clean.get("activities"),
    )
    if meetings is not None:
        booked = meetings.filter(pl.col("booked_at").is_between(lo, hi, closed="left")).join(
            bdrs, left_on="booked_by", right_on="rep_id", how="semi"
        )
        out["meetings_booked_per_bdr_week"] = _by_day(
            booked, "booked_by", "booked_at", pl.len(), one
        )
        if opps is not None:
            out["won_per_meeting"] = _won_days(booked, opps, as_of=as_of, horizon_days=horizon_days)
        if acts is not None:
            out["handoff_within_24h"] = _handoff_days(meetings, acts, reps, window, as_of, tz, bdrs)
    if opps is not None:
        created = opps.filter(pl.col("created_at").is_between(lo, hi, closed="left"))
        out["opportunities_created_per_rep_week"] = _by_day(
            created, "owner_id", "created_at", pl.len(), one
        )
        out["pipeline_amount_created_per_rep_week"] = _by_day(
            created.filter(pl.col("amount").is_not_null()),
            "owner_id",
            "created_at",
            pl.col("amount").sum(),
            one,
        )
    if acts is not None and taxonomy is not None:
        from analysis.decisions.classify import classify_activities

        decided = classify_activities(
            acts.filter(pl.col("occurred_at") < hi), reps, taxonomy=taxonomy, period=window
        )
        per_day = decided.group_by("rep_id", "day").agg(
            pl.len().alias("decisions"), class_count("judgment"), classified_count()
        )
        day = pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("day")
        out["decisions_per_rep_day"] = per_day.select(
            "rep_id",
            day,
            num=pl.col("decisions").cast(pl.Float64),
            den=pl.lit(1.0),
            m_num=pl.col("decisions").cast(pl.Float64),
            m_den=pl.lit(1.0),
        )
        out["judgment_share"] = per_day.filter(pl.col("classified") > 0).select(
            "rep_id",
            day,
            num=pl.col("judgment").cast(pl.Float64),
            den=pl.col("classified").cast(pl.Float64),
            m_num=pl.col("judgment").cast(pl.Float64),
            m_den=pl.col("classified").cast(pl.Float64),
        )
    return {k: v.select(list(_DAY_SCHEMA)).cast(_DAY_SCHEMA) for k, v in out.items()}


def _won_days(
    booked: pl.LazyFrame, opps: pl.LazyFrame, *, as_of: datetime, horizon_days: int
) -> pl.LazyFrame:
    """Meetings and their wins within the horizon (known by as-of), per BDR-day."""
    from analysis.metrics.funnel import attribute_opportunities

    credited = attribute_opportunities(booked, opps)
    horizon = timedelta(days=horizon_days)
    as_of_day = pl.lit(as_of.date())
    wins = (
        booked.select("meeting_id", "booked_by", "booked_at")
        .join(credited, on="meeting_id", how="inner")
        .filter(
            pl.col("is_won")
            & pl.col("closed_at").is_not_null()
            & (pl.col("closed_at") <= as_of_day)
            & (pl.col("closed_at") <= (pl.col("booked_at") + horizon).dt.date())
        )
        .group_by("meeting_id")
        .agg(pl.len().alias("won"))
    )
    matured = (pl.col("booked_at") + horizon) <= pl.lit(as_of).dt.cast_time_unit("us")
    return (
        booked.select("meeting_id", "booked_by", "booked_at")
        .join(wins, on="meeting_id", how="left")
        .with_columns(
            won=(pl.col("won").fill_null(0) > 0).cast(pl.Float64),
            day=pl.col("booked_at").dt.truncate("1d"),
            matured=matured,
        )
        .group_by(pl.col("booked_by").alias("rep_id"), "day")
        .agg(
            num=pl.col("won").sum(),
            den=pl.len().cast(pl.Float64),
            m_num=pl.col("won").filter(pl.col("matured")).sum(),
            m_den=pl.col("matured").sum().cast(pl.Float64),
        )
    )


def _handoff_days(
    meetings: pl.LazyFrame,
    acts: pl.LazyFrame,
    reps: pl.LazyFrame,
    window: Period,
    as_of: datetime,
    tz: str,
    bdrs: pl.LazyFrame,
) -> pl.LazyFrame:
    """Meetings whose AE touched them within 24 h (censored ones left out), per BDR-day."""
    from analysis.metrics.handoffs import handoffs

    table = handoffs(
        meetings.filter(pl.col("booked_at") < pl.lit(as_of).dt.cast_time_unit("us")),
        acts.filter(pl.col("occurred_at") <= pl.lit(as_of).dt.cast_time_unit("us")),
        period=window,
        tz=tz,
        reps=reps,
        as_of=as_of,
    )
    return _by_day(
        table.filter(pl.col("within_24h").is_not_null()).join(
            bdrs, left_on="bdr_id", right_on="rep_id", how="semi"
        ),
        "bdr_id",
        "booked_at",
        pl.col("within_24h").sum(),
        pl.len(),
    )


def rep_week_panel(
    days: pl.DataFrame | pl.LazyFrame,
    *,
    origin: datetime,
    first_week: int,
    last_week: int,
    rate: bool,
    active: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Rep-week sums with ``week`` counted in whole weeks from ``origin`` (week 0 starts there).

    Keeps weeks ``first_week .. last_week``. A count metric (``rate=False``) gets a 0 for
    every week a rep is ``active`` (``rep_id, first_day, last_day``) without events, and
    ``den`` = 1 per rep-week; a rate keeps only rep-weeks with ``den > 0``.

    Examples
    --------
    >>> from datetime import UTC
    >>> d = pl.DataFrame({"rep_id": ["a", "a"], "day": [datetime(2026, 7, 1, tzinfo=UTC),
    ...     datetime(2026, 7, 15, tzinfo=UTC)], "num": [2.0, 1.0], "den": [1.0, 1.0],
    ...     "m_num": [2.0, 1.0], "m_den": [1.0, 1.0]})
    >>> act = pl.DataFrame({"rep_id": ["a"], "first_day": [datetime(2026, 7, 1, tzinfo=UTC)],
    ...     "last_day": [datetime(2026, 7, 20, tzinfo=UTC)]})
    >>> p = rep_week_panel(d, origin=datetime(2026, 7, 8, tzinfo=UTC), first_week=-1,
    ...     last_week=1, rate=False, active=act).collect()
    >>> p.select("week", "num").rows()
    [(-1, 2.0), (0, 0.0), (1, 1.0)]
    """
    week_us = 7 * 86_400_000_000
    origin_lit = pl.lit(origin).dt.cast_time_unit("us")
    week_of = lambda c: ((pl.col(c) - origin_lit).dt.total_microseconds() // week_us).cast(  # noqa: E731
        pl.Int64
    )
    sums = (
        days.lazy()
        .with_columns(week=week_of("day"))
        .filter(pl.col("week").is_between(first_week, last_week))
        .group_by("rep_id", "week")
        .agg(pl.col("num", "den", "m_num", "m_den").sum())
    )
    if rate:
        return sums.filter(pl.col("den") > 0).sort("rep_id", "week")
    if active is None:
        grid = sums.select("rep_id").unique()
        grid = grid.join(
            pl.LazyFrame({"week": list(range(first_week, last_week + 1))}), how="cross"
        )
    else:
        grid = (
            active.lazy()
            .select(
                "rep_id",
                week=pl.int_ranges(
                    pl.max_horizontal(week_of("first_day"), pl.lit(first_week)),
                    pl.min_horizontal(week_of("last_day"), pl.lit(last_week)) + 1,
                ),
            )
            .explode("week")
            .drop_nulls("week")
        )
    return (
        grid.join(sums, on=["rep_id", "week"], how="left")
        .with_columns(
            pl.col("num", "m_num").fill_null(0.0),
            den=pl.lit(1.0),
            m_den=pl.lit(1.0),
        )
        .sort("rep_id", "week")
    )
