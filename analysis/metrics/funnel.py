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

Outcomes at a common horizon, and the flag
-------------------------------------------
``won`` counts every credited win the data knows at as-of, so a BDR who booked late in
the quarter looks weak only because their deals are still open. The flag therefore
compares outcomes at a common horizon (``outcome_horizon_days``, default 60):
``won_by_horizon`` is the Kaplan-Meier cumulative share of meetings whose first credited
win closed within the horizon of booking, every other meeting censored at its
follow-up until as-of (``_horizon_cells``), with its interval
(``won_by_horizon_ci_low/high``); ``others_won_by_horizon`` pools the team's other BDRs
(exceptional ones left out, below).

A BDR is flagged when the evidence is sufficient (``meetings_booked >= min_meetings``)
and a one-sided log-rank test (statsmodels ``survdiff`` on the same censored data)
of this BDR's meetings against the pooled meetings of the team's other BDRs, Holm-adjusted
over the team's tested BDRs, is below ``alpha``: ``flag_p_value`` (raw, one-sided: fewer
wins) and ``flag_p_adjusted``. The pool leaves out *exceptional* BDRs, whose own test for
*more* wins than the rest of the team is below ``exceptional_alpha`` (a heuristic, 0.001)
after Holm: one or two outstanding (say 100 %) BDRs would otherwise raise the benchmark
until ordinary BDRs are flagged against it (``docs/calibration_rep_comparisons.md``).
Log-rank rather than Fisher's exact test because open deals are censored: with every meeting followed to the horizon the two compare the same
thing. A single-BDR team is never tested; a BDR converting better than the others has a
one-sided p near 1 (a 100 % BDR is never flagged); no bound is compared with a median.

Benchmarks use the BDRs with sufficient evidence only (a 4-meeting BDR's 0 % is noise
and would drag the median down): ``team_median_won_per_meeting`` (the contract column)
is the median over the team's sufficient-evidence BDRs (over all its BDRs when none has
enough meetings), and ``team_median_excl_rep`` the median over the *other*
sufficient-evidence BDRs. ``shrunk_won_per_meeting`` is the empirical-Bayes
(beta-binomial, per team) posterior mean.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from analysis.config import DEFAULTS
from analysis.metrics import exprs
from analysis.metrics._common import in_window, period_bounds
from analysis.metrics.stats import (
    beta_posteriors,
    fit_beta_binomial_prior,
    km_grid,
    logrank_grid,
    wilson_interval,
)
from analysis.periods import DEFAULT_OUTCOME_HORIZON_DAYS, Period, data_as_of

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
    exceptional_alpha: float = DEFAULTS.bdr_exceptional_alpha,
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
    if as_of is None:
        tables = {"meetings": meetings}
        if opportunities is not None:
            tables["opportunities"] = opportunities
        as_of = data_as_of(tables)
    as_of_day = as_of.date() if isinstance(as_of, datetime) else as_of
    all_meetings = meetings.select(
        "meeting_id",
        "booked_by",
        "booked_at",
        pl.col("status").cast(pl.String),
        "opportunity_id",
    )
    cohort = all_meetings.filter(in_window("booked_at", start, end))
    if isinstance(as_of, datetime):  # meetings booked after the snapshot are not in it
        cohort = cohort.filter(pl.col("booked_at") <= pl.lit(as_of).dt.cast_time_unit("us"))

    if opportunities is not None:
        credit = attribute_opportunities(
            all_meetings, opportunities, sourced_window_days=sourced_window_days
        )
        resolved = pl.col("is_closed").fill_null(False) & (
            pl.col("closed_at") <= as_of_day
        ).fill_null(False)
        per_meeting = credit.group_by("meeting_id").agg(
            n_opps=pl.len().cast(_COUNT),
            n_won=(resolved & pl.col("is_won")).sum().cast(_COUNT),
            n_lost=(resolved & ~pl.col("is_won")).sum().cast(_COUNT),
            _won_day=pl.col("closed_at").filter(resolved & pl.col("is_won")).min(),
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
    )
    if opportunities is None:
        per_bdr_df = per_bdr.collect()
        cells = None
    else:
        per_bdr_df, cells = pl.collect_all(
            [per_bdr, _horizon_cells(cohort, as_of_day=as_of_day, horizon=outcome_horizon_days)]
        )
    return _finish(
        per_bdr_df,
        cells,
        alpha=alpha,
        min_meetings=min_meetings,
        horizon=outcome_horizon_days,
        exceptional_alpha=exceptional_alpha,
    )


