"""Skill gaps: each rep's win rate against the top performer of the same team and role.

Definitions (CONTRACT section 4)
--------------------------------
* Rows: every rep who owns an opportunity that closed in the period (``closed_at`` in
  ``[start, end)``) or was open at the period end (created before it and not closed,
  or closed after it).
* ``closed`` / ``won``: the rep's opportunities closed in the period (count-based).
  ``win_rate = won / closed``, null (never 0) when ``closed == 0``.
  ``amount_weighted_win_rate`` = won amount / closed amount (deals with an amount).
* ``shrunk_win_rate``, ``ci_low``, ``ci_high``: empirical-Bayes posterior mean and
  equal-tailed ``1 - alpha`` interval. The Beta prior is fitted per (team, role) by
  beta-binomial maximum likelihood (``stats.fit_beta_binomial_prior``: a weak prior when
  the group has fewer than 3 reps with closed deals; strength capped at
  ``max_prior_strength``, by default ``min_deals`` pseudo-deals). A rep with ``closed == 0`` keeps these **null**: the prior mean is the team's
  rate, not evidence about the rep (and their evidence is ``too_few`` anyway).
* ``evidence``: ``sufficient`` when ``closed >= min_deals`` (a heuristic floor), else
  ``too_few``.
* ``top_performer_rate``: the best ``shrunk_win_rate`` among reps of the same team and
  role with sufficient evidence (null if none); ``ratio_to_top = shrunk_win_rate /
  top_performer_rate``; ``is_top_performer`` marks that rep (ties: all of them).
* Prior floor: the team prior is never more confident at the edges than Jeffreys'
  Beta(0.5, 0.5) (``stats.jeffreys_floor``); a team with no win at all (or no loss at
  all) gets Jeffreys itself, so a 0/40 rep's interval is about [0, 0.06], and a 22/22
  rep's lower bound stays below its estimate.
* ``ratio_to_top`` is null when the top performer has no win (no benchmark).
* ``ratio_ci_low``, ``ratio_ci_high``: equal-tailed ``1 - alpha`` interval of
  ``p_rep / p_top`` from joint posterior draws (``ratio_draws``, seeded per team and
  role, so reruns are identical): the top performer's own posterior is drawn too, so
  the interval carries the uncertainty of a top that is the best of several noisy,
  partly lucky rates. 1 for the top performer itself; null with a null ratio.
* ``gap_verdict``: ``too_few`` (evidence too_few), ``top`` (the top performer), ``gap``
  (``ratio_ci_high < 1``: the rep is below the top beyond noise) or ``no_evidence``
  (the interval reaches 1). Calibration: docs/calibration_rep_comparisons.md.
* ``rank_group``: interval-based rank inside (team, role): ``1 +`` the number of reps
  whose ``ci_low`` is above this rep's ``ci_high``. Reps whose intervals overlap share a
  rank; null when ``closed == 0``.

Deal-mix adjustment
-------------------
Closed deals are counted by (rep, segment, lead_source, amount band) - amount bands are
``amount_bands`` quantile bands within the (team, role), ``unknown`` when the amount is
missing; tied amounts share a band, so row order never moves a deal - and a statsmodels binomial GLM ``win ~ rep + segment + lead_source + band`` is
fitted on those counts per (team, role) (``stats.binomial_glm_standardized``; a small
ridge when a rep's record separates perfectly). ``adjusted_win_rate`` is the rep's
predicted rate on the group's pooled deal mix; ``adjusted_ratio_to_top`` divides it by the
best adjusted rate among sufficient-evidence reps. ``raw_ratio_to_top`` is the same ratio
on unadjusted ``win_rate``. ``mix_note`` (sufficient-evidence reps only) says when the two
disagree materially: the ratios differ by more than ``mix_tolerance`` (0.1, heuristic).
A change of order within that tolerance is treated as noise and gets no note.

The lazy plan is aggregated to two small count tables (per rep; per rep x mix cell),
collected together, and only those are fitted.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, time

import numpy as np
import polars as pl

from analysis.metrics import exprs
from analysis.metrics._common import date_in_period
from analysis.metrics.stats import (
    beta_posteriors,
    fit_beta_binomial_prior,
    glm_standardized_codes,
    jeffreys_floor,
)
from analysis.periods import Period

__all__ = ["VERDICT_WORDS", "skill_gaps"]

#: ``gap_verdict`` in words, for reports.
VERDICT_WORDS: dict[str, str] = {
    "top": "top performer",
    "gap": "gap: below the top beyond noise",
    "no_evidence": "no evidence of a gap",
    "too_few": "too few deals to compare",
}

GROUP = ["team", "role"]
MIX_COVARIATES = ("segment", "lead_source", "amount_band")


def _scoped(
    opportunities: pl.LazyFrame, reps: pl.LazyFrame, period: Period, as_of: datetime | None
) -> pl.LazyFrame:
    end = datetime.combine(period.end, time(0), tzinfo=UTC)
    closed_in = pl.col("is_closed") & date_in_period("closed_at", period)
    closed_later = (pl.col("closed_at") >= period.end).fill_null(False)
    if as_of is not None:
        # a deal closed after the snapshot was still open when the data was exported
        known = (pl.col("closed_at") <= as_of.date()).fill_null(False)
        closed_in = closed_in & known
        closed_later = closed_later | ~known
        end = min(end, as_of)
    open_at_end = (pl.col("created_at") < pl.lit(end).dt.cast_time_unit("us")) & (
        ~pl.col("is_closed") | closed_later
    )
    people = reps.select(
        pl.col("rep_id").alias("owner_id"),
        pl.col("team").cast(pl.String),
        pl.col("role").cast(pl.String),
    )
    return (
        opportunities.with_columns(_closed_in=closed_in.fill_null(False))
        .filter(pl.col("_closed_in") | open_at_end.fill_null(False))
        .join(people, on="owner_id", how="inner")
    )


def _counts(scoped: pl.LazyFrame, amount_bands: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    per_rep = scoped.group_by("owner_id", *GROUP).agg(
        pl.col("_closed_in").sum().cast(pl.Int64).alias("closed"),
        (pl.col("_closed_in") & pl.col("is_won")).sum().cast(pl.Int64).alias("won"),
        (~pl.col("_closed_in")).sum().cast(pl.Int64).alias("open"),
        exprs.amount_weighted_win_rate(closed=pl.col("_closed_in")).alias(
            "amount_weighted_win_rate"
        ),
    )
    closed = scoped.filter(pl.col("_closed_in"))
    # ties share a band ("min" rank): the band never depends on row order
    rank = pl.col("amount").rank("min").over(GROUP)
    n_known = pl.col("amount").count().over(GROUP)
    band = (rank.cast(pl.Float64) * amount_bands / n_known).ceil().cast(pl.Int64)
    cells = (
        closed.with_columns(
            amount_band=pl.when(pl.col("amount").is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.format("q{}", band)),
            segment=pl.col("segment").fill_null("unknown"),
            lead_source=pl.col("lead_source").fill_null("unknown"),
        )
        .group_by("owner_id", *GROUP, *MIX_COVARIATES)
        .agg(
            pl.len().cast(pl.Int64).alias("closed"),
            pl.col("is_won").sum().cast(pl.Int64).alias("won"),
        )
        .sort("owner_id", *GROUP, *MIX_COVARIATES)
    )
    return per_rep.rename({"owner_id": "rep_id"}), cells.rename({"owner_id": "rep_id"})


def _shrink(per_rep: pl.DataFrame, alpha: float, max_prior_strength: float) -> pl.DataFrame:
    """The floored, capped EB prior per (team, role) (one fit per group) and every rep's
    posterior (one vectorised call for all groups). Row order is kept."""
    won = per_rep["won"].cast(pl.Float64).to_numpy()
    closed = per_rep["closed"].cast(pl.Float64).to_numpy()
    codes: dict[tuple, int] = {}
    group = np.array([codes.setdefault(key, len(codes)) for key in per_rep.select(GROUP).rows()])
    a, b = np.empty(per_rep.height), np.empty(per_rep.height)
    methods = np.empty(per_rep.height, dtype=object)
    for g in range(len(codes)):
        rows = group == g
        prior = jeffreys_floor(
            fit_beta_binomial_prior(won[rows], closed[rows], max_strength=max_prior_strength),
            won[rows],
            closed[rows],
        )
        a[rows], b[rows], methods[rows] = prior.a, prior.b, prior.method
    post = beta_posteriors(won, closed, a, b, alpha=alpha)
    return per_rep.with_columns(
        shrunk_win_rate=post["shrunk"],
        ci_low=post["ci_low"],
        ci_high=post["ci_high"],
        prior_method=pl.Series(methods.tolist(), dtype=pl.String),
        prior_mean=pl.Series(a / (a + b)),
        prior_strength=pl.Series(a + b),
        _post_a=pl.Series(a) + per_rep["won"].cast(pl.Float64),
        _post_b=pl.Series(b) + (per_rep["closed"] - per_rep["won"]).cast(pl.Float64),
    )


def _ratio_draws(df: pl.DataFrame, *, alpha: float, draws: int, seed: int) -> pl.DataFrame:
    """``ratio_ci_low``/``ratio_ci_high`` from joint posterior draws of rate / top's rate.

    Per (team, role), every rep with closed deals gets ``draws`` draws from their Beta
    posterior (the same floored, capped EB prior as ``shrunk_win_rate``), and so does the
    top performer: the interval is the equal-tailed quantiles of ``p_rep / p_top`` draw
    by draw, so the top's own uncertainty (it is the best of several noisy rates, and
    partly lucky) widens every rep's interval. The generator is seeded from ``seed`` and
    the group's name, so identical inputs give identical intervals.
    """
    df = df.sort(*GROUP, "rep_id")  # each group's reps by rep_id, as the draws are made
    closed = df["closed"].to_numpy()
    won = df["won"].to_numpy()
    top = df["is_top_performer"].to_numpy()
    post_a = df["_post_a"].to_numpy()
    post_b = df["_post_b"].to_numpy()
    low = np.full(df.height, np.nan)
    high = np.full(df.height, np.nan)
    for key, rows in _group_rows(df):
        has = closed[rows] > 0
        tops = rows[top[rows]]
        if len(tops) and int(won[tops[0]]) > 0 and has.any():
            name = "\x1f".join(str(k) for k in key).encode()
            rng = np.random.default_rng([seed, zlib.crc32(name)])
            p_top = rng.beta(float(post_a[tops[0]]), float(post_b[tops[0]]), size=draws)
            a = post_a[rows][has]
            b = post_b[rows][has]
            # rep by rep: the same stream as one broadcast (m, draws) call, and faster
            p = np.stack([rng.beta(a_i, b_i, size=draws) for a_i, b_i in zip(a, b, strict=True)])
            ratio = p / p_top[None, :]
            low[rows[has]], high[rows[has]] = np.quantile(ratio, [alpha / 2, 1 - alpha / 2], axis=1)
            low[tops], high[tops] = 1.0, 1.0
    return df.with_columns(
        ratio_ci_low=pl.Series(low, dtype=pl.Float64, nan_to_null=True),
        ratio_ci_high=pl.Series(high, dtype=pl.Float64, nan_to_null=True),
    )


def _rank_groups(df: pl.DataFrame) -> pl.DataFrame:
    has = df.filter(pl.col("closed") > 0).select("rep_id", *GROUP, "ci_low", "ci_high")
    pairs = has.join(
        has.select(*GROUP, pl.col("rep_id").alias("_o"), pl.col("ci_low").alias("_o_low")),
        on=GROUP,
    )
    ranks = pairs.group_by("rep_id").agg(
        (1 + (pl.col("_o_low") > pl.col("ci_high")).sum()).cast(pl.Int64).alias("rank_group")
    )
    return df.join(ranks, on="rep_id", how="left")


def _group_rows(frame: pl.DataFrame) -> list[tuple[tuple, np.ndarray]]:
    """(team, role) -> its row numbers in ``frame`` (in row order), groups in order of
    first appearance: ``group_by(GROUP, maintain_order=True)`` without a frame per group."""
    codes: dict[tuple, int] = {}
    group = np.array([codes.setdefault(key, len(codes)) for key in frame.select(GROUP).rows()])
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(codes) + 1))
    return [(key, order[bounds[g] : bounds[g + 1]]) for key, g in codes.items()]


def _adjust(df: pl.DataFrame, cells: pl.DataFrame, covariates: Sequence[str]) -> pl.DataFrame:
    """``adjusted_win_rate`` per rep: the deal-mix GLM per (team, role) with at least two
    reps (``stats.binomial_glm_standardized``: every group is coded at once, then fitted
    on its slices through ``stats.glm_standardized_codes``)."""

    # levels coded per group as binomial_glm_standardized codes them: sorted, null "unknown"
    def coded(column: str) -> pl.Expr:
        value = pl.col(column).cast(pl.String).fill_null("unknown")
        return (value.rank("dense").over(GROUP) - 1).cast(pl.Int64).alias(f"_{column}")

    codes = cells.select(
        pl.col("rep_id").n_unique().over(GROUP).alias("_reps"),
        (pl.col("closed") > 0).alias("_ok"),
        coded("rep_id"),
        *(coded(c) for c in covariates),
    )
    rep_ids = cells["rep_id"].cast(pl.String).fill_null("unknown").to_numpy()
    unit = codes["_rep_id"].to_numpy()
    cov = {c: codes[f"_{c}"].to_numpy() for c in covariates}
    n_reps_in = codes["_reps"].to_numpy()
    ok = codes["_ok"].to_numpy()
    won = cells["won"].cast(pl.Float64).to_numpy()
    closed = cells["closed"].cast(pl.Float64).to_numpy()
    out: dict[str, list] = {"rep_id": [], "adjusted_win_rate": [], "team": [], "role": []}
    methods = []
    for key, rows in _group_rows(cells):
        if n_reps_in[rows[0]] < 2:
            continue
        rows = rows[ok[rows]]
        # codes of the rows kept, renumbered over the levels present (as _codes would)
        u_levels, u_codes = np.unique(unit[rows], return_inverse=True)
        levels = np.empty(len(u_levels), dtype=object)
        levels[u_codes] = rep_ids[rows]
        covs = []
        for c in covariates:
            c_levels, c_codes = np.unique(cov[c][rows], return_inverse=True)
            if len(c_levels) > 1:
                covs.append((c_codes, len(c_levels)))
        rates, method = glm_standardized_codes(
            u_codes, len(u_levels), covs, won[rows], closed[rows]
        )
        out["rep_id"] += levels.tolist()
        out["adjusted_win_rate"] += rates
        out["team"] += [key[0]] * len(rates)
        out["role"] += [key[1]] * len(rates)
        methods += [method] * len(rates)
    schema = {
        "rep_id": pl.String,
        "adjusted_win_rate": pl.Float64,
        "team": pl.String,
        "role": pl.String,
        "adjust_method": pl.String,
    }
    adjusted = pl.DataFrame({**out, "adjust_method": methods}, schema=schema)
    return df.join(adjusted, on=["rep_id", *GROUP], how="left")


def skill_gaps(
    opportunities: pl.LazyFrame,
    reps: pl.LazyFrame,
    *,
    period: Period,
    min_deals: int = 10,
    alpha: float = 0.05,
    mix_tolerance: float = 0.1,
    amount_bands: int = 3,
    covariates: Sequence[str] = MIX_COVARIATES,
    max_prior_strength: float | None = None,
    as_of: datetime | None = None,
    ratio_draws: int = 4000,
    seed: int = 20260701,
) -> pl.DataFrame:
    """Win rate, shrunk rate, interval and gap to the top performer per rep.

    ``max_prior_strength`` (default: ``min_deals`` pseudo-deals, a heuristic) caps how
    much the team prior can weigh: with a handful of reps per team the between-rep
    spread is poorly estimated and maximum likelihood often runs to complete pooling,
    which would pull every well-evidenced rep onto the team mean and hide real gaps.
    Capped, the prior counts at most as much as the evidence floor, so a rep with
    ample deals is judged mostly on their own record while a rep with three deals is
    still pulled strongly toward the team.

    See the module docstring for every definition. Sorted by team, role, rep_id.

    Examples
    --------
    >>> from datetime import date, datetime, UTC
    >>> opps = pl.LazyFrame({"opportunity_id": ["o1", "o2", "o3"], "owner_id": ["a", "a", "b"],
    ...     "created_at": [datetime(2026, 7, 1, tzinfo=UTC)] * 3, "is_closed": [True, True, False],
    ...     "is_won": [True, False, False], "closed_at": [date(2026, 8, 1)] * 2 + [None],
    ...     "amount": [10.0, 30.0, None], "segment": ["smb"] * 3, "lead_source": [None] * 3},
    ...     schema_overrides={"lead_source": pl.String})
    >>> reps = pl.LazyFrame({"rep_id": ["a", "b"], "team": ["t", "t"], "role": ["AE", "AE"]})
    >>> out = skill_gaps(opps, reps, period=Period.quarter("2026Q3"))
    >>> out.select("rep_id", "closed", "win_rate", "evidence").rows()
    [('a', 2, 0.5, 'too_few'), ('b', 0, None, 'too_few')]
    """
    scoped = _scoped(opportunities, reps, period, as_of)
    per_rep_lf, cells_lf = _counts(scoped, amount_bands)
    per_rep, cells = pl.collect_all([per_rep_lf, cells_lf])
    per_rep = per_rep.sort(*GROUP, "rep_id")

    df = (
        _shrink(per_rep, alpha, float(max_prior_strength or max(min_deals, 1)))
        if per_rep.height
        else per_rep.with_columns(
            shrunk_win_rate=pl.lit(None, pl.Float64),
            ci_low=pl.lit(None, pl.Float64),
            ci_high=pl.lit(None, pl.Float64),
            prior_method=pl.lit(None, pl.String),
            prior_mean=pl.lit(None, pl.Float64),
            prior_strength=pl.lit(None, pl.Float64),
            _post_a=pl.lit(None, pl.Float64),
            _post_b=pl.lit(None, pl.Float64),
        )
    )
    sufficient = pl.col("closed") >= min_deals
    df = df.with_columns(
        win_rate=exprs.win_rate(),
        evidence=pl.when(sufficient).then(pl.lit("sufficient")).otherwise(pl.lit("too_few")),
    )
    df = df.with_columns(
        top_performer_rate=pl.col("shrunk_win_rate").filter(sufficient).max().over(GROUP),
        _raw_top=pl.col("win_rate").filter(sufficient).max().over(GROUP),
    ).with_columns(
        raw_ratio_to_top=exprs.ratio("win_rate", "_raw_top"),
        is_top_performer=(
            sufficient & (pl.col("shrunk_win_rate") == pl.col("top_performer_rate"))
        ).fill_null(False),
    )
    # a top performer with no win is no benchmark: the ratio to it is null, not a number
    top_won = pl.col("won").filter(pl.col("is_top_performer")).max().over(GROUP)
    df = df.with_columns(
        ratio_to_top=pl.when(top_won > 0).then(
            exprs.ratio("shrunk_win_rate", "top_performer_rate")
        ),
    )
    df = _ratio_draws(df.sort(*GROUP, "rep_id"), alpha=alpha, draws=ratio_draws, seed=seed)
    df = df.with_columns(
        gap_verdict=pl.when(~sufficient)
        .then(pl.lit("too_few"))
        .when(pl.col("is_top_performer"))
        .then(pl.lit("top"))
        .when((pl.col("ratio_ci_high") < 1.0).fill_null(False))
        .then(pl.lit("gap"))
        .otherwise(pl.lit("no_evidence"))
    )
    df = _rank_groups(df)

    covariates = [c for c in covariates if c in MIX_COVARIATES]
    df = _adjust(df, cells, covariates)
    df = df.with_columns(
        _adj_top=pl.col("adjusted_win_rate").filter(sufficient).max().over(GROUP)
    ).with_columns(adjusted_ratio_to_top=exprs.ratio("adjusted_win_rate", "_adj_top"))
    gap = pl.col("adjusted_ratio_to_top") - pl.col("raw_ratio_to_top")
    ratios = (pl.col("raw_ratio_to_top").round(2), pl.col("adjusted_ratio_to_top").round(2))
    note = (
        pl.when(~sufficient | gap.is_null() | (gap.abs() <= mix_tolerance))
        .then(pl.lit(None, pl.String))
        .when(gap > 0)
        .then(pl.format("deal mix explains the gap: raw ratio {} -> adjusted {}", *ratios))
        .otherwise(pl.format("deal mix hides a gap: raw ratio {} -> adjusted {}", *ratios))
    )
    df = df.with_columns(mix_note=note)
    return df.select(
        "rep_id",
        "team",
        "role",
        "closed",
        "won",
        "open",
        "win_rate",
        "shrunk_win_rate",
        "ci_low",
        "ci_high",
        "top_performer_rate",
        "ratio_to_top",
        "ratio_ci_low",
        "ratio_ci_high",
        "gap_verdict",
        "evidence",
        "rank_group",
        "is_top_performer",
        "amount_weighted_win_rate",
        "adjusted_win_rate",
        "adjusted_ratio_to_top",
        "raw_ratio_to_top",
        "mix_note",
        "adjust_method",
        "prior_method",
        "prior_mean",
        "prior_strength",
    ).sort(*GROUP, "rep_id")
