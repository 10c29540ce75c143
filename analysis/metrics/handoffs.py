"""BDR -> AE handoffs: how fast the AE first touches a booked meeting's lead (CONTRACT section 4).

Definitions
-----------
* A meeting belongs to the period by ``booked_at`` read in ``tz`` (local date in
  ``[start, end)``).
* ``first_ae_touch_at``: the first activity of the meeting's ``owner_id`` (the AE) on the
  meeting's lead **or** opportunity (same ``lead_id`` or same ``opportunity_id``), at or
  after ``booked_at``. Activities of other reps, or before ``booked_at``, do not count.
* Touches are looked for in all the data, also after the period end: a meeting booked
  late in the quarter and touched in the first days of the next one has its real latency.
  Only a meeting with **no** touch in the data can be censored.
* ``as_of`` (CONTRACT 5.1): the moment the data was exported. Touches are looked for up
  to as-of (also after the period end), and meetings booked after it are not in the
  snapshot. Without ``as_of``, every touch in the data counts and censoring is at the
  period end.
* ``within_24h`` (``sla_hours``, default 24, a heuristic): true when touched within the
  SLA; false when touched later, or not touched and the SLA elapsed before as-of;
  **null (censored)** when not touched (yet) and booked less than ``sla_hours`` before
  as-of, since the answer is not known yet. A meeting without an AE (``owner_id``
  null) can never be touched: it counts as untouched.

Scale: activities are first cut to those at or after the period start and semi-joined to the (AE, lead)
and (AE, opportunity) pairs of the period's meetings, so only candidate touches are
sorted; two forward ``join_asof`` (by AE + lead, by AE + opportunity) then pick the first
touch without ever multiplying rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import polars as pl

from analysis.metrics._common import in_window, period_bounds
from analysis.metrics.stats import km_shares
from analysis.periods import Period

#: Columns of ``handoff_summary`` as produced here (the registry adds the trust columns).
HANDOFF_SUMMARY_SCHEMA = {
    "level": pl.String,
    "team": pl.String,
    "bdr_id": pl.String,
    "meetings": pl.Int64,
    "touched": pl.Int64,
    "median_latency_hours": pl.Float64,
    "n_decided": pl.Int64,
    "n_within_24h": pl.Int64,
    "share_within_24h": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_censored": pl.Int64,
}

__all__ = ["HANDOFF_SUMMARY_SCHEMA", "handoff_summary", "handoffs"]

_TS = pl.Datetime("us", "UTC")


def _first_touch(meetings: pl.LazyFrame, acts: pl.LazyFrame, key: str, alias: str) -> pl.LazyFrame:
    left = (
        meetings.filter(pl.col(key).is_not_null() & pl.col("ae_id").is_not_null())
        .select("meeting_id", "ae_id", key, "booked_at")
        .sort("booked_at", "meeting_id")
    )
    pairs = left.select(pl.col("ae_id").alias("rep_id"), key).unique()
    right = (
        acts.filter(pl.col(key).is_not_null())
        .select("rep_id", key, pl.col("occurred_at").alias(alias))
        .join(pairs, on=["rep_id", key], how="semi")
        .sort(alias)
    )
    return left.join_asof(
        right,
        left_on="booked_at",
        right_on=alias,
        by_left=["ae_id", key],
        by_right=["rep_id", key],
        strategy="forward",
        check_sortedness=False,
    ).select("meeting_id", alias)


def handoffs(
    meetings: pl.LazyFrame,
    activities: pl.LazyFrame,
    *,
    period: Period,
    tz: str = "UTC",
    sla_hours: float = 24.0,
    reps: pl.LazyFrame | None = None,
    touch_types: Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> pl.LazyFrame:
    """One row per meeting booked in the period, sorted by ``booked_at``, ``meeting_id``.

    Columns: ``meeting_id, bdr_id, ae_id, team`` (the BDR's team from ``reps``; null
    without ``reps``), ``status, booked_at, first_ae_touch_at, latency_hours,
    within_24h, censored, followup_hours`` (the latency, or for an untouched meeting the
    hours from booking to as-of: its censoring time). ``touch_types`` optionally restricts which activity types
    count as a touch (default: any).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> m = pl.LazyFrame({"meeting_id": ["m1"], "booked_by": ["b"], "owner_id": ["a"],
    ...     "booked_at": [datetime(2026, 7, 1, 9, tzinfo=UTC)], "status": ["held"],
    ...     "lead_id": ["l1"], "opportunity_id": [None]},
    ...     schema_overrides={"opportunity_id": pl.String})
    >>> acts = pl.LazyFrame({"rep_id": ["a"], "occurred_at": [datetime(2026, 7, 1, 15, tzinfo=UTC)],
    ...     "activity_type": ["call"], "lead_id": ["l1"], "opportunity_id": [None]},
    ...     schema_overrides={"opportunity_id": pl.String})
    >>> out = handoffs(m, acts, period=Period.quarter("2026Q3")).collect()
    >>> out.select("latency_hours", "within_24h").row(0)
    (6.0, True)
    """
    start, end = period_bounds(period, tz)
    horizon = as_of if as_of is not None else end
    horizon_lit = pl.lit(horizon).dt.cast_time_unit("us")
    in_snapshot = pl.col("booked_at") <= horizon_lit if as_of is not None else pl.lit(True)
    cohort = meetings.filter(in_window("booked_at", start, end) & in_snapshot).select(
        "meeting_id",
        pl.col("booked_by").alias("bdr_id"),
        pl.col("owner_id").alias("ae_id"),
        pl.col("status").cast(pl.String),
        "booked_at",
        "lead_id",
        "opportunity_id",
    )
    ae_ids = cohort.select(pl.col("ae_id").alias("rep_id")).drop_nulls().unique()
    keep = (pl.col("occurred_at") >= start) & (
        pl.col("lead_id").is_not_null() | pl.col("opportunity_id").is_not_null()
    )
    if as_of is not None:
        keep = keep & (pl.col("occurred_at") <= horizon_lit)
    if touch_types is not None:
        keep = keep & pl.col("activity_type").cast(pl.String).is_in(list(touch_types))
    acts = (
        activities.filter(keep)
        .select("rep_id", "occurred_at", "lead_id", "opportunity_id")
        .join(ae_ids, on="rep_id", how="semi")
    )
    by_lead = _first_touch(cohort, acts, "lead_id", "_touch_lead")
    by_opp = _first_touch(cohort, acts, "opportunity_id", "_touch_opp")

    sla = pl.duration(microseconds=round(sla_hours * 3_600_000_000))
    touch = pl.col("first_ae_touch_at")
    out = (
        cohort.join(by_lead, on="meeting_id", how="left")
        .join(by_opp, on="meeting_id", how="left")
        .with_columns(first_ae_touch_at=pl.min_horizontal("_touch_lead", "_touch_opp").cast(_TS))
        .with_columns(
            latency_hours=(touch - pl.col("booked_at")).dt.total_microseconds().cast(pl.Float64)
            / 3_600_000_000.0,
        )
        .with_columns(
            within_24h=pl.when(touch.is_not_null())
            .then(pl.col("latency_hours") <= sla_hours)
            .when(horizon_lit - pl.col("booked_at") >= sla)
            .then(pl.lit(False))
            .otherwise(pl.lit(None, pl.Boolean))
        )
        .with_columns(
            censored=pl.col("within_24h").is_null(),
            followup_hours=pl.coalesce(
                "latency_hours",
                (horizon_lit - pl.col("booked_at")).dt.total_microseconds().cast(pl.Float64)
                / 3_600_000_000.0,
            ),
        )
    )
    if reps is not None:
        teams = reps.select(pl.col("rep_id").alias("bdr_id"), pl.col("team").cast(pl.String))
        out = out.join(teams, on="bdr_id", how="left")
    else:
        out = out.with_columns(team=pl.lit(None, pl.String))
    return out.select(
        "meeting_id",
        "bdr_id",
        "ae_id",
        "team",
        "status",
        "booked_at",
        "first_ae_touch_at",
        "latency_hours",
        "within_24h",
        "censored",
        "followup_hours",
    ).sort("booked_at", "meeting_id")


def handoff_summary(
    handoffs: pl.LazyFrame, *, sla_hours: float = 24.0, alpha: float = 0.05
) -> pl.DataFrame:
    """Per BDR (``level = "bdr"``) and per team (``level = "team"``, ``bdr_id`` null).

    ``share_within_24h`` (= 1 - S(24 h)) and ``median_latency_hours`` are Kaplan-Meier
    estimates with every untouched meeting censored at as-of (``followup_hours``), so
    the slowest meetings, still untouched, are not dropped. ``ci_low, ci_high`` bound
    the share (see ``stats.km_cumulative_share``; every group is fitted at once by
    ``stats.km_shares``, which equals it group by group). Counts: ``meetings, touched, n_decided`` (within_24h
    known), ``n_within_24h, n_censored`` (within_24h unknown yet). Aggregated lazily to
    one row per (group, follow-up time, touched) before the fits. Sorted by level (team
    rows first), team, bdr_id.

    Examples
    --------
    >>> h = pl.LazyFrame({"team": ["t"] * 3, "bdr_id": ["b"] * 3,
    ...     "first_ae_touch_at": [1, None, None], "latency_hours": [2.0, None, None],
    ...     "followup_hours": [2.0, 30.0, 5.0], "within_24h": [True, False, None]})
    >>> out = handoff_summary(h).select("level", "share_within_24h", "n_censored")
    >>> out.with_columns(pl.col("share_within_24h").round(3)).rows()
    [('team', 0.333, 1), ('bdr', 0.333, 1)]
    """
    h = handoffs.with_columns(pl.col("team").cast(pl.String))
    counts = [
        pl.len().cast(pl.Int64).alias("meetings"),
        pl.col("first_ae_touch_at").is_not_null().sum().cast(pl.Int64).alias("touched"),
        pl.col("within_24h").count().cast(pl.Int64).alias("n_decided"),
        pl.col("within_24h").fill_null(False).sum().cast(pl.Int64).alias("n_within_24h"),
        pl.col("within_24h").is_null().sum().cast(pl.Int64).alias("n_censored"),
    ]
    sums = ["meetings", "touched", "n_decided", "n_within_24h", "n_censored"]
    cells = (
        h.group_by(
            "team",
            "bdr_id",
            "followup_hours",
            pl.col("first_ae_touch_at").is_not_null().alias("_event"),
        )
        .agg(pl.len().alias("_w"), *counts)
        .collect()
    )
    parts = []
    levels = (("team", ["team"]), ("bdr", ["team", "bdr_id"]))
    for level, keys in levels:
        # one KM per group, all groups at once (stats.km_shares = SurvfuncRight per group)
        groups = (
            cells.group_by(keys)
            .agg(pl.col(sums).sum())
            .with_columns(level=pl.lit(level), _g=pl.int_range(pl.len(), dtype=pl.Int64))
        )
        rows = cells.join(groups.select(*keys, "_g"), on=keys, how="left", nulls_equal=True)
        km = km_shares(
            rows["_g"].to_numpy(),
            rows["followup_hours"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            rows["_event"].cast(pl.Int64).to_numpy(),
            rows["_w"].cast(pl.Float64).to_numpy(),
            n_groups=groups.height,
            at=sla_hours,
            alpha=alpha,
        )
        parts.append(
            groups.with_columns(
                *(
                    pl.Series(name, km[key], dtype=pl.Float64, nan_to_null=True)
                    for name, key in (
                        ("median_latency_hours", "median"),
                        ("share_within_24h", "share"),
                        ("ci_low", "low"),
                        ("ci_high", "high"),
                    )
                ),
                **({} if level == "bdr" else {"bdr_id": pl.lit(None, pl.String)}),
            )
        )
    schema = HANDOFF_SUMMARY_SCHEMA
    return pl.concat([p.select(list(schema)).cast(schema) for p in parts], how="vertical").sort(
        pl.col("level").replace_strict({"team": 0, "bdr": 1}, return_dtype=pl.Int8),
        "team",
        "bdr_id",
        nulls_last=False,
    )
