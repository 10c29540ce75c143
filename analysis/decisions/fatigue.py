"""Decision fatigue: does decision quality fall with the n-th decision of the day, and how?

Only decisions whose outcome is in the taxonomy's ``[quality]`` lists take part; the
outcome is ``q = 1`` (positive) or ``0`` (negative).

Model: compare decisions within the same rep-day
------------------------------------------------
Every model is a linear probability model with a fixed effect per **rep-day** (rep x
local day) and the rep's **local clock hour as categories** (0-23, plus "unknown")::

    q = alpha_(rep, day) + gamma_hour + f(seq_in_day) + error

so a busy day that is worse as a whole (day-level shift), a worse rep, or a worse late
afternoon cannot pose as fatigue: only decisions of the same rep on the same day are
compared, at the same clock hour. Three shapes ``f`` are fitted:

* none: ``f = 0``;
* step at ``t``: ``f = beta * [seq_in_day > t]`` for every candidate ``t`` (default
  10..90);
* smooth: ``f = b1 * s + b2 * s^2`` with ``s = min(seq_in_day, 150) / 10`` (a curve with
  one bend), the alternative a step must beat;
* slope: ``f = b * s_hour``, where ``s_hour`` is ``s`` averaged over the rep-day's decisions
  in the same clock hour; ``b`` is ``slope_per_10`` (share points per 10 decisions).
  Within one hour of one day, position and clock time rise together, so that variation
  would let a smooth decline in clock time pose as a gradual decline in position; the
  slope rests only on how the hour's position differs between a rep's days (more or fewer
  decisions, an earlier or later start). Where the hour is unknown ``s_hour = s``.

Verdict (``shape``)
-------------------
* ``threshold``: the best step (``t`` with the largest drop statistic) beats **no change**
  and **the smooth decline** (the step added on top of the quadratic), both at ``alpha``
  after correcting for the search over ``t`` (Davies' 1987 bound for a parameter present
  only under the alternative, capped by Bonferroni), and it is a drop.
* ``gradual``: not a threshold, and the 95% interval of ``slope_per_10`` lies below 0
  (a one-sided test at ``alpha / 2``).
* ``none``: otherwise (also when the data cannot support a fit: ``reason`` says why).

``threshold_estimate``, its interval, ``quality_before``/``quality_after`` and
``relative_drop`` are null unless the shape is ``threshold``; ``significant`` is true
only then. ``p_value`` is the threshold claim's p-value: the larger of the two
search-corrected p-values (``p_step``: step vs no change; ``p_step_vs_smooth``).

Convention: ``threshold_estimate = t`` is the **last decision before the drop**
(``after = seq_in_day > t``); the first worse decision is ``t + 1``.

Intervals (``ci_method``)
-------------------------
``ci_method`` names the threshold's interval. ``rep_bootstrap`` (default, with at least
``min_boot_reps`` reps): reps are resampled with replacement ``n_boot`` times, the whole
search is redone on each resample and the percentile interval of the threshold is
reported. ``profile_wald`` (fewer reps, or ``ci_method="profile"``): the profile set of
thresholds whose statistic is within ``chi2_1(1 - alpha)`` of the best.

The slope's interval is ``slope_per_10 +/- q * se`` (``1 - alpha``). ``se`` is the model
(within rep-day) standard error and ``q`` the normal quantile, unless, with at least
``min_boot_reps`` reps, the leave-one-rep-out jackknife standard error is larger: then
that, with the ``t`` quantile on ``R - 1`` degrees of freedom (``R`` reps). If reps differ
in how they tire (some decline, as many improve) the spread between reps widens the
interval, so a few reps cannot make the team's verdict. Both come from the per-rep
statistics (no resampling); calibrated by simulation in
``benchmarks/calibration/fatigue.py`` (``docs/calibration_fatigue.md``).

Fitting on counts
-----------------
One scan of the decisions reads each quality-bearing decision as a cell (team, rep, local
day, ``seq_in_day``, local hour; ``seq_in_day`` is unique within a rep-day, so counting
cells would not shrink them) and, from the same cells, the raw curve. One vectorised pass
turns the cells into every rep's sufficient statistics (within-rep-day Gram matrix of
outcome, smooth terms, hours and curve bins, and the cross-products with every candidate
step, by reverse cumulative sums over ``seq_in_day``). Every fit, the search over ``t``
and each bootstrap resample then work on sums of those per-rep statistics (reps x
candidates x ~30 numbers), never on rows: the resamples are one matrix product of their
multinomial rep counts with the per-rep statistics.

``fatigue_curve.adjusted_quality`` is the within-rep-day curve the verdict rests on: the
same model with ``f`` a category per ``seq_in_day`` bin, centred on the overall share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse, stats

from analysis.decisions.exprs import quality_rate, wilson_bounds

#: Default candidate thresholds ``t`` (after = ``seq_in_day > t``).
DEFAULT_CANDIDATES = tuple(range(10, 91))
#: ``seq_in_day`` beyond this counts as this in the smooth terms and the curve model.
SEQ_CAP = 150
#: Quality-bearing decisions counted at once (a group of reps): about 1 GB of working
#: memory, whatever the size of the log (issue 16).
CELLS_PER_PART = 3_000_000
#: Hour categories: local hours 0-23 and one for an unknown hour.
N_HOURS = 25
SHAPES = ("threshold", "gradual", "none")

FATIGUE_SCHEMA = pl.Schema(
    {
        "team": pl.String,
        "threshold_estimate": pl.Int64,
        "threshold_ci_low": pl.Int64,
        "threshold_ci_high": pl.Int64,
        "quality_before": pl.Float64,
        "quality_after": pl.Float64,
        "relative_drop": pl.Float64,
        "p_value": pl.Float64,
        "n_decisions": pl.Int64,
        "shape": pl.String,
        "slope_per_10": pl.Float64,
        "slope_ci_low": pl.Float64,
        "slope_ci_high": pl.Float64,
        "significant": pl.Boolean,
        "n_after": pl.Int64,
        "n_reps": pl.Int64,
        "n_rep_days": pl.Int64,
        "raw_relative_drop": pl.Float64,
        "model_quality_before": pl.Float64,
        "model_quality_after": pl.Float64,
        "step_effect": pl.Float64,
        "step_se": pl.Float64,
        "p_step": pl.Float64,
        "p_step_vs_smooth": pl.Float64,
        "slope_p_value": pl.Float64,
        "candidates_tested": pl.Int64,
        "hour_adjusted": pl.Boolean,
        "ci_method": pl.String,
        "reason": pl.String,
    }
)

CURVE_SCHEMA = pl.Schema(
    {
        "team": pl.String,
        "seq_from": pl.Int64,
        "seq_to": pl.Int64,
        "n": pl.Int64,
        "positives": pl.Int64,
        "quality_rate": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "adjusted_quality": pl.Float64,
    }
)


@dataclass(frozen=True)
class FatigueTables:
    """The ``fatigue`` verdicts and the ``fatigue_curve`` they rest on."""

    fatigue: pl.DataFrame
    curve: pl.DataFrame


def quality_counts(decisions: pl.LazyFrame) -> pl.LazyFrame:
    """Quality-bearing decisions aggregated to ``team, rep_id, seq_in_day, n, positives``.

    Every team with decisions appears (with ``n = 0`` if none bear quality).

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 3, "rep_id": ["r"] * 3, "seq_in_day": [1, 1, 2],
    ...                   "quality": [True, False, None]})
    >>> quality_counts(d).collect().rows()
    [('A', 'r', 1, 2, 1), ('A', 'r', 2, 0, 0)]
    """
    return (
        decisions.group_by("team", "rep_id", "seq_in_day")
        .agg(
            n=pl.col("quality").is_not_null().sum().cast(pl.Int64),
            positives=pl.col("quality").sum().cast(pl.Int64),
        )
        .sort("team", "rep_id", "seq_in_day")
    )


def _day_and_hour(names: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """``day`` and ``local_hour`` (Int8), or typed nulls where the decisions lack them."""
    day = pl.col("day") if "day" in names else pl.lit(None, dtype=pl.Date).alias("day")
    hour = (
        pl.col("local_hour").cast(pl.Int8)
        if "local_hour" in names
        else pl.lit(None, dtype=pl.Int8).alias("local_hour")
    )
    return day, hour


def fatigue_cells(decisions: pl.LazyFrame, *, pool_from: int | None = None) -> pl.LazyFrame:
    """Quality-bearing decisions counted per team, rep, local day, position and local hour.

    Returns ``team, rep_id, day, seq_in_day, local_hour, n, positives`` sorted by the
    keys. Without a ``day`` column every decision of a rep is one stratum (``day`` null);
    without ``local_hour`` the hour is null (unknown). With ``pool_from``, positions at
    or past it count as ``pool_from`` (the model treats them alike: see
    :func:`_pool_position`), so the cells do not grow with very long days.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 3, "rep_id": ["r"] * 3, "seq_in_day": [1, 2, 3],
    ...                   "local_hour": [9, 9, 10], "quality": [True, None, False]})
    >>> fatigue_cells(d).collect().select("seq_in_day", "local_hour", "n", "positives").rows()
    [(1, 9, 1, 1), (3, 10, 1, 0)]
    """
    day, hour = _day_and_hour(decisions.collect_schema().names())
    keys = ["team", "rep_id", "day", "seq_in_day", "local_hour"]
    seq = pl.col("seq_in_day").cast(pl.Int64)
    if pool_from is not None:
        seq = seq.clip(upper_bound=pool_from)
    return (
        decisions.filter(pl.col("quality").is_not_null())
        .select("team", "rep_id", day, seq, hour, "quality")
        .group_by(keys)
        .agg(
            n=pl.len().cast(pl.Int64),
            positives=pl.col("quality").sum().cast(pl.Int64),
        )
        .sort(keys, nulls_last=True)
    )


def fatigue_tables(
    decisions: pl.LazyFrame,
    *,
    candidates: Sequence[int] | None = None,
    min_decisions_after: int = 200,
    alpha: float = 0.05,
    n_boot: int = 400,
    seed: int = 0,
    ci_method: str = "bootstrap",
    min_boot_reps: int = 8,
    bin_width: int = 5,
    cells_per_part: int = CELLS_PER_PART,
) -> FatigueTables:
    """The ``fatigue`` table (one row per team, then ``all``) and ``fatigue_curve``.

    Parameters
    ----------
    decisions
        The ``decisions`` table: ``team, rep_id, seq_in_day, quality`` and, for the
        within-rep-day comparison at the same clock hour, ``day`` and ``local_hour``.
    candidates
        Thresholds ``t`` to try (``after = seq_in_day > t``); default 10..90. Only those
        with at least ``min_decisions_after`` quality-bearing decisions on each side
        are tried (an evidence floor, a heuristic).
    alpha
        Level of the tests; intervals are ``1 - alpha``.
    n_boot, seed, min_boot_reps
        Resamples of reps for the intervals, their seed, and the fewest reps a
        bootstrap is trusted with (below it: profile and Wald intervals).
    ci_method
        ``"bootstrap"`` (rep bootstrap, the default) or ``"profile"``.
    bin_width
        Width of the ``seq_in_day`` bins of the curve.
    cells_per_part
        Quality-bearing decisions whose cells are counted at once; more reps are counted
        a group at a time (same result, bounded memory).

    Returns
    -------
    FatigueTables
        ``fatigue`` with the columns of :data:`FATIGUE_SCHEMA` and ``curve`` with those
        of :data:`CURVE_SCHEMA`. The one ``collect()`` is of the counted cells.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 4, "rep_id": ["r"] * 4,
    ...                   "seq_in_day": [1, 2, 3, 4], "quality": [True, False, True, None]})
    >>> fatigue_tables(d).fatigue.select("team", "shape", "threshold_estimate").rows()
    [('A', 'none', None), ('all', 'none', None)]
    """
    if ci_method not in ("bootstrap", "profile"):
        raise ValueError(f"ci_method must be 'bootstrap' or 'profile', not {ci_method!r}")
    cands = np.array(
        sorted({int(t) for t in (DEFAULT_CANDIDATES if candidates is None else candidates)})
    )
    has_hour = "local_hour" in decisions.collect_schema().names()
    teams, reps, raw_counts = _statistics_by_rep_parts(
        decisions, cands=cands, bin_width=bin_width, cells_per_part=cells_per_part
    )
    raw_curve = _raw_curve_from_counts(raw_counts.lazy(), bin_width=bin_width).collect()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    curves = []
    for team in [*teams, "all"]:
        mask = np.ones(reps.n_reps, dtype=bool) if team == "all" else reps.team == team
        subset = reps.subset(mask)
        if team == "all" and len(teams) == 1:  # one team: the same data, the same fit
            rows.append({**rows[0], "team": "all"})
            curves.append(curves[0].with_columns(team=pl.lit("all")))
            continue
        rows.append(
            _verdict(
                team,
                subset,
                cands=cands,
                min_after=min_decisions_after,
                alpha=alpha,
                n_boot=n_boot,
                rng=rng,
                ci_method=ci_method,
                min_boot_reps=min_boot_reps,
                hour_adjusted=has_hour,
            )
        )
        est = rows[-1]["threshold_estimate"]
        step = None if est is None else int(np.flatnonzero(cands == est)[0])
        curves.append(_adjusted_curve(team, subset, bin_width=bin_width, step=step))
    fatigue_frame = pl.DataFrame(rows, schema=FATIGUE_SCHEMA)
    adjusted = pl.concat(curves) if curves else None
    curve = (
        raw_curve.join(adjusted, on=["team", "seq_from"], how="left")
        if adjusted is not None
        else raw_curve
    )
    curve = curve.select(CURVE_SCHEMA.names()).cast(dict(CURVE_SCHEMA))
    return FatigueTables(fatigue=fatigue_frame, curve=curve)


def fatigue(decisions: pl.LazyFrame, **options: Any) -> pl.DataFrame:
    """The ``fatigue`` table: see :func:`fatigue_tables` (same options).

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 4, "rep_id": ["r"] * 4,
    ...                   "seq_in_day": [1, 2, 3, 4], "quality": [True, False, True, None]})
    >>> fatigue(d).select("team", "threshold_estimate", "reason").rows()[0]
    ('A', None, 'too few quality-bearing decisions past any candidate threshold (need 200)')
    """
    return fatigue_tables(decisions, **options).fatigue


def fatigue_curve(decisions: pl.LazyFrame, *, bin_width: int = 5) -> pl.LazyFrame:
    """Quality by ``seq_in_day`` bin, raw and adjusted within rep-day, per team and ``all``.

    Returns ``team, seq_from, seq_to, n, positives, quality_rate, ci_low, ci_high``
    (raw share, Wilson 95%) and ``adjusted_quality`` (the within-rep-day, same-hour
    curve the verdict rests on; null for bins past ``SEQ_CAP`` or without evidence),
    sorted by team (``all`` last), ``seq_from``. Collects the counted cells once.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 3, "rep_id": ["r"] * 3, "seq_in_day": [1, 2, 6],
    ...                   "quality": [True, False, True]})
    >>> fatigue_curve(d).collect().select("team", "seq_from", "n", "quality_rate").rows()
    [('A', 1, 2, 0.5), ('A', 6, 1, 1.0), ('all', 1, 2, 0.5), ('all', 6, 1, 1.0)]
    """
    return fatigue_tables(decisions, bin_width=bin_width, n_boot=0).curve.lazy()


def raw_fatigue_curve(decisions: pl.LazyFrame, *, bin_width: int = 5) -> pl.LazyFrame:
    """The raw (unadjusted) quality share per ``seq_in_day`` bin, per team and ``all``.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 2, "rep_id": ["r"] * 2, "seq_in_day": [1, 6],
    ...                   "quality": [True, False]})
    >>> raw_fatigue_curve(d).collect().select("team", "seq_from", "quality_rate").rows()
    [('A', 1, 1.0), ('A', 6, 0.0), ('all', 1, 1.0), ('all', 6, 0.0)]
    """
    binned = decisions.filter(pl.col("quality").is_not_null()).select(
        "team",
        pl.col("quality"),
        seq_from=_seq_from(bin_width),
    )
    counts = binned.group_by("team", "seq_from").agg(
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("quality").sum().cast(pl.Int64).alias("positives"),
    )
    return _raw_curve_from_counts(counts, bin_width=bin_width)


def _seq_from(bin_width: int) -> pl.Expr:
    """First position of the ``seq_in_day`` bin of width ``bin_width``."""
    return ((pl.col("seq_in_day") - 1) // bin_width * bin_width + 1).cast(pl.Int64)


def _raw_curve_from_counts(counts: pl.LazyFrame, *, bin_width: int) -> pl.LazyFrame:
    """The raw curve from ``team, seq_from, n, positives`` (any number of rows per bin)."""
    aggs = [pl.col("n").sum().cast(pl.Int64), pl.col("positives").sum().cast(pl.Int64)]
    per_team = counts.group_by("team", "seq_from").agg(aggs)
    overall = counts.group_by("seq_from").agg(aggs).with_columns(team=pl.lit("all"))
    return (
        pl.concat([per_team, overall], how="diagonal")
        .with_columns(
            seq_to=pl.col("seq_from") + (bin_width - 1),
            quality_rate=quality_rate("positives", "n"),
        )
        .with_columns(*wilson_bounds("positives", "n"))
        .select("team", "seq_from", "seq_to", "n", "positives", "quality_rate", "ci_low", "ci_high")
        .sort(pl.col("team") == "all", "team", "seq_from")
    )


# ------------------------------------------------------------------ per-rep statistics
# Column layout of the per-rep Gram matrix: outcome, smooth terms, hours, curve bins.
# ``_B`` is the slope's regressor: ``s`` averaged within the rep-day's clock hour.
_Y, _L, _Q, _B, _H0 = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class _Reps:
    """Sufficient statistics per rep (first axis); every fit is a sum over reps."""

    team: np.ndarray  # (R,) team names
    gram: np.ndarray  # (R, P, P) within-rep-day Gram of [y, s, s^2, s_hour, hours, bins]
    cross: np.ndarray  # (R, K, 4 + H) sum over decisions after t of the demeaned columns
    step_var: np.ndarray  # (R, K) within-rep-day sum of squares of [seq > t]
    n_after: np.ndarray  # (R, K)
    pos_after: np.ndarray  # (R, K)
    n: np.ndarray  # (R,)
    positives: np.ndarray  # (R,)
    rep_days: np.ndarray  # (R,)
    bin_n: np.ndarray  # (R, B) decisions per curve bin
    n_hours: int
    bin_width: int

    @property
    def n_reps(self) -> int:
        return int(self.team.shape[0])

    @staticmethod
    def stack(parts: Sequence[_Reps]) -> _Reps:
        """The reps of ``parts``, one after the other."""
        first = parts[0]
        return _Reps(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in (
                    "team", "gram", "cross", "step_var", "n_after", "pos_after", "n",
                    "positives", "rep_days", "bin_n",
                )
            },
            n_hours=first.n_hours,
            bin_width=first.bin_width,
        )  # fmt: skip

    def subset(self, mask: np.ndarray) -> _Reps:
        """The reps of ``mask``; a view when they are contiguous (a team, or all)."""
        where = np.flatnonzero(mask)
        contiguous = where.size > 0 and where[-1] - where[0] + 1 == where.size
        pick: Any = slice(where[0], where[-1] + 1) if contiguous else mask
        return _Reps(
            team=self.team[pick],
            gram=self.gram[pick],
            cross=self.cross[pick],
            step_var=self.step_var[pick],
            n_after=self.n_after[pick],
            pos_after=self.pos_after[pick],
            n=self.n[pick],
            positives=self.positives[pick],
            rep_days=self.rep_days[pick],
            bin_n=self.bin_n[pick],
            n_hours=self.n_hours,
            bin_width=self.bin_width,
        )


def _pool_position(cands: np.ndarray) -> int:
    """The position from which every decision has the same regressors.

    Past ``SEQ_CAP`` the position and its square are capped (so is their hour mean)
    and the curve bin is the overflow bin; past the last candidate every step is 1.
    Decisions there can share a cell per rep-day and hour without changing a sum.
    """
    return max(SEQ_CAP, int(cands.max()) + 1 if len(cands) else 0) + 1


def _decision_cells(decisions: pl.LazyFrame, *, pool_from: int, bin_width: int) -> pl.LazyFrame:
    """Every quality-bearing decision as a cell of its own (``n = 1``), in the file's order.

    Columns as :func:`fatigue_cells` (``seq_in_day`` pooled from ``pool_from``) plus the
    raw curve's bin ``seq_from``. Cells need not be unique: every statistic is a sum over
    cells, so one cell per decision gives the sums of the counted cells without the
    cost of counting them (``seq_in_day`` is unique within a rep-day in any case).
    """
    day, hour = _day_and_hour(decisions.collect_schema().names())
    return decisions.filter(pl.col("quality").is_not_null()).select(
        "team",
        "rep_id",
        day,
        pl.col("seq_in_day").cast(pl.Int64).clip(upper_bound=pool_from),
        hour,
        _seq_from(bin_width).alias("seq_from"),
        n=pl.lit(1, dtype=pl.Int64),
        positives=pl.col("quality").cast(pl.Int64),
    )


def _statistics_by_rep_parts(
    decisions: pl.LazyFrame,
    *,
    cands: np.ndarray,
    bin_width: int,
    cells_per_part: int,
) -> tuple[list[str], _Reps, pl.DataFrame]:
    """The teams, :func:`_rep_statistics` and the raw curve's counts, reps a group at a time.

    A log of at most ``cells_per_part`` rows is counted in one scan. Otherwise reps are
    counted first and then a group at a time, so memory does not grow with rows. Every
    statistic is a sum within one rep, so the groups (contiguous in the ``team, rep_id``
    order the fits use) are stacked: the same arrays, in the same order, as one pass over
    every cell (issue 16). The raw curve's counts are ``team, seq_from, n, positives``.
    The next group is read while the current one is summed, so memory holds at most two
    groups' cells (at 100M activities the stage peaked at 1.95 GiB, below the read's).
    """
    pool_from = _pool_position(cands)

    def count(frame: pl.LazyFrame) -> pl.LazyFrame:
        return _decision_cells(frame, pool_from=pool_from, bin_width=bin_width)

    def curve_counts(cells: pl.DataFrame) -> pl.DataFrame:
        return cells.group_by("team", "seq_from").agg(pl.col("n", "positives").sum())

    if decisions.select(pl.len()).collect().item() <= cells_per_part:
        cells, team_names = pl.collect_all(
            [count(decisions), decisions.select(pl.col("team").unique())]
        )
        teams = sorted(team_names["team"].drop_nulls().to_list())
        stats_ = _rep_statistics(cells, cands=cands, bin_width=bin_width)
        return teams, stats_, curve_counts(cells)
    rep_counts = (
        decisions.group_by("team", "rep_id").agg(n=pl.col("quality").is_not_null().sum()).collect()
    )
    teams = sorted(rep_counts["team"].drop_nulls().unique().to_list())
    ordered = rep_counts.sort("team", "rep_id", nulls_last=True)
    groups: list[list[str]] = [[]]
    size = 0
    for rep_id, n in ordered.select("rep_id", "n").iter_rows():
        if groups[-1] and size + n > cells_per_part:
            groups.append([])
            size = 0
        groups[-1].append(rep_id)
        size += n
    plans = [
        count(
            decisions
            if len(groups) == 1
            else decisions.filter(pl.col("rep_id").is_in(pl.Series(ids).implode()))
        )
        for ids in groups
    ]
    parts, curves = [], []
    # the next group's cells are read (polars, GIL released) while numpy sums this one's
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(plans[0].collect)
        for i in range(len(plans)):
            cells = pending.result()
            if i + 1 < len(plans):
                pending = reader.submit(plans[i + 1].collect)
            parts.append(_rep_statistics(cells, cands=cands, bin_width=bin_width))
            curves.append(curve_counts(cells))
            del cells
    return teams, _Reps.stack(parts), pl.concat(curves)


def _sorted_by_rep_day(cells: pl.DataFrame) -> bool:
    """Whether ``cells`` are already in ``team, rep_id, day, seq_in_day`` order (no nulls).

    The decisions table is written in that order, so the sort can usually be skipped.
    """
    keys = ["team", "rep_id", "day", "seq_in_day"]
    if cells.height < 2:
        return True
    if cells.schema["team"] != pl.String or cells.schema["rep_id"] != pl.String:
        return False  # categorical order may not be the sort order
    if cells.select(pl.any_horizontal(pl.col(keys).has_nulls())).item():
        return False
    later = pl.col("seq_in_day") >= pl.col("seq_in_day").shift(1)
    for key in reversed(keys[:-1]):
        prev = pl.col(key).shift(1)
        later = (pl.col(key) > prev) | ((pl.col(key) == prev) & later)
    return bool(cells.select(later.slice(1).all()).item())


def _day_categories(
    day: np.ndarray,
    cat_h: np.ndarray,
    cat_b: np.ndarray,
    w: np.ndarray,
    *,
    n_days: int,
    n_cat: int,
) -> sparse.csr_matrix:
    """Decisions per (rep-day, category) as a canonical CSR matrix (hours, then bins).

    Cells in day and position order usually have their hours and bins in order too
    (the clock moves with the position): then the runs of equal keys are summed and
    placed directly; otherwise the matrix is built from coordinates. The same matrix
    either way.
    """
    key_h, key_b = day * n_cat + cat_h, day * n_cat + cat_b
    if not (np.all(key_h[1:] >= key_h[:-1]) and np.all(key_b[1:] >= key_b[:-1])):
        out = sparse.csr_matrix(
            (np.r_[w, w], (np.r_[day, day], np.r_[cat_h, cat_b])), shape=(n_days, n_cat)
        )
        out.sum_duplicates()
        return out

    def runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1] if key.size else key
        return key[start], np.add.reduceat(w, start) if key.size else w

    hour_keys, hour_n = runs(key_h)
    bin_keys, bin_n = runs(key_b)
    hour_day, bin_day = hour_keys // n_cat, bin_keys // n_cat
    # a day's hours come before its bins (lower columns): merge the two day-sorted lists
    size = hour_keys.size + bin_keys.size
    at_h = np.arange(hour_keys.size) + np.searchsorted(bin_day, hour_day, side="left")
    at_b = np.arange(bin_keys.size) + np.searchsorted(hour_day, bin_day, side="right")
    data = np.empty(size)
    indices = np.empty(size, dtype=np.int64)
    data[at_h], data[at_b] = hour_n, bin_n
    indices[at_h], indices[at_b] = hour_keys % n_cat, bin_keys % n_cat
    indptr = np.r_[0, np.cumsum(np.bincount(np.r_[hour_day, bin_day], minlength=n_days))]
    return sparse.csr_matrix((data, indices, indptr), shape=(n_days, n_cat))


def _rep_statistics(cells: pl.DataFrame, *, cands: np.ndarray, bin_width: int) -> _Reps:
    """Every rep's sufficient statistics in one vectorised pass over the counted cells.

    Cells are sorted by rep, rep-day and ``seq_in_day``; a rep-day's mean is taken out of
    every column (the fixed effect), so sums of products of the demeaned columns are
    within-rep-day Gram entries. Category columns (hours, curve bins) are never
    materialised: their blocks come from counts per (rep, category) minus the rep-day
    part ``sum_days M_day M_day' / W_day``; step cross-products are reverse cumulative
    sums over ``seq_in_day``.
    """
    n_bins = -(-SEQ_CAP // bin_width) + 1  # bins up to SEQ_CAP, then one overflow bin
    n_cat = N_HOURS + n_bins
    n_small = _H0 + N_HOURS
    k = len(cands)
    cells = cells.filter(pl.col("n") > 0)
    if not _sorted_by_rep_day(cells):
        cells = cells.sort(
            "team", "rep_id", "day", "seq_in_day", nulls_last=True, maintain_order=True
        )
    new_rep = (pl.col("team") != pl.col("team").shift(1)) | (
        pl.col("rep_id") != pl.col("rep_id").shift(1)
    )
    new_day = new_rep | pl.col("day").ne_missing(pl.col("day").shift(1))
    cells = cells.with_columns(
        _rep=new_rep.fill_null(True).cum_sum().cast(pl.Int64) - 1,
        _stratum=new_day.fill_null(True).cum_sum().cast(pl.Int64) - 1,
    )
    r = cells["_rep"].to_numpy()
    n_reps = int(r.max()) + 1 if r.size else 0
    if n_reps == 0:
        return _Reps(
            team=np.empty(0, dtype=object),
            gram=np.zeros((0, n_small + n_bins, n_small + n_bins)),
            cross=np.zeros((0, k, n_small)),
            step_var=np.zeros((0, k)),
            n_after=np.zeros((0, k)),
            pos_after=np.zeros((0, k)),
            n=np.zeros(0),
            positives=np.zeros(0),
            rep_days=np.zeros(0),
            bin_n=np.zeros((0, n_bins)),
            n_hours=N_HOURS,
            bin_width=bin_width,
        )
    s = cells["_stratum"].to_numpy()
    n_days = int(s.max()) + 1
    seq = cells["seq_in_day"].to_numpy()
    hour = cells["local_hour"].fill_null(N_HOURS - 1).to_numpy().astype(np.int64)
    hour = np.where((hour >= 0) & (hour < N_HOURS - 1), hour, N_HOURS - 1)
    w = cells["n"].to_numpy().astype(float)
    y = cells["positives"].to_numpy().astype(float)
    # reps and rep-days are runs of the sorted cells (none empty): their sums are
    # reductions of contiguous runs, ~10x faster than a bincount scattering into bins
    rep_starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
    day_starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]

    team = cells["team"].gather(rep_starts).to_numpy()
    rep_of_day = r[day_starts]
    bins = np.where(seq <= SEQ_CAP, (seq - 1) // bin_width, n_bins - 1)
    cat_h, cat_b = hour, N_HOURS + bins

    def by(key: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
        return np.bincount(key, weights=weights, minlength=size)

    def sum_per_rep(weights: np.ndarray) -> np.ndarray:
        return np.add.reduceat(weights, rep_starts)

    def sum_per_day(weights: np.ndarray) -> np.ndarray:
        return np.add.reduceat(weights, day_starts)

    # one decision per cell (the usual case): multiplying by w = 1 changes nothing
    unit = bool(np.all(w == 1.0))

    def wx(x: np.ndarray) -> np.ndarray:
        return x if unit else w * x

    # rep-day means out of the dense columns (outcome share, s, s^2)
    scaled = np.minimum(seq, SEQ_CAP) / 10.0
    w_day = sum_per_day(w)
    # the slope's regressor: s averaged within the rep-day's clock hour, so that position
    # within an hour (which moves with the clock) cannot carry a smooth time-of-day trend;
    # s itself where the hour is unknown (no clock to separate it from)
    present = np.flatnonzero(np.bincount(cat_h, minlength=N_HOURS))  # hours that occur
    slot = np.zeros(N_HOURS, dtype=np.int64)
    slot[present] = np.arange(present.size)
    n_present = present.size
    hour_cell = s * n_present + slot[hour]
    hour_mean = by(hour_cell, wx(scaled), n_days * n_present) / np.maximum(
        by(hour_cell, w, n_days * n_present), 1e-300
    )
    s_hour = np.where(hour == N_HOURS - 1, scaled, hour_mean[hour_cell])
    dense = [y if unit else y / w, scaled, scaled**2, s_hour]
    demeaned = [col - (sum_per_day(wx(col)) / w_day)[s] for col in dense]
    p = n_small + n_bins
    gram = np.zeros((n_reps, p, p))
    rep_cat = (r * n_cat + cat_h, r * n_cat + cat_b)
    for a in range(_H0):
        weighted = wx(demeaned[a])
        for b in range(a, _H0):
            gram[:, a, b] = gram[:, b, a] = sum_per_rep(weighted * demeaned[b])
        for key_cat in rep_cat:
            block = by(key_cat, weighted, n_reps * n_cat).reshape(n_reps, n_cat)
            gram[:, a, _H0:] += block
            gram[:, _H0:, a] += block
    if not unit:  # within-cell spread of the 0/1 outcomes (none in one-decision cells)
        gram[:, _Y, _Y] += sum_per_rep(y - y**2 / w)
    # category x category: counts per rep minus sum_days M M' / W_day
    per_rep = by(rep_cat[0], w, n_reps * n_cat) + by(rep_cat[1], w, n_reps * n_cat)
    idx = np.arange(n_cat)
    gram[:, _H0 + idx, _H0 + idx] += per_rep.reshape(n_reps, n_cat)
    joint = by((r * N_HOURS + cat_h) * n_bins + bins, w, n_reps * N_HOURS * n_bins).reshape(
        n_reps, N_HOURS, n_bins
    )
    gram[:, _H0:n_small, n_small:] += joint
    gram[:, n_small:, _H0:n_small] += joint.transpose(0, 2, 1)
    # decisions per (rep-day, category), sparse: a day touches few hours and bins
    day_cat = _day_categories(s, cat_h, cat_b, w, n_days=n_days, n_cat=n_cat)
    coo = day_cat.tocoo()
    coo.data = coo.data / np.sqrt(w_day)[coo.row]
    scaled_cat = coo.tocsr()
    spread = sparse.csr_matrix(
        (coo.data, (coo.row, rep_of_day[coo.row] * n_cat + coo.col)),
        shape=(n_days, n_reps * n_cat),
    )
    gram[:, _H0:, _H0:] -= (spread.T @ scaled_cat).toarray().reshape(n_reps, n_cat, n_cat)
    # steps [seq > t]: reverse cumulative sums over seq (positions past the last candidate
    # are pooled), evaluated at t + 1
    top = int(cands.max()) + 2 if k else 2
    pos = np.minimum(seq, top - 1)
    key = r * top + pos

    def after(weights: np.ndarray) -> np.ndarray:
        table = by(key, weights, n_reps * top).reshape(n_reps, top)
        rev = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]
        return rev[:, cands + 1]

    # within rep-day sum of squares of the demeaned step:
    #   sum_{seq > t} w - sum_days W_day(>t)^2 / W_day, with W(>t)^2 = sum w (w + 2 later)
    cum_w = np.cumsum(w)
    before_day = np.repeat((cum_w - w)[day_starts], np.diff(np.r_[day_starts, s.size]))
    later = w_day[s] - (cum_w - before_day)
    q = wx(w + 2.0 * later) / w_day[s]
    cross = np.zeros((n_reps, k, n_small))
    for a in range(_H0):
        cross[:, :, a] = after(wx(demeaned[a]))
    # hours: decisions after t in the hour, minus sum_days (M_day[h] / W_day) W_day(>t)
    # (the day's hour shares times its decisions at each position, summed per rep); only
    # the hours that occur (the others are 0)
    hour_table = by(key * n_present + slot[cat_h], w, n_reps * top * n_present).reshape(
        n_reps, top, n_present
    )
    day_hour = (by(hour_cell, w, n_days * n_present) / np.repeat(w_day, n_present)).reshape(
        n_days, n_present
    )
    at_pos = sparse.csr_matrix((w, (s, key)), shape=(n_days, n_reps * top))
    shares = np.asarray(at_pos.T @ day_hour).reshape(n_reps, top, n_present)
    counts_after = np.cumsum(hour_table[:, ::-1], axis=1)[:, ::-1][:, cands + 1]
    shares_after = np.cumsum(shares[:, ::-1], axis=1)[:, ::-1][:, cands + 1]
    cross[:, :, _H0 + present] = counts_after - shares_after
    n_after = after(w)
    return _Reps(
        team=team,
        gram=gram,
        cross=cross,
        step_var=n_after - after(q),
        n_after=n_after,
        pos_after=after(y),
        n=sum_per_rep(w),
        positives=sum_per_rep(y),
        rep_days=np.bincount(rep_of_day, minlength=n_reps).astype(float),
        bin_n=by(r * n_bins + bins, w, n_reps * n_bins).reshape(n_reps, n_bins),
        n_hours=N_HOURS,
        bin_width=bin_width,
    )


# ------------------------------------------------------------------ fits on the sums
def _partial(
    gram: np.ndarray,
    cross: np.ndarray,
    step_var: np.ndarray,
    keep: Sequence[int],
    *,
    by_inverse: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frisch-Waugh: partial the columns ``keep`` out of the outcome and of each step.

    ``gram (..., P, P)``, ``cross (..., K, P)``, ``step_var (..., K)``. Returns the
    outcome's residual sum of squares ``(...)``, the residual cross-product of each step
    with the outcome ``(..., K)`` and each step's residual sum of squares ``(..., K)``.
    A tiny ridge copes with categories that have no data (their rows are zero).
    ``by_inverse`` multiplies by the inverse instead of solving (much faster for a stack of
    small systems with many right-hand sides, as in the bootstrap; equal to rounding).
    """
    idx = list(keep)
    if not idx:
        return gram[..., _Y, _Y], cross[..., _Y], step_var
    g_aa = gram[..., idx, :][..., :, idx]
    # a tiny ridge keeps categories without data (zero rows) solvable; it changes nothing else
    ridge = 1e-9 * (np.trace(g_aa, axis1=-2, axis2=-1)[..., None, None] + 1.0)
    g_aa = g_aa + ridge * np.eye(len(idx))
    g_ay = gram[..., idx, _Y]
    c_ta = cross[..., idx]
    rhs = np.concatenate([g_ay[..., :, None], np.swapaxes(c_ta, -1, -2)], axis=-1)
    sol = np.linalg.inv(g_aa) @ rhs if by_inverse else np.linalg.solve(g_aa, rhs)
    ryy = gram[..., _Y, _Y] - np.einsum("...a,...a->...", g_ay, sol[..., 0])
    cxy = cross[..., _Y] - np.einsum("...ka,...a->...k", c_ta, sol[..., 0])
    vx = step_var - np.einsum("...ka,...ak->...k", c_ta, sol[..., 1:])
    return ryy, cxy, vx


