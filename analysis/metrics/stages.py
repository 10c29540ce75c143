"""Process audit: where deals stall, slip and wait (CONTRACT 5.3).

Tables
------
* ``stage_durations``: per team and open stage (plus ``team = "all"``), Kaplan–Meier
  time in stage, with the spells still running censored at as-of (statsmodels
  ``SurvfuncRight``): ``median_days`` with its interval and ``p80_days``. A quantile the
  curve never reaches is null, never the last time seen. ``mean_exited_days`` is the
  plain average over the spells that already ended, kept only to show its bias.
* ``stage_conversion``: per team and stage, spells ``entered`` = ``advanced`` (to a
  later stage or won) + ``lost`` + ``moved_back`` (to an earlier stage) + ``open``;
  ``share_advanced = advanced / (entered - open)`` with a Wilson interval (open spells
  have not been decided yet, so they are left out of the share, not counted as failures).
* ``stalled_deals``: every opportunity open at as-of, its current stage and days in it,
  the team's ``--stall-quantile`` (default 0.8) of that stage's duration as
  ``stage_p80_days`` (null with fewer than ``min_exits`` = 10 exits: no guess), ``stalled``
  (null when the quantile is null), ``close_date_pushes`` and ``past_due`` (both null when
  the deal has no expected close date in ``close_date_changes``).
* ``pipeline_exceptions``: per rep owning open deals, the counts of those flags.
* ``stage_hygiene``: per team and rep, deals whose history skips stages, goes backwards,
  or is closed without ever reaching a closed stage (:func:`stage_hygiene`).

Spells
------
A spell is one entry into an open stage (consecutive rows of the same stage are one entry).
It ends at the next entry (any stage); when the deal is closed and its history stops in an
open stage, at ``closed_at``; otherwise it is censored at as-of. Rows entered after as-of
are not seen. The team is the team of the opportunity's owner.

Stage order
-----------
From an optional ``[stages]`` table in the taxonomy TOML (``order = [...]``, and
optionally ``won = [...]``, ``lost = [...]``); otherwise from the data: open stages are
ordered by their average position along each deal's history (the order deals move
through); closed stages are the stages where most opportunities currently in them are
closed (won ones when most of those are won), last. See docs/process_audit.md.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from analysis.config import DEFAULTS
from analysis.metrics import exprs

__all__ = [
    "StageOrder",
    "km_summary",
    "pipeline_exceptions",
    "spells",
    "stage_conversion",
    "stage_durations",
    "stage_hygiene",
    "stage_order",
    "stage_survival",
    "stalled_deals",
]

DAY_S = 86_400.0
ALL = "all"
#: Exits below which a stage's quantile is not estimated (null, never a guess).
MIN_EXITS = 10
STALL_QUANTILE = DEFAULTS.stall_quantile


@dataclass(frozen=True)
class StageOrder:
    """Open stages in order, and the closed (won / lost) stage names."""

    open: tuple[str, ...]
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    source: str = "data"
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def closed(self) -> tuple[str, ...]:
        """Every closed stage name."""
        return (*self.won, *self.lost)

    def rank(self) -> dict[str, int]:
        """Stage -> position (closed stages after every open one).

        Examples
        --------
        >>> StageOrder(("A", "B"), won=("W",), lost=("L",)).rank()
        {'A': 0, 'B': 1, 'W': 2, 'L': 2}
        """
        n = len(self.open)
        return {**{s: i for i, s in enumerate(self.open)}, **dict.fromkeys(self.closed, n)}


def read_stage_config(taxonomy: str | Path | None) -> StageOrder | None:
    """The ``[stages]`` table of a taxonomy TOML (``order``, ``won``, ``lost``), or None.

    Examples
    --------
    >>> read_stage_config(None) is None
    True
    """
    if taxonomy is None:
        return None
    from analysis.errors import BadInputError

    try:
        data = tomllib.loads(Path(taxonomy).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # the taxonomy loader reports a bad file on its own
    stages = data.get("stages")
    if stages is None:
        return None
    order = stages.get("order") if isinstance(stages, dict) else None
    if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
        raise BadInputError("[stages] needs order = a list of stage names", file=taxonomy)
    lists = {}
    for key in ("won", "lost"):
        value = stages.get(key, [])
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise BadInputError(f"[stages] {key} must be a list of stage names", file=taxonomy)
        lists[key] = tuple(value)
    return StageOrder(tuple(order), lists["won"], lists["lost"], source="taxonomy")


def _lit_ts(value: datetime) -> pl.Expr:
    return pl.lit(value).dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _in_deal(column: str, offset: int = 1) -> pl.Expr:
    """``column`` ``offset`` rows back (negative: ahead) when that row is the same deal, else
    null. On a frame sorted by deal, entry time and stage (``_paths``) this is the deal's
    previous (next) entry: a per-deal window without a per-deal sort."""
    deal = pl.col("opportunity_id")
    return pl.when(deal.eq_missing(deal.shift(offset))).then(pl.col(column).shift(offset))


def _paths(stage_history: pl.LazyFrame, as_of: datetime) -> pl.LazyFrame:
    """Stage entries seen at as-of, consecutive repeats collapsed, ordered per deal.

    Sorted by deal, then entry time and stage, so each deal's entries are consecutive rows
    in path order (``position`` from 0, ``path_length`` entries)."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    deal = pl.col("opportunity_id")
    first = pl.when(~deal.eq_missing(deal.shift(1))).then(row).forward_fill()
    last = pl.when(~deal.eq_missing(deal.shift(-1))).then(row).backward_fill()
    return (
        stage_history.filter(pl.col("entered_at") <= _lit_ts(as_of))
        .select("opportunity_id", "stage", "entered_at")
        .sort("opportunity_id", "entered_at", "stage")
        .filter((pl.col("stage") != _in_deal("stage")).fill_null(True))
        .with_columns(
            (row - first).alias("position"),
            (last - first + 1).cast(pl.UInt32).alias("path_length"),
        )
    )


