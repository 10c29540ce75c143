"""BDR funnel: meetings booked -> held -> opportunities -> won, per BDR (CONTRACT section 4).

Cohort
------
The funnel is a *meeting cohort*: the meetings each BDR (role BDR; meetings booked by
other roles are left out) booked in the period, ``booked_at`` read in ``tz``. Their
opportunities and outcomes are taken as the data knew them at ``as_of`` (CONTRACT 5.1):
an outcome closed after the as-of date is still open, for reproducible re-runs.

Attribution (event-anchored, credit survives ownership changes)
--------------------------------------------------------------
An opportunity is credited to **one meeting**, hence to that meeting's ``booked_by``:

1. ``meeting_link``: the meeting whose ``opportunity_id`` names it. If several meetings
   name it, the earliest (``booked_at``, then ``meeting_id``) over *all* periods wins, so
   an opportunity is never counted in two cohorts.
2. ``sourced_by``: an opportunity no meeting names, with ``sourced_by`` set, goes to the
   latest meeting that BDR booked at or before the opportunity's ``created_at`` and at
   most ``sourced_window_days`` earlier (GitLab uses 90 days), among that BDR's meetings
   that name no opportunity and were not canceled. No such meeting -> not credited.

The AE ``owner_id`` is never used, so reassigning the deal does not move the credit.

Columns
-------
``meetings_booked`` counts every meeting booked (any status); ``show_rate = held /
(held + no_show)`` (canceled and still-scheduled meetings left out);
``opportunities`` / ``won`` / ``lost`` count credited opportunities;
``won_per_meeting = won / meetings_booked`` with its Wilson interval (``ci_low``,
``ci_high``); ``disqualification_rate`` = held meetings whose credited opportunities are
none or all lost, over held meetings (an open opportunity is not a disqualification).

Flag (statistical, heuristic thresholds as keywords)
----------------------------------------------------
A BDR is flagged when all hold:

* ``meetings_booked >= min_meetings`` (otherwise ``evidence = "too_few"``);
* ``meetings_booked >=`` the team median of ``meetings_booked`` ("many meetings");
* the Wilson ``1 - alpha`` interval of ``won / meetings_booked`` lies entirely below the
  team median ``won_per_meeting`` computed **without this BDR** (``ci_high <
  team_median_excl_rep``), so a BDR cannot pull the benchmark toward themself and a
  two-BDR team compares each with the other. A single-BDR team is never flagged.

A small-sample unlucky BDR has a wide interval and is not flagged. The flag is one
interval test per BDR with no multiplicity correction: with many BDRs, expect about
``alpha / 2`` of ordinary BDRs among those above the floor to be flagged by chance.
Benchmarks use the BDRs with sufficient evidence only (a 4-meeting BDR's 0 % is noise
and would drag the median down): ``team_median_won_per_meeting`` (the contract column)
is the median over the team's sufficient-evidence BDRs (over all its BDRs when none has
enough meetings), and ``team_median_excl_rep`` the median over the *other*
sufficient-evidence BDRs. ``shrunk_won_per_meeting`` is the empirical-Bayes
(beta-binomial, per team) posterior mean.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from analysis.metrics import exprs
from analysis.metrics._common import in_window, period_bounds
from analysis.metrics.stats import beta_posterior, fit_beta_binomial_prior, wilson_interval
from analysis.periods import DEFAULT_OUTCOME_HORIZON_DAYS, Period

__all__ = ["attribute_opportunities", "bdr_funnel"]

_COUNT = pl.Int64


def attribute_opportunities(
    meetings: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    sourced_window_days: int = 90,
) -> pl.LazyFrame:
    """Credit each opportunity to one meeting (see the module docstring).

    Returns a lazy frame ``opportunity_id, meeting_id, attribution, is_closed, is_won,
    closed_at`` with at most one row per opportunity.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> m = pl.LazyFrame({"meeting_id": ["m1"], "booked_by": ["b1"], "status": ["held"],
    ...     "booked_at": [datetime(2026, 7, 1, tzinfo=UTC)], "opportunity_id": [None]},
    ...     schema_overrides={"opportunity_id": pl.String})
    >>> o = pl.LazyFrame({"opportunity_id": ["o1"], "sourced_by": ["b1"],
    ...     "created_at": [datetime(2026, 7, 5, tzinfo=UTC)], "is_closed": [False],
    ...     "is_won": [False], "closed_at": [None]}, schema_overrides={"closed_at": pl.Date})
    >>> attribute_opportunities(m, o).collect()["meeting_id"].to_list()
    ['m1']
    """
    opps = opportunities.select(
        "opportunity_id", "sourced_by", "created_at", "is_closed", "is_won", "closed_at"
    )
    linked = (
        meetings.filter(pl.col("opportunity_id").is_not_null())
        .group_by("opportunity_id")
        .agg(pl.col("meeting_id").sort_by("booked_at", "meeting_id").first())
        .join(opps, on="opportunity_id", how="inner")
        .with_columns(attribution=pl.lit("meeting_link"))
    )
    candidates = (
        meetings.filter(
            pl.col("opportunity_id").is_null() & (pl.col("status").cast(pl.String) != "canceled")
        )
        .select("meeting_id", "booked_by", "booked_at")
        .sort("booked_at", "meeting_id")
    )
    sourced = (
        opps.filter(pl.col("sourced_by").is_not_null())
        .join(linked.select("opportunity_id"), on="opportunity_id", how="anti")
        .sort("created_at", "opportunity_id")
        .join_asof(
            candidates,
            left_on="created_at",
            right_on="booked_at",
            by_left="sourced_by",
            by_right="booked_by",
            strategy="backward",
            tolerance=timedelta(days=sourced_window_days),
            check_sortedness=False,
        )
        .filter(pl.col("meeting_id").is_not_null())
        .with_columns(attribution=pl.lit("sourced_by"))
    )
    cols = ["opportunity_id", "meeting_id", "attribution", "is_closed", "is_won", "closed_at"]
    return pl.concat([linked.select(cols), sourced.select(cols)], how="vertical")


def bdr_funnel(
    meetings: pl.LazyFrame,
    opportunities: pl.LazyFrame | None,
    reps: pl.LazyFrame,
    *,
    period: Period,
    tz: str = "UTC",
    alpha: float = 0.05,
    min_meetings: int = 10,
    sourced_window_days: int = 90,
    as_of: datetime | date | None = None,
    outcome_horizon_days: int = DEFAULT_OUTCOME_HORIZON_DAYS,
) -> pl.DataFrame:
    """One row per BDR with meetings booked in the period, sorted by team, rep_id.

    Aggregates lazily to one row per BDR, collects that small table, then adds the Wilson
    intervals, team medians, the shrunk rate and the flag (see the module docstring).
    Without ``opportunities``, the opportunity columns (and everything built on them)
    are null: no evidence, not zero.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> reps = pl.LazyFrame({"rep_id": ["b1"], "role": ["BDR"], "team": ["t"]})
    >>> m = pl.LazyFrame({"meeting_id": ["m1", "m2"], "booked_by": ["b1", "b1"],
    ...     "booked_at": [datetime(2026, 7, 1, tzinfo=UTC)] * 2, "status": ["held", "no_show"],
    ...     "opportunity_id": ["o1", None]})
    >>> o = pl.LazyFrame({"opportunity_id": ["o1"], "owner_id": ["ae"], "sourced_by": [None],
    ...     "created_at": [datetime(2026, 7, 2, tzinfo=UTC)], "is_closed": [True],
    ...     "is_won": [True], "closed_at": [date(2026, 8, 1)]},
    ...     schema_overrides={"sourced_by": pl.String})
    >>> out = bdr_funnel(m, o, reps, period=Period.quarter("2026Q3"))
    >>> out.select("meetings_booked", "won", "won_per_meeting").row(0)
    (2, 1, 0.5)
    """
    start, end = period_bounds(period, tz)
    all_meetings = meetings.select(
        "meeting_id",
        "booked_by",
        "booked_at",
        pl.col("status").cast(pl.String),
        "opportunity_id",
    )
    cohort = all_meetings.filter(in_window("booked_at", start, end))

    if opportunities is not None:
        credit = attribute_opportunities(
            all_meetings, opportunities, sourced_window_days=sourced_window_days
        )
        resolved = pl.col("is_closed").fill_null(False)
        if as_of is not None:
            as_of_day = as_of.date() if isinstance(as_of, datetime) else as_of
            resolved = resolved & (pl.col("closed_at") <= as_of_day).fill_null(False)
        per_meeting = credit.group_by("meeting_id").agg(
            n_opps=pl.len().cast(_COUNT),
            n_won=(resolved & pl.col("is_won")).sum().cast(_COUNT),
            n_lost=(resolved & ~pl.col("is_won")).sum().cast(_COUNT),
        )
        cohort = cohort.join(per_meeting, on="meeting_id", how="left").with_columns(
            pl.col("n_opps", "n_won", "n_lost").fill_null(0)
        )
        held = pl.col("status") == "held"
        disqualified = held & (pl.col("n_won") == 0) & (pl.col("n_lost") == pl.col("n_opps"))
        opp_aggs = [
            pl.col("n_opps").sum().cast(_COUNT).alias("opportunities"),
            pl.col("n_won").sum().cast(_COUNT).alias("won"),
            pl.col("n_lost").sum().cast(_COUNT).alias("lost"),
            disqualified.sum().cast(_COUNT).alias("_disqualified"),
        ]
    else:
        opp_aggs = [
            pl.lit(None, _COUNT).alias(c) for c in ("opportunities", "won", "lost", "_disqualified")
        ]

    bdrs = reps.filter(pl.col("role").cast(pl.String) == "BDR").select(
        "rep_id", pl.col("team").cast(pl.String)
    )
    per_bdr = (
        cohort.group_by("booked_by")
        .agg(
            pl.len().cast(_COUNT).alias("meetings_booked"),
            (pl.col("status") == "held").sum().cast(_COUNT).alias("meetings_held"),
            (pl.col("status") == "no_show").sum().cast(_COUNT).alias("meetings_no_show"),
            *opp_aggs,
        )
        .rename({"booked_by": "rep_id"})
        .join(bdrs, on="rep_id", how="inner")
        .with_columns(
            show_rate=exprs.show_rate(),
            won_per_meeting=exprs.won_per_meeting(),
            disqualification_rate=exprs.ratio("_disqualified", "meetings_held"),
        )
        .sort("team", "rep_id")
        .collect()
    )
    return _finish(per_bdr, alpha=alpha, min_meetings=min_meetings)


def _loo_median(df: pl.DataFrame, value: str) -> pl.DataFrame:
    """Per rep: the median of ``value`` over the *other* reps of the same team."""
    pairs = (
        df.select("rep_id", "team")
        .join(
            df.select("team", pl.col("rep_id").alias("_other"), pl.col(value).alias("_v")),
            on="team",
        )
        .filter(pl.col("rep_id") != pl.col("_other"))
    )
    return pairs.group_by("rep_id").agg(pl.col("_v").median().alias("team_median_excl_rep"))


def _finish(df: pl.DataFrame, *, alpha: float, min_meetings: int) -> pl.DataFrame:
    ci = wilson_interval(df["won"], df["meetings_booked"], alpha=alpha)
    df = df.with_columns(ci)

    shrunk = pl.Series("shrunk_won_per_meeting", [None] * df.height, dtype=pl.Float64)
    for _team, part in df.with_row_index("_i").group_by("team", maintain_order=True):
        if part["won"].null_count() == part.height:
            continue
        prior = fit_beta_binomial_prior(part["won"], part["meetings_booked"])
        post = beta_posterior(part["won"], part["meetings_booked"], prior, alpha=alpha)
        shrunk = shrunk.scatter(part["_i"], post["shrunk"])
    df = df.with_columns(shrunk)

    df = df.with_columns(
        evidence=pl.when(pl.col("meetings_booked") >= min_meetings)
        .then(pl.lit("sufficient"))
        .otherwise(pl.lit("too_few"))
    )
    benchmark = df.filter(pl.col("evidence") == "sufficient")
    sufficient_wpm = pl.col("won_per_meeting").filter(pl.col("evidence") == "sufficient")
    df = df.with_columns(
        team_median_won_per_meeting=pl.coalesce(
            sufficient_wpm.median().over("team"), pl.col("won_per_meeting").median().over("team")
        ),
        team_median_meetings_booked=pl.col("meetings_booked").median().over("team"),
    ).join(_loo_median(benchmark, "won_per_meeting"), on="rep_id", how="left")
    flag = (
        (pl.col("evidence") == "sufficient")
        & (pl.col("meetings_booked") >= pl.col("team_median_meetings_booked"))
        & (pl.col("ci_high") < pl.col("team_median_excl_rep"))
    ).fill_null(False)
    level = f"{1 - alpha:.0%}"
    reason = pl.format(
        "{} meetings (team median {}), won/meeting {} with {} CI up to {}, below the median of the other BDRs {}",
        pl.col("meetings_booked"),
        pl.col("team_median_meetings_booked").round(1),
        pl.col("won_per_meeting").round(3),
        pl.lit(level),
        pl.col("ci_high").round(3),
        pl.col("team_median_excl_rep").round(3),
    )
    df = df.with_columns(flag=flag).with_columns(
        flag_reason=pl.when(pl.col("flag")).then(reason).otherwise(None)
    )
    return df.select(
        "rep_id",
        "team",
        "meetings_booked",
        "meetings_held",
        "meetings_no_show",
        "show_rate",
        "opportunities",
        "won",
        "lost",
        "won_per_meeting",
        "ci_low",
        "ci_high",
        "shrunk_won_per_meeting",
        "team_median_won_per_meeting",
        "team_median_excl_rep",
        "team_median_meetings_booked",
        "disqualification_rate",
        "evidence",
        "flag",
        "flag_reason",
    ).sort("team", "rep_id")