def _slope(gram: np.ndarray, hours: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear model on ``s`` (per 10 decisions) given hours: residual SS, cross, var of s."""
    cross = gram[..., None, _B, :]
    step_var = gram[..., None, _B, _B]
    return _partial(gram, cross, step_var, hours)


def _davies(z: np.ndarray) -> tuple[float, float]:
    """Search-corrected p-value of ``max z_t^2`` (Davies 1987 bound, capped by Bonferroni).

    Returns ``(corrected, naive)``.
    """
    m = float(np.max(z**2))
    naive = float(stats.chi2.sf(m, 1))
    variation = float(np.abs(np.diff(z)).sum())
    davies = naive + variation * math.exp(-m / 2.0) / math.sqrt(2.0 * math.pi)
    return min(1.0, davies, naive * z.size), naive


def _empty_row(team: str, reason: str, reps: _Reps, *, hour_adjusted: bool, ci_method: str):
    row: dict[str, Any] = dict.fromkeys(FATIGUE_SCHEMA.names())
    row.update(
        team=team,
        n_decisions=int(reps.n.sum()),
        n_reps=int((reps.n > 0).sum()),
        n_rep_days=int(reps.rep_days.sum()),
        shape="none",
        candidates_tested=0,
        hour_adjusted=hour_adjusted,
        ci_method=ci_method,
        reason=reason,
    )
    return row


def _verdict(
    team: str,
    reps: _Reps,
    *,
    cands: np.ndarray,
    min_after: int,
    alpha: float,
    n_boot: int,
    rng: np.random.Generator,
    ci_method: str,
    min_boot_reps: int,
    hour_adjusted: bool,
) -> dict[str, Any]:
    n_reps = int((reps.n > 0).sum())
    use_boot = ci_method == "bootstrap" and n_reps >= min_boot_reps and n_boot > 0
    method = "rep_bootstrap" if use_boot else "profile_wald"
    empty = {"hour_adjusted": hour_adjusted, "ci_method": method}
    total = float(reps.n.sum())
    if total == 0:
        return _empty_row(
            team,
            "no quality-bearing decisions (no outcome in the taxonomy's [quality] lists)",
            reps,
            **empty,
        )
    n_small = _H0 + reps.n_hours
    gram = reps.gram[:, :n_small, :n_small].sum(axis=0)
    # hour categories that vary within some rep-day (the others carry no information)
    hours = [h for h in range(_H0, n_small) if gram[h, h] > 1e-9]
    smooth = [_L, _Q, *hours]
    cross = reps.cross.sum(axis=0)
    step_var = reps.step_var.sum(axis=0)
    n_after = reps.n_after.sum(axis=0)
    ok = (n_after >= min_after) & (total - n_after >= min_after)
    if not ok.any():
        return _empty_row(
            team,
            f"too few quality-bearing decisions past any candidate threshold (need {min_after})",
            reps,
            **empty,
        )
    ryy0, cxy0, vx0 = _partial(gram, cross, step_var, hours)
    ok &= vx0 > 1e-9 * max(float(vx0.max()), 1.0)
    if not ok.any() or ryy0 <= 0:
        reason = (
            "quality does not vary within rep-days"
            if ryy0 <= 0
            else "no rep-day has quality-bearing decisions on both sides of a candidate"
        )
        return _empty_row(team, reason, reps, **empty)
    hour_rank = int(np.linalg.matrix_rank(gram[np.ix_(hours, hours)], hermitian=True))
    df0 = total - reps.rep_days.sum() - hour_rank
    # step vs no change
    z0 = cxy0[ok] / np.sqrt(ryy0 / df0 * vx0[ok])
    p_step, _ = _davies(z0)
    best = int(np.argmax(z0**2))
    t_ok = cands[ok]
    t_hat = int(t_ok[best])
    beta = float(cxy0[ok][best] / vx0[ok][best])
    beta_se = float(math.sqrt(ryy0 / df0 / vx0[ok][best]))
    # step on top of the smooth decline
    ryy_s, cxy_s, vx_s = _partial(gram, cross, step_var, smooth)
    good_s = vx_s[ok] > 1e-9 * max(float(vx_s[ok].max()), 1.0)
    z_s = np.where(
        good_s, cxy_s[ok] / np.sqrt(ryy_s / (df0 - 2) * np.where(good_s, vx_s[ok], 1.0)), 0.0
    )
    p_smooth, _ = _davies(z_s)
    # linear decline
    ryy_l, cxy_l, v_l = _slope(gram, hours)
    slope = float(cxy_l[0] / v_l[0]) if v_l[0] > 0 else float("nan")
    slope_se = (
        float(math.sqrt((ryy_l - cxy_l[0] ** 2 / v_l[0]) / (df0 - 1) / v_l[0]))
        if v_l[0] > 0
        else float("nan")
    )
    # reps may differ in how they tire (some decline, as many improve): where the spread
    # between reps (leave-one-rep-out jackknife) exceeds the within-rep-day standard error,
    # it is the standard error, with t quantiles on R - 1 degrees of freedom
    dist: Any = stats.norm
    if n_reps >= min_boot_reps and math.isfinite(slope):
        jack = _rep_jackknife_se(reps, hours=hours)
        if jack > slope_se:
            slope_se, dist = jack, stats.t(n_reps - 1)
    slope_p = float(2 * dist.sf(abs(slope / slope_se))) if slope_se > 0 else None
    half = float(dist.ppf(1 - alpha / 2)) * slope_se
    s_low, s_high = slope - half, slope + half
    # threshold intervals
    if use_boot:
        t_low, t_high = _bootstrap(
            reps, cands=cands, ok=ok, hours=hours, alpha=alpha, n_boot=n_boot, rng=rng
        )
    else:
        crit = float(stats.chi2.ppf(1.0 - alpha, 1))
        inside = t_ok[z0**2 >= z0[best] ** 2 - crit]
        t_low, t_high = int(inside.min()), int(inside.max())
    p_value = max(p_step, p_smooth)
    is_threshold = p_step < alpha and p_smooth < alpha and beta < 0 and bool(z_s[best] < 0)
    if is_threshold:
        shape = "threshold"
    elif s_high is not None and s_high < 0:
        shape = "gradual"
    else:
        shape = "none"
    row: dict[str, Any] = dict.fromkeys(FATIGUE_SCHEMA.names())
    row.update(
        team=team,
        p_value=p_value,
        n_decisions=int(total),
        shape=shape,
        slope_per_10=slope * 1.0,
        slope_ci_low=s_low,
        slope_ci_high=s_high,
        significant=is_threshold,
        n_reps=n_reps,
        n_rep_days=int(reps.rep_days.sum()),
        p_step=p_step,
        p_step_vs_smooth=p_smooth,
        slope_p_value=slope_p,
        candidates_tested=int(ok.sum()),
        hour_adjusted=hour_adjusted,
        ci_method=method,
    )
    if is_threshold:
        k = int(np.flatnonzero(ok)[best])
        na_r, pa_r = reps.n_after[:, k], reps.pos_after[:, k]
        nb_r, pb_r = reps.n - na_r, reps.positives - pa_r
        before_n, after_n = float(nb_r.sum()), float(na_r.sum())
        q_before, q_after = float(pb_r.sum() / before_n), float(pa_r.sum() / after_n)
        # the base rate of the reps whose long days identify the step
        has = (na_r > 0) & (nb_r > 0)
        model_before = float(np.sum(na_r[has] * pb_r[has] / nb_r[has]) / na_r[has].sum())
        row.update(
            threshold_estimate=t_hat,
            threshold_ci_low=min(t_low, t_hat),
            threshold_ci_high=max(t_high, t_hat),
            quality_before=q_before,
            quality_after=q_after,
            relative_drop=-beta / model_before if model_before > 0 else None,
            n_after=int(after_n),
            raw_relative_drop=(q_before - q_after) / q_before if q_before > 0 else None,
            model_quality_before=model_before,
            model_quality_after=model_before + beta,
            step_effect=beta,
            step_se=beta_se,
        )
    return row


def _bootstrap(
    reps: _Reps,
    *,
    cands: np.ndarray,
    ok: np.ndarray,
    hours: list[int],
    alpha: float,
    n_boot: int,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """Percentile interval of the threshold over resamples of reps.

    A resample's sums are its rep counts (multinomial weights) times the per-rep
    statistics: one matrix product per chunk of resamples, restricted to the outcome and
    the hours the fits use.
    """
    return _threshold_percentiles(
        _bootstrap_thresholds(reps, cands=cands, ok=ok, hours=hours, n_boot=n_boot, rng=rng),
        alpha=alpha,
    )


def _threshold_percentiles(t_all: np.ndarray, *, alpha: float) -> tuple[int, int]:
    t_low, t_high = np.quantile(t_all, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return int(t_low), int(t_high)


def _bootstrap_thresholds(
    reps: _Reps,
    *,
    cands: np.ndarray,
    ok: np.ndarray,
    hours: list[int],
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The best threshold of each of ``n_boot`` resamples of reps (same draws as ever)."""
    active = reps.n > 0
    cols = [_Y, *hours]
    m = len(cols)
    n_r = int(active.sum())
    k = reps.cross.shape[1]
    rows = np.flatnonzero(active)
    gram_r = reps.gram[np.ix_(rows, cols, cols)].reshape(n_r, m * m)
    cross_r = reps.cross[np.ix_(rows, np.arange(k), cols)].reshape(n_r, k * m)
    var_r = reps.step_var[active]
    stacked = np.concatenate([gram_r, cross_r, var_r], axis=1)
    keep = list(range(1, m))  # the hours, in the restricted layout (outcome first)
    t_hats = []
    chunk = max(1, 4_000_000 // max(1, reps.cross[0].size))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        weights = rng.multinomial(n_r, np.full(n_r, 1.0 / n_r), size=size).astype(float)
        sums = weights @ stacked
        gram = sums[:, : m * m].reshape(size, m, m)
        cross = sums[:, m * m : m * m + k * m].reshape(size, k, m)
        var = sums[:, m * m + k * m :]
        _, cxy, vx = _partial(gram, cross, var, keep, by_inverse=True)
        valid = ok[None, :] & (vx > 1e-9)
        stat = np.where(valid, cxy**2 / np.where(valid, vx, 1.0), -np.inf)
        t_hats.append(cands[np.argmax(stat, axis=1)])
    return np.concatenate(t_hats)


def _rep_jackknife_se(reps: _Reps, *, hours: list[int]) -> float:
    """Leave-one-rep-out jackknife standard error of ``slope_per_10`` (from per-rep Grams)."""
    active = reps.n > 0
    n_r = int(active.sum())
    if n_r < 2:
        return float("nan")
    n_small = _H0 + reps.n_hours
    gram_r = reps.gram[active][:, :n_small, :n_small]
    cols = [_B, *hours]
    g = gram_r.sum(axis=0)[None] - gram_r
    block = g[:, cols][:, :, cols]
    ridge = 1e-9 * (np.trace(block, axis1=1, axis2=2)[:, None, None] + 1.0)
    block = block + ridge * np.eye(len(cols))
    est = np.linalg.solve(block, g[:, cols, _Y][..., None])[:, 0, 0]
    est = est[np.isfinite(est)]
    if est.size < 2:
        return float("nan")
    return float(math.sqrt((est.size - 1) / est.size * np.sum((est - est.mean()) ** 2)))


def _hour_effects(reps: _Reps, *, step: int | None) -> np.ndarray:
    """Clock-hour effects from the verdict's own model: the step at candidate index ``step``
    (shape ``threshold``) or the slope on ``s_hour`` (otherwise), each with hours, within
    rep-day.

    Bins and hours together leave a near-collinear direction (within a day the position
    rises with the clock), so the curve takes its hour effects from this one-shape model.
    (Taking them from the quadratic in ``s`` instead let part of a late-afternoon dip
    through: the sample's confound team drifted down by ~8 points with a ``none`` verdict.)
    """
    n_small = _H0 + reps.n_hours
    gram = reps.gram[:, :n_small, :n_small].sum(axis=0)
    hours = [h for h in range(_H0, n_small) if gram[h, h] > 1e-9]
    if step is None:
        cols = [_B, *hours]
        block = gram[np.ix_(cols, cols)]
        rhs = gram[cols, _Y]
    else:
        cross = reps.cross.sum(axis=0)[step]
        var = reps.step_var.sum(axis=0)[step]
        size = 1 + len(hours)
        block = np.zeros((size, size))
        block[0, 0] = var
        block[0, 1:] = block[1:, 0] = cross[hours]
        block[1:, 1:] = gram[np.ix_(hours, hours)]
        rhs = np.r_[cross[_Y], gram[hours, _Y]]
    coef = np.linalg.lstsq(block, rhs, rcond=None)[0]
    gamma = np.zeros(reps.n_hours)
    gamma[np.array(hours, dtype=np.int64) - _H0] = coef[-len(hours) :] if hours else []
    return gamma


def _adjusted_curve(
    team: str, reps: _Reps, *, bin_width: int, step: int | None = None
) -> pl.DataFrame:
    """Within-rep-day, same-hour quality per ``seq_in_day`` bin, centred on the overall share.

    The hour effects come from the verdict's model (:func:`_hour_effects`); the bins are
    then fitted to the within rep-day outcome net of them.
    """
    n_small = _H0 + reps.n_hours
    gram = reps.gram.sum(axis=0)
    bin_n = reps.bin_n.sum(axis=0)
    n_bins = bin_n.size
    total = float(reps.n.sum())
    schema = {"team": pl.String, "seq_from": pl.Int64, "adjusted_quality": pl.Float64}
    if total == 0:
        return pl.DataFrame(schema=schema)
    gamma = _hour_effects(reps, step=step)
    bins = list(range(n_small, gram.shape[0]))
    hours = list(range(_H0, n_small))
    rhs = gram[bins, _Y] - gram[np.ix_(bins, hours)] @ gamma
    effect = np.linalg.lstsq(gram[np.ix_(bins, bins)], rhs, rcond=None)[0]
    diag = np.diag(gram)[n_small:]
    known = (bin_n > 0) & (diag > 1e-9)
    known[-1] = False  # the overflow bin past SEQ_CAP
    if not known.any():
        return pl.DataFrame(schema=schema)
    weights = bin_n[known] / bin_n[known].sum()
    centre = float(np.sum(weights * effect[known]))
    level = float(reps.positives.sum() / total)
    seq_from = np.arange(n_bins) * bin_width + 1
    return pl.DataFrame(
        {
            "team": team,
            "seq_from": seq_from[known].astype(np.int64),
            "adjusted_quality": level + effect[known] - centre,
        },
        schema=schema,
    )