def stage_order(
    stage_history: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    as_of: datetime,
    config: StageOrder | None = None,
) -> StageOrder:
    """The stage order: the ``[stages]`` config when given, else learnt from the data.

    Open stages are ordered by their mean position along the deals' histories (ties by
    name); closed stages are those where most opportunities currently in them are closed
    (won when most of those are won). Stages the config does
    not list are appended in data order (``extra``). This collects a small summary.

    Examples
    --------
    >>> t = [datetime(2026, 7, d, tzinfo=UTC) for d in (1, 2, 3, 4)]
    >>> sh = pl.LazyFrame({"opportunity_id": ["a", "a", "a", "b"],
    ...     "stage": ["Lead", "Demo", "Won", "Lead"], "entered_at": t[:3] + t[:1]})
    >>> opps = pl.LazyFrame({"opportunity_id": ["a", "b"], "stage": ["Won", "Lead"],
    ...     "is_closed": [True, False], "is_won": [True, False]})
    >>> stage_order(sh, opps, as_of=t[3])
    StageOrder(open=('Lead', 'Demo'), won=('Won',), lost=(), source='data', extra={})
    """
    return _stage_order(_paths(stage_history, as_of), opportunities, config=config)


def _stage_order(
    path: pl.LazyFrame, opportunities: pl.LazyFrame, *, config: StageOrder | None
) -> StageOrder:
    current = (
        opportunities.group_by("stage")
        .agg(
            pl.col("is_closed").sum().alias("closed"),
            (~pl.col("is_closed")).sum().alias("open"),
            (pl.col("is_closed") & pl.col("is_won")).sum().alias("won"),
            (pl.col("is_closed") & ~pl.col("is_won")).sum().alias("lost"),
        )
        .collect()
    )
    # A stage is closed when most deals currently in it are closed (a few dirty rows with
    # a closed stage name on an open deal must not make it an open stage).
    closed = current.filter(pl.col("closed") > pl.col("open"))
    won = tuple(sorted(closed.filter(pl.col("won") >= pl.col("lost"))["stage"].to_list()))
    lost = tuple(sorted(closed.filter(pl.col("won") < pl.col("lost"))["stage"].to_list()))
    seen = (
        path.group_by("stage")
        .agg((pl.col("position") / pl.col("path_length")).mean().alias("mean_position"))
        .sort("mean_position", "stage")
        .collect()
    )
    data_open = [s for s in seen["stage"].to_list() if s not in won and s not in lost]
    if config is None:
        return StageOrder(tuple(data_open), won, lost, source="data")
    listed = set(config.open) | set(config.closed)
    extra = [s for s in data_open if s not in listed]
    won_cfg = config.won or tuple(s for s in won if s not in config.open)
    lost_cfg = config.lost or tuple(s for s in lost if s not in config.open)
    return StageOrder(
        (*config.open, *extra),
        won_cfg,
        lost_cfg,
        source="taxonomy",
        extra={s: len(config.open) + i for i, s in enumerate(extra)},
    )