def _horizon_cells(cohort: pl.LazyFrame, *, as_of_day: date, horizon: int) -> pl.LazyFrame:
    """Meetings counted by (BDR, days, won by the horizon): the input of the KM fits.

    A meeting is an event at the day its first credited win closed, when that is within
    ``horizon`` days of booking. Every other meeting (lost, open, no opportunity yet) is
    censored at its potential follow-up, ``min(horizon, as-of - booking day)``: censoring
    is administrative, so keeping lost meetings at risk until then makes ``1 - S(h)``
    the cumulative incidence of a win (a loss is final and never turns into a win).
    """
    booked_day = pl.col("booked_at").dt.date()
    t_win = (pl.col("_won_day") - booked_day).dt.total_days().clip(lower_bound=0)
    followup = (pl.lit(as_of_day) - booked_day).dt.total_days().clip(0, horizon)
    event = (t_win <= horizon).fill_null(False)
    return (
        cohort.with_columns(
            _event=event,
            _days=pl.when(event).then(t_win).otherwise(followup).cast(pl.Float64),
        )
        .group_by(pl.col("booked_by").alias("rep_id"), "_days", "_event")
        .agg(pl.len().cast(_COUNT).alias("_n"))
        .sort("rep_id", "_days", "_event")
    )


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


def _one_sided(
    mine_d: np.ndarray,
    mine_w: np.ndarray,
    other_d: np.ndarray,
    other_w: np.ndarray,
    *,
    below: np.ndarray,
    fewer: bool,
) -> np.ndarray:
    """One-sided log-rank p-values (statsmodels ``survdiff``'s arithmetic, one row per
    test: ``stats.logrank_grid``) that the ``mine`` meetings win less (``fewer``) or more
    (not ``fewer``) often than the ``other`` meetings; ``below`` says which way the
    estimates point. NaN when there is no test (no meeting on one side, no win at all,
    or a degenerate variance)."""
    _, p_two = logrank_grid(mine_d, mine_w, other_d, other_w)
    p_value = np.where(below == fewer, p_two / 2, 1 - p_two / 2)
    testable = (
        (mine_w.sum(axis=1) > 0) & (other_w.sum(axis=1) > 0) & ((mine_d + other_d).sum(axis=1) > 0)
    )
    return np.where(testable & np.isfinite(p_value), p_value, np.nan)