def spells(
    stage_history: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    reps: pl.LazyFrame,
    *,
    as_of: datetime,
    order: StageOrder,
) -> pl.LazyFrame:
    """One row per entry into an open stage, with its duration and how it ended.

    Columns: ``opportunity_id, owner_id, team, stage, stage_rank, entered_at, exited_at``
    (null while censored), ``days`` (to the exit, or to as-of when censored), ``exited``,
    ``outcome`` (advanced, lost, moved_back, open) and ``is_current`` (the deal's latest
    entry). Deals not in ``opportunities`` are left out (no owner, no team).

    Examples
    --------
    >>> t = [datetime(2026, 7, d, tzinfo=UTC) for d in (1, 3, 4, 11)]
    >>> sh = pl.LazyFrame({"opportunity_id": ["a", "a", "b"], "stage": ["Lead", "Won", "Lead"],
    ...     "entered_at": [t[0], t[1], t[2]]})
    >>> opps = pl.LazyFrame({"opportunity_id": ["a", "b"], "owner_id": ["r", "r"],
    ...     "is_closed": [True, False], "is_won": [True, False], "closed_at": [t[1].date(), None]})
    >>> reps = pl.LazyFrame({"rep_id": ["r"], "team": ["T"]})
    >>> order = StageOrder(("Lead",), won=("Won",))
    >>> spells(sh, opps, reps, as_of=t[3], order=order).collect().select(
    ...     "opportunity_id", "days", "exited", "outcome").rows()
    [('a', 2.0, True, 'advanced'), ('b', 7.0, False, 'open')]
    """
    return _spells(_paths(stage_history, as_of), opportunities, reps, as_of=as_of, order=order)


def _spells(
    path: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    reps: pl.LazyFrame,
    *,
    as_of: datetime,
    order: StageOrder,
) -> pl.LazyFrame:
    rank = order.rank()
    n_open = len(order.open)
    owners = opportunities.select(
        "opportunity_id", "owner_id", "is_closed", "is_won", "closed_at"
    ).join(
        reps.select(pl.col("rep_id").alias("owner_id"), pl.col("team").cast(pl.String)),
        on="owner_id",
        how="left",
    )
    as_of_lit = _lit_ts(as_of)
    path = path.with_columns(
        pl.col("stage")
        .replace_strict(rank, default=None, return_dtype=pl.Int64)
        .alias("stage_rank")
    )
    nxt = path.with_columns(
        _in_deal("entered_at", -1).alias("next_at"),
        _in_deal("stage", -1).alias("next_stage"),
        _in_deal("stage_rank", -1).alias("next_rank"),
    ).join(owners, on="opportunity_id", how="inner", maintain_order="left")
    closed_at_ts = pl.col("closed_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    closed_end = (
        pl.when(
            pl.col("next_at").is_null()
            & pl.col("is_closed")
            & pl.col("closed_at").is_not_null()
            & (closed_at_ts <= as_of_lit)
        )
        .then(pl.max_horizontal(closed_at_ts, pl.col("entered_at")))
        .otherwise(None)
    )
    exited_at = pl.coalesce(pl.col("next_at"), closed_end)
    won = set(order.won)
    lost = set(order.lost)
    outcome = (
        pl.when(exited_at.is_null())
        .then(pl.lit("open"))
        .when(pl.col("next_stage").is_in(list(won)))
        .then(pl.lit("advanced"))
        .when(pl.col("next_stage").is_in(list(lost)))
        .then(pl.lit("lost"))
        .when(pl.col("next_stage").is_null() & pl.col("is_won"))
        .then(pl.lit("advanced"))
        .when(pl.col("next_stage").is_null())
        .then(pl.lit("lost"))
        .when(pl.col("next_rank") < pl.col("stage_rank"))
        .then(pl.lit("moved_back"))
        .otherwise(pl.lit("advanced"))
    )
    return (
        nxt.filter(pl.col("stage_rank") < n_open)
        .with_columns(exited_at.alias("exited_at"))
        .with_columns(
            (
                (pl.coalesce("exited_at", as_of_lit) - pl.col("entered_at")).dt.total_microseconds()
                / (DAY_S * 1e6)
            ).alias("days"),
            pl.col("exited_at").is_not_null().alias("exited"),
            outcome.alias("outcome"),
            (pl.col("position") == pl.col("path_length") - 1).alias("is_current"),
        )
        .select(
            "opportunity_id",
            "owner_id",
            "team",
            "stage",
            "stage_rank",
            "entered_at",
            "exited_at",
            "days",
            "exited",
            "outcome",
            "is_current",
        )
        # in path order: by deal, entry time and stage (the join keeps the path's order)
    )


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def km_summary(
    days: np.ndarray,
    exited: np.ndarray,
    *,
    quantile: float = STALL_QUANTILE,
    alpha: float = 0.05,
) -> dict[str, float | None]:
    """Kaplan–Meier median (with interval) and a quantile of durations, via statsmodels.

    ``exited`` is 1 for an observed end, 0 for censored. A quantile the curve never
    reaches is None (the interval bounds likewise).

    Examples
    --------
    >>> km_summary(np.array([1.0, 2, 3, 4, 5]), np.array([1, 1, 1, 1, 1]))["median"]
    3.0
    >>> km_summary(np.array([1.0, 5, 5, 5]), np.array([1, 0, 0, 0]))["median"] is None
    True
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    out: dict[str, float | None] = {"median": None, "ci_low": None, "ci_high": None, "q": None}
    if len(days) == 0 or not np.any(exited):
        return out
    sf = SurvfuncRight(days, exited)
    out["median"] = _finite(sf.quantile(0.5))
    out["q"] = _finite(sf.quantile(quantile))
    if out["median"] is not None:
        with np.errstate(all="ignore"):
            try:
                low, high = sf.quantile_ci(0.5, alpha=alpha)
            except (ValueError, ZeroDivisionError, FloatingPointError):
                low, high = math.nan, math.nan
        out["ci_low"], out["ci_high"] = _finite(low), _finite(high)
    return out


Cell = tuple[tuple[str, str, int], np.ndarray, np.ndarray]


def _cells(spell_table: pl.LazyFrame) -> list[Cell]:
    """The spells per (team, stage), plus ``team = "all"`` per stage: ``(key, days,
    exited)`` with each cell's spells sorted by duration (then exit), cells in (team,
    stage rank, stage) order. One stable sort of the codes and durations, no frame per cell."""
    keys = ["team", "stage", "stage_rank"]
    cells = spell_table.select(*keys, "days", "exited").collect()
    days = cells["days"].cast(pl.Float64).to_numpy()
    exited = cells["exited"].cast(pl.Int8).to_numpy()
    by_duration = np.lexsort((exited, days))
    out: list[Cell] = []
    for by, label in ((keys, None), (keys[1:], ALL)):
        combos = cells.group_by(by).agg().with_row_index("_k")
        code = (
            cells.select(by)
            .join(combos, on=by, how="left", nulls_equal=True, maintain_order="left")["_k"]
            .to_numpy()
        )
        order = by_duration[np.argsort(code[by_duration], kind="stable")]
        bounds = np.searchsorted(code[order], np.arange(combos.height + 1))
        for k, combo in enumerate(combos.iter_rows(named=True)):
            team = label if label is not None else combo["team"]
            if team is None:
                continue  # spells of deals whose owner has no team count in "all" only
            rows = order[bounds[k] : bounds[k + 1]]
            out.append(((team, combo["stage"], combo["stage_rank"]), days[rows], exited[rows]))
    return sorted(out, key=lambda cell: (cell[0][0], cell[0][2], cell[0][1]))


def _duration_rows(cells: list[Cell], *, quantile: float, alpha: float) -> list[dict]:
    """One KM fit per (team, stage) over the spells' durations (statsmodels' standard
    errors are only right without frequency weights, so the spells are not pre-counted)."""
    rows = []
    for (team, stage, stage_rank), days, ex in cells:
        km = km_summary(days, ex, quantile=quantile, alpha=alpha)
        n_exits = int(ex.sum())
        rows.append(
            {
                "team": team,
                "stage": stage,
                "stage_rank": stage_rank,
                "entered": len(days),
                "exited": n_exits,
                "censored": int(len(days) - n_exits),
                "median_days": km["median"],
                "median_ci_low": km["ci_low"],
                "median_ci_high": km["ci_high"],
                "p80_days": km["q"] if quantile == 0.8 else None,
                "quantile_days": km["q"],
                "mean_exited_days": float(days[ex == 1].mean()) if n_exits else None,
            }
        )
    return rows


DURATION_SCHEMA = {
    "team": pl.String,
    "stage": pl.String,
    "stage_rank": pl.Int64,
    "entered": pl.Int64,
    "exited": pl.Int64,
    "censored": pl.Int64,
    "median_days": pl.Float64,
    "median_ci_low": pl.Float64,
    "median_ci_high": pl.Float64,
    "p80_days": pl.Float64,
    "quantile_days": pl.Float64,
    "mean_exited_days": pl.Float64,
}


def stage_durations(
    spell_table: pl.LazyFrame,
    *,
    stall_quantile: float = STALL_QUANTILE,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Kaplan–Meier time in stage per team and stage, plus ``team = "all"``.

    Fits one ``SurvfuncRight`` per cell on the spells' durations (spells are one per
    stage entry: far fewer than activities). ``p80_days`` is the 80th percentile;
    ``quantile_days`` the ``stall_quantile`` one (the stall threshold, equal to p80 by
    default). Rows: teams alphabetically then ``all``, stages in order.

    Examples
    --------
    >>> sp = pl.LazyFrame({"team": ["T"] * 4, "stage": ["A"] * 4, "stage_rank": [0] * 4,
    ...     "days": [1.0, 2.0, 3.0, 9.0], "exited": [True, True, True, False]})
    >>> stage_durations(sp).select("team", "entered", "censored", "median_days").rows()
    [('T', 4, 1, 3.0), ('all', 4, 1, 3.0)]
    """
    return _durations(_cells(spell_table), stall_quantile=stall_quantile, alpha=alpha)