def _horizon_tests(
    df: pl.DataFrame,
    cells: pl.DataFrame | None,
    *,
    alpha: float,
    horizon: int,
    exceptional_alpha: float = DEFAULTS.bdr_exceptional_alpha,
) -> pl.DataFrame:
    """``won_by_horizon`` (KM, censored at as-of) and the one-sided test against the others.

    Per BDR: the Kaplan-Meier cumulative share of meetings won within ``horizon`` days
    (``stats.km_cumulative_share``) and, for BDRs with sufficient evidence in a team with
    at least two BDRs, a log-rank test (statsmodels ``survdiff``) of this BDR's meetings
    against the pooled meetings of the team's other BDRs, on the same censored data,
    made one-sided (fewer wins): ``flag_p_value``. Holm within the team:
    ``flag_p_adjusted``.

    The pool leaves out *exceptional* BDRs (teams of three or more): those whose own
    one-sided test for *more* wins than the rest of the team is below
    ``exceptional_alpha`` (a heuristic, 0.001 by default) after Holm within the team. One
    or two outstanding BDRs would otherwise raise the benchmark until ordinary BDRs are
    flagged against it. ``others_won_by_horizon`` is the share of that pool.

    Every BDR is computed at once: meetings are counted per (BDR, day) on one grid of
    days, a pool is the team's counts minus the BDR's (and the exceptional BDRs'), and
    the fits are ``stats.km_grid`` / ``stats.logrank_grid``, which equal
    ``SurvfuncRight`` / ``survdiff`` on each BDR's rows (tests/test_outcomes_stats.py).
    """
    cols = {
        "won_by_horizon": pl.Float64,
        "won_by_horizon_ci_low": pl.Float64,
        "won_by_horizon_ci_high": pl.Float64,
        "others_won_by_horizon": pl.Float64,
        "flag_p_value": pl.Float64,
        "flag_p_adjusted": pl.Float64,
    }
    if cells is None or df.is_empty():
        return df.with_columns(pl.lit(None, t).alias(c) for c, t in cols.items())
    reps = df.select("rep_id", "team", (pl.col("evidence") == "sufficient").alias("_ok"))
    codes: dict[str | None, int] = {}
    team = np.array([codes.setdefault(t, len(codes)) for t in reps["team"].to_list()])
    size = np.bincount(team, minlength=len(codes))[team]
    index = dict(zip(reps["rep_id"].to_list(), range(reps.height), strict=True))
    mine_cells = cells.filter(pl.col("rep_id").is_in(reps["rep_id"].implode()))
    grid, slot = np.unique(mine_cells["_days"].to_numpy().astype(float), return_inverse=True)
    row = np.array([index[r] for r in mine_cells["rep_id"].to_list()], dtype=np.int64)
    n = mine_cells["_n"].to_numpy().astype(np.int64)
    won = mine_cells["_event"].to_numpy().astype(bool)
    shape = (reps.height, len(grid))
    w = np.zeros(shape, dtype=np.int64)
    d = np.zeros(shape, dtype=np.int64)
    np.add.at(w, (row, slot), n)
    np.add.at(d, (row, slot), np.where(won, n, 0))
    team_w = np.zeros((len(codes), len(grid)), dtype=np.int64)
    team_d = np.zeros_like(team_w)
    np.add.at(team_w, team, w)
    np.add.at(team_d, team, d)

    def shares(events: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
        return km_grid(grid, events, weights, at=float(horizon), alpha=alpha)

    def lower(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.isfinite(a) & np.isfinite(b) & (a < b)

    km = shares(d, w)
    # stage 1 (teams of three or more): which BDRs win more often than the rest of the team
    rest_d, rest_w = team_d[team] - d, team_w[team] - w
    rest = shares(rest_d, rest_w)
    p_more = _one_sided(d, w, rest_d, rest_w, below=lower(km["share"], rest["share"]), fewer=False)
    above = (
        reps.select("rep_id", "team")
        .with_columns(p_more=pl.Series(p_more, dtype=pl.Float64, nan_to_null=True))
        .filter(pl.Series(size >= 3))
        .with_columns(exprs.holm_adjusted("p_more", over="team"))
    )
    exceptional = (
        reps["rep_id"]
        .is_in(above.filter(pl.col("p_more") < exceptional_alpha)["rep_id"].implode())
        .to_numpy()
    )
    # stage 2: each BDR against the pool of the team's other, not exceptional, BDRs
    left_w = np.zeros_like(team_w)
    left_d = np.zeros_like(team_d)
    np.add.at(left_w, team[exceptional], w[exceptional])
    np.add.at(left_d, team[exceptional], d[exceptional])
    own = ~exceptional[:, None]  # an exceptional BDR is already in the left-out counts
    pool_d = team_d[team] - left_d[team] - np.where(own, d, 0)
    pool_w = team_w[team] - left_w[team] - np.where(own, w, 0)
    pool = shares(pool_d, pool_w)
    p_value = _one_sided(d, w, pool_d, pool_w, below=lower(km["share"], pool["share"]), fewer=True)
    tested = reps["_ok"].to_numpy() & (size >= 2)

    def column(values: np.ndarray) -> pl.Series:
        return pl.Series(values, dtype=pl.Float64, nan_to_null=True)

    tests = reps.select("rep_id", "team").with_columns(
        won_by_horizon=column(km["share"]),
        won_by_horizon_ci_low=column(km["low"]),
        won_by_horizon_ci_high=column(km["high"]),
        others_won_by_horizon=column(pool["share"]),
        flag_p_value=column(np.where(tested, p_value, np.nan)),
    )
    tests = tests.with_columns(
        flag_p_adjusted=exprs.holm_adjusted("flag_p_value", over="team")
    ).drop("team")
    return df.join(tests, on="rep_id", how="left")


def _finish(
    df: pl.DataFrame,
    cells: pl.DataFrame | None,
    *,
    alpha: float,
    min_meetings: int,
    horizon: int,
    exceptional_alpha: float = DEFAULTS.bdr_exceptional_alpha,
) -> pl.DataFrame:
    ci = wilson_interval(df["won"], df["meetings_booked"], alpha=alpha)
    df = df.with_columns(ci)

    # the empirical-Bayes prior per team (one fit each), all posteriors in one call
    won = df["won"].cast(pl.Float64).to_numpy()
    booked = df["meetings_booked"].cast(pl.Float64).to_numpy()
    codes: dict[str | None, int] = {}
    team = np.array([codes.setdefault(t, len(codes)) for t in df["team"].to_list()])
    a, b = np.ones(df.height), np.ones(df.height)
    fitted = np.zeros(df.height, dtype=bool)
    for t in range(len(codes)):
        rows = team == t
        if np.isnan(won[rows]).all():  # no opportunities: no evidence, no estimate
            continue
        prior = fit_beta_binomial_prior(won[rows], booked[rows])
        a[rows], b[rows], fitted[rows] = prior.a, prior.b, True
    shrunk = beta_posteriors(won, booked, a, b, alpha=alpha)["shrunk"].to_numpy()
    df = df.with_columns(
        shrunk_won_per_meeting=pl.Series(np.where(fitted, shrunk, np.nan), nan_to_null=True)
    )

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
    df = _horizon_tests(
        df, cells, alpha=alpha, horizon=horizon, exceptional_alpha=exceptional_alpha
    )
    flag = ((pl.col("evidence") == "sufficient") & (pl.col("flag_p_adjusted") < alpha)).fill_null(
        False
    )
    reason = pl.format(
        "{} meetings, won within {} days {} against {} for the other BDRs (one-sided p = {}, "
        "Holm-adjusted over the team's BDRs p = {})",
        pl.col("meetings_booked"),
        pl.lit(horizon),
        pl.col("won_by_horizon").round(3),
        pl.col("others_won_by_horizon").round(3),
        pl.col("flag_p_value").round(4),
        pl.col("flag_p_adjusted").round(4),
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
        "won_by_horizon",
        "won_by_horizon_ci_low",
        "won_by_horizon_ci_high",
        "others_won_by_horizon",
        "evidence",
        "flag",
        "flag_p_value",
        "flag_p_adjusted",
        "flag_reason",
    ).sort("team", "rep_id")