def _durations(both: list[Cell], *, stall_quantile: float, alpha: float) -> pl.DataFrame:
    rows = _duration_rows(both, quantile=stall_quantile, alpha=alpha)
    table = pl.DataFrame(rows, schema=DURATION_SCHEMA)
    if stall_quantile != 0.8:
        p80 = _duration_rows(both, quantile=0.8, alpha=alpha)
        table = table.with_columns(pl.Series("p80_days", [r["quantile_days"] for r in p80]))
    return table.sort(pl.col("team") == ALL, "team", "stage_rank")


def stage_survival(spell_table: pl.LazyFrame, *, max_points: int = 120) -> pl.DataFrame:
    """Kaplan–Meier curves of time in stage, per team and stage (plus ``all``), for plots.

    Columns ``team, stage, stage_rank, days, survival`` (share of entries still in the
    stage after ``days``), at most ``max_points`` steps per curve (thinned evenly), each
    curve starting at ``(0, 1)``.

    Examples
    --------
    >>> sp = pl.LazyFrame({"team": ["T"] * 3, "stage": ["A"] * 3, "stage_rank": [0] * 3,
    ...     "days": [1.0, 2.0, 5.0], "exited": [True, True, False]})
    >>> stage_survival(sp).filter(pl.col("team") == "T")["survival"].round(3).to_list()
    [1.0, 0.667, 0.333]
    """
    return _survival(_cells(spell_table), max_points=max_points)


SURVIVAL_SCHEMA = {
    "team": pl.String,
    "stage": pl.String,
    "stage_rank": pl.Int64,
    "days": pl.Float64,
    "survival": pl.Float64,
}


def _survival(cells: list[Cell], *, max_points: int) -> pl.DataFrame:
    from statsmodels.duration.survfunc import SurvfuncRight

    keys, days_parts, surv_parts = [], [], []
    for key, days, exited in cells:
        if not exited.any():
            continue
        sf = SurvfuncRight(days, exited)
        times, surv = np.asarray(sf.surv_times), np.asarray(sf.surv_prob)
        if len(times) > max_points:
            keep = np.unique(np.linspace(0, len(times) - 1, max_points).round().astype(int))
            times, surv = times[keep], surv[keep]
        keys += [key] * (len(times) + 1)
        days_parts += [[0.0], times]
        surv_parts += [[1.0], surv]
    if not keys:
        return pl.DataFrame(schema=SURVIVAL_SCHEMA)
    team, stage, stage_rank = zip(*keys, strict=True)
    return pl.DataFrame(
        {
            "team": team,
            "stage": stage,
            "stage_rank": stage_rank,
            "days": np.concatenate(days_parts).astype(float),
            "survival": np.concatenate(surv_parts).astype(float),
        },
        schema=SURVIVAL_SCHEMA,
    )


def stage_conversion(spell_table: pl.LazyFrame, *, alpha: float = 0.05) -> pl.LazyFrame:
    """Per team and stage: how the entries into each stage ended.

    ``share_advanced = advanced / (entered - open)`` with a Wilson interval; null when
    no entry has ended yet.

    Examples
    --------
    >>> sp = pl.LazyFrame({"team": ["T"] * 3, "stage": ["A"] * 3, "stage_rank": [0] * 3,
    ...     "outcome": ["advanced", "lost", "open"]})
    >>> stage_conversion(sp).collect().select("team", "entered", "share_advanced").rows()
    [('T', 3, 0.5)]
    """
    aggs = [
        pl.len().cast(pl.Int64).alias("entered"),
        *(
            (pl.col("outcome") == o).sum().cast(pl.Int64).alias(o)
            for o in ("advanced", "lost", "moved_back", "open")
        ),
    ]
    per_team = spell_table.filter(pl.col("team").is_not_null()).group_by(
        "team", "stage", "stage_rank"
    )
    low, high = exprs.wilson_bounds("advanced", "decided", alpha=alpha)
    return (
        per_team.agg(aggs)
        .with_columns((pl.col("entered") - pl.col("open")).alias("decided"))
        .with_columns(exprs.ratio("advanced", "decided").alias("share_advanced"), low, high)
        .select(
            "team",
            "stage",
            "stage_rank",
            "entered",
            "advanced",
            "lost",
            "moved_back",
            "open",
            "decided",
            "share_advanced",
            "ci_low",
            "ci_high",
        )
        .sort("team", "stage_rank")
    )


def _close_dates(close_date_changes: pl.LazyFrame, as_of: datetime) -> pl.LazyFrame:
    """Per opportunity: pushes (moves later), the latest expected close date, changes seen."""
    by = ["changed_at", "close_date"]
    return (
        close_date_changes.filter(pl.col("changed_at") <= _lit_ts(as_of))
        .with_columns(
            pl.col("close_date").shift(1).over("opportunity_id", order_by=by).alias("previous")
        )
        .group_by("opportunity_id")
        .agg(
            (pl.col("close_date") > pl.col("previous"))
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
            .alias("close_date_pushes"),
            (pl.col("close_date") < pl.col("previous"))
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
            .alias("close_date_pulls"),
            pl.col("close_date").sort_by(by).last().alias("expected_close_date"),
        )
    )


def stalled_deals(
    opportunities: pl.LazyFrame,
    spell_table: pl.LazyFrame,
    durations: pl.DataFrame,
    reps: pl.LazyFrame,
    *,
    as_of: datetime,
    close_date_changes: pl.LazyFrame | None = None,
    min_exits: int = MIN_EXITS,
) -> pl.LazyFrame:
    """Every opportunity open at as-of, with its stage age and exception flags.

    Open at as-of: created at or before as-of, and not closed (or closed after as-of).
    The current stage is the latest entry seen; a deal with no stage history is in its
    ``stage`` since ``created_at``. ``stage_p80_days`` is the team's stall quantile of that
    stage (``durations.quantile_days``); null when the team's stage has fewer than
    ``min_exits`` exits or the curve never reaches it, and then ``stalled`` is null too.

    Examples
    --------
    >>> t = datetime(2026, 7, 1, tzinfo=UTC)
    >>> opps = pl.LazyFrame({"opportunity_id": ["a"], "owner_id": ["r"], "stage": ["A"],
    ...     "created_at": [t], "is_closed": [False], "closed_at": [None]},
    ...     schema_overrides={"closed_at": pl.Date})
    >>> reps = pl.LazyFrame({"rep_id": ["r"], "team": ["T"]})
    >>> sp = pl.LazyFrame(schema={"opportunity_id": pl.String, "stage": pl.String,
    ...     "entered_at": pl.Datetime("us", "UTC"), "is_current": pl.Boolean})
    >>> d = pl.DataFrame({"team": ["T"], "stage": ["A"], "exited": [20], "quantile_days": [3.0]})
    >>> stalled_deals(opps, sp, d, reps, as_of=datetime(2026, 7, 11, tzinfo=UTC)).collect(
    ...     ).select("days_in_stage", "stage_p80_days", "stalled", "close_date_pushes").row(0)
    (10.0, 3.0, True, None)
    """
    as_of_lit = _lit_ts(as_of)
    current = spell_table.filter(pl.col("is_current")).select(
        "opportunity_id", pl.col("stage").alias("_stage"), pl.col("entered_at").alias("_entered")
    )
    threshold = (
        durations.lazy()
        .filter(pl.col("team") != ALL)
        .select(
            "team",
            "stage",
            pl.when(pl.col("exited") >= min_exits)
            .then(pl.col("quantile_days"))
            .alias("stage_p80_days"),
        )
    )
    open_at = (pl.col("created_at") <= as_of_lit) & (
        ~pl.col("is_closed")
        | (
            pl.col("closed_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC") > as_of_lit
        ).fill_null(False)
    )
    people = reps.select(pl.col("rep_id").alias("owner_id"), pl.col("team").cast(pl.String))
    deals = (
        opportunities.filter(open_at)
        .select("opportunity_id", "owner_id", "stage", "created_at")
        .join(people, on="owner_id", how="left")
        .join(current, on="opportunity_id", how="left")
        .with_columns(
            pl.coalesce("_stage", "stage").alias("stage"),
            pl.coalesce("_entered", "created_at").alias("stage_entered_at"),
        )
        .with_columns(
            (
                (as_of_lit - pl.col("stage_entered_at")).dt.total_microseconds() / (DAY_S * 1e6)
            ).alias("days_in_stage")
        )
        .join(threshold, on=["team", "stage"], how="left")
        .with_columns((pl.col("days_in_stage") > pl.col("stage_p80_days")).alias("stalled"))
    )
    if close_date_changes is not None:
        deals = deals.join(_close_dates(close_date_changes, as_of), on="opportunity_id", how="left")
    else:
        deals = deals.with_columns(
            pl.lit(None, pl.Int64).alias("close_date_pushes"),
            pl.lit(None, pl.Int64).alias("close_date_pulls"),
            pl.lit(None, pl.Date).alias("expected_close_date"),
        )
    return (
        deals.with_columns(
            (pl.col("expected_close_date") < pl.lit(as_of.astimezone(UTC).date())).alias("past_due")
        )
        .select(
            "opportunity_id",
            "owner_id",
            "team",
            "stage",
            "stage_entered_at",
            "days_in_stage",
            "stage_p80_days",
            "stalled",
            "close_date_pushes",
            "close_date_pulls",
            "expected_close_date",
            "past_due",
        )
        .sort("team", "owner_id", "opportunity_id")
    )


def pipeline_exceptions(stalled: pl.LazyFrame, reps: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Per rep owning open deals: ``open_deals``, ``stalled``, ``pushed_twice_or_more``, ``past_due``.

    A count is null when none of the rep's deals has evidence for the flag (e.g. no close
    dates at all), never 0. ``name`` is the rep's name from ``reps`` (when given).

    Examples
    --------
    >>> s = pl.LazyFrame({"owner_id": ["r", "r"], "team": ["T", "T"],
    ...     "stalled": [True, None], "close_date_pushes": [2, 0], "past_due": [False, True]})
    >>> reps = pl.LazyFrame({"rep_id": ["r"], "name": ["Ann"], "team": ["T"]})
    >>> pipeline_exceptions(s, reps).collect().row(0)
    ('r', 'Ann', 'T', 2, 1, 1, 1)
    """

    def count(flag: pl.Expr) -> pl.Expr:
        return pl.when(flag.count() > 0).then(flag.fill_null(False).sum().cast(pl.Int64))

    out = stalled.group_by(pl.col("owner_id").alias("rep_id")).agg(
        pl.col("team").first(),
        pl.len().cast(pl.Int64).alias("open_deals"),
        count(pl.col("stalled")).alias("stalled"),
        count(pl.col("close_date_pushes") >= 2).alias("pushed_twice_or_more"),
        count(pl.col("past_due")).alias("past_due"),
    )
    if reps is not None and "name" in reps.collect_schema().names():
        out = out.join(reps.select("rep_id", "name"), on="rep_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("name"))
    return out.select(
        "rep_id", "name", "team", "open_deals", "stalled", "pushed_twice_or_more", "past_due"
    ).sort("team", "rep_id")


def stage_hygiene(
    stage_history: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    reps: pl.LazyFrame,
    *,
    as_of: datetime,
    order: StageOrder,
) -> pl.LazyFrame:
    """What the stage history says about CRM hygiene, per team and per rep (deal owner).

    Per opportunity with stage history: ``skipped_stage`` (a move forward over an open
    stage, e.g. Prospecting -> Proposal), ``went_backwards`` (a move to an earlier open
    stage) and, among closed deals, ``closed_not_in_history`` (the history never reaches a
    closed stage). Columns: ``level, team, rep_id, deals, skipped_stage,
    went_backwards, closed_deals, closed_not_in_history`` and the shares. These are not
    part of the hygiene score (its five components are fixed by the contract).

    Examples
    --------
    >>> t = [datetime(2026, 7, d, tzinfo=UTC) for d in (1, 2, 3)]
    >>> sh = pl.LazyFrame({"opportunity_id": ["a", "a", "b"], "stage": ["A", "C", "B"],
    ...     "entered_at": [t[0], t[1], t[0]]})
    >>> opps = pl.LazyFrame({"opportunity_id": ["a", "b"], "owner_id": ["r", "r"],
    ...     "is_closed": [False, True]})
    >>> reps = pl.LazyFrame({"rep_id": ["r"], "team": ["T"]})
    >>> out = stage_hygiene(sh, opps, reps, as_of=t[2], order=StageOrder(("A", "B", "C"), won=("W",)))
    >>> out.collect().select("level", "skipped_stage", "closed_not_in_history").rows()
    [('team', 1, 1), ('rep', 1, 1)]
    """
    return _stage_hygiene(_paths(stage_history, as_of), opportunities, reps, order=order)


def _stage_hygiene(
    path: pl.LazyFrame, opportunities: pl.LazyFrame, reps: pl.LazyFrame, *, order: StageOrder
) -> pl.LazyFrame:
    rank = order.rank()
    n_open = len(order.open)
    path = path.with_columns(
        pl.col("stage").replace_strict(rank, default=None, return_dtype=pl.Int64).alias("r")
    )
    step = pl.col("r") - _in_deal("r")
    both_open = (pl.col("r") < n_open) & (_in_deal("r") < n_open)
    per_deal = (
        path.with_columns(
            (both_open & (step > 1)).fill_null(False).alias("skip"),
            (both_open & (step < 0)).fill_null(False).alias("back"),
        )
        .group_by("opportunity_id")
        .agg(
            pl.col("skip").any().alias("skipped_stage"),
            pl.col("back").any().alias("went_backwards"),
            (pl.col("r") >= n_open).any().alias("reached_closed"),
        )
        .join(
            opportunities.select("opportunity_id", "owner_id", "is_closed"),
            on="opportunity_id",
            how="inner",
        )
        .join(
            reps.select(pl.col("rep_id").alias("owner_id"), pl.col("team").cast(pl.String)),
            on="owner_id",
            how="inner",
        )
    )
    aggs = [
        pl.len().cast(pl.Int64).alias("deals"),
        pl.col("skipped_stage").sum().cast(pl.Int64),
        pl.col("went_backwards").sum().cast(pl.Int64),
        pl.col("is_closed").sum().cast(pl.Int64).alias("closed_deals"),
        (pl.col("is_closed") & ~pl.col("reached_closed"))
        .sum()
        .cast(pl.Int64)
        .alias("closed_not_in_history"),
    ]
    team_rows = (
        per_deal.group_by("team")
        .agg(aggs)
        .with_columns(pl.lit("team").alias("level"), pl.lit(None, pl.String).alias("rep_id"))
    )
    rep_rows = (
        per_deal.group_by("team", pl.col("owner_id").alias("rep_id"))
        .agg(aggs)
        .with_columns(pl.lit("rep").alias("level"))
    )
    return (
        pl.concat([team_rows, rep_rows], how="diagonal")
        .with_columns(
            exprs.ratio("skipped_stage", "deals").alias("skipped_stage_share"),
            exprs.ratio("went_backwards", "deals").alias("went_backwards_share"),
            exprs.ratio("closed_not_in_history", "closed_deals").alias(
                "closed_not_in_history_share"
            ),
        )
        .select(
            "level",
            "team",
            "rep_id",
            "deals",
            "skipped_stage",
            "went_backwards",
            "closed_deals",
            "closed_not_in_history",
            "skipped_stage_share",
            "went_backwards_share",
            "closed_not_in_history_share",
        )
        .sort("team", "rep_id", nulls_last=False)
    )


PROCESS_TABLES = (
    "stage_durations",
    "stage_conversion",
    "stage_survival",
    "stalled_deals",
    "pipeline_exceptions",
    "stage_hygiene",
)


def process_audit(
    clean: dict[str, pl.LazyFrame],
    *,
    as_of: datetime | None = None,
    stall_quantile: float = STALL_QUANTILE,
    taxonomy: str | Path | None = None,
) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Every process-audit table that the clean tables allow (the pipeline's hook).

    Needs ``opportunities`` and ``stage_history``; ``close_date_changes`` is optional
    (without it pushes and past-due are null). ``as_of`` defaults to the latest timestamp
    in the data (:func:`analysis.periods.data_as_of`). Returns name -> table.
    """
    opps, history = clean.get("opportunities"), clean.get("stage_history")
    if opps is None or history is None:
        return {}
    if not 0 < stall_quantile < 1:
        from analysis.errors import BadInputError

        raise BadInputError(f"--stall-quantile must be between 0 and 1, got {stall_quantile}")
    changes = clean.get("close_date_changes")
    if as_of is None:
        from analysis.periods import data_as_of

        as_of = data_as_of(clean)
    reps = clean["reps"]
    path = _paths(history, as_of).collect().lazy()  # one sorted path for every table below
    order = _stage_order(path, opps, config=read_stage_config(taxonomy))
    spell_table = _spells(path, opps, reps, as_of=as_of, order=order).collect()
    cells = _cells(spell_table.lazy())  # the spells per (team, stage), for both KM tables
    durations = _durations(cells, stall_quantile=stall_quantile, alpha=0.05)
    stalled = stalled_deals(
        opps,
        spell_table.lazy(),
        durations,
        reps,
        as_of=as_of,
        close_date_changes=changes,
    ).collect()
    return {
        "stage_durations": durations,
        "stage_conversion": stage_conversion(spell_table.lazy()),
        "stage_survival": _survival(cells, max_points=120),
        "stalled_deals": stalled,
        "pipeline_exceptions": pipeline_exceptions(stalled.lazy(), reps),
        "stage_hygiene": _stage_hygiene(path, opps, reps, order=order),
    }
