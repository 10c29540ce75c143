"""The sample's previous quarter, with a planted rollout and a common trend (issue 14).

The quarter before the sample quarter is built from the sample quarter itself: every
row is moved back 13 weeks (91 days: same weekdays, same local hours) under new ids
(``P`` + the original id, leads and opportunities included), then thinned so that, from
the previous quarter to the sample quarter:

* every team's meeting volume grows by ``TREND`` (+10 %: season, a new quota);
* at the start of the sample quarter the two ``ROLLOUT`` teams start using a sequencer
  (the ``changes`` table): their meetings per BDR-week grow by a further
  ``VOLUME_EFFECT`` (+20 %); in EMEA, the team with poor CRM hygiene, won per meeting
  falls by ``CONVERSION_EFFECT`` (-27 %); in APAC (good hygiene) it does not change.

Only meetings and what hangs off them are thinned (their opportunities, stage history
and the activities on their leads); activities on no meeting's lead are thinned by
the trend alone. Rows that would land in the sample quarter are dropped (except an AE's
first touch, within 3 days, on a meeting booked at the very end of the previous quarter),
so every planted effect of the sample quarter is untouched. The previous quarter mirrors
the sample quarter closely, down to the deals still open at its end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from analysis.canonical.validate import parse_datetime_utc
from analysis.periods import Period

__all__ = ["ROLLOUT", "add_previous_quarter"]

SHIFT = timedelta(days=91)
TREND = 0.10
VOLUME_EFFECT = 0.20
CONVERSION_EFFECT = -0.27
#: change_id -> (name, team, effect on won per meeting)
ROLLOUT = {
    "sequencer-emea": ("Sales sequencer (EMEA)", "EMEA", CONVERSION_EFFECT),
    "sequencer-apac": ("Sales sequencer (APAC)", "APAC", 0.0),
}
_TRUE = ("true", "1")


def _shift_ts(column: str, cutoff: datetime) -> list[pl.Expr]:
    """The column moved back by SHIFT, written as UTC ``...Z`` (null stays null)."""
    shifted = parse_datetime_utc(pl.col(column)) - SHIFT
    return [
        shifted.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(column),
        (shifted >= pl.lit(cutoff)).fill_null(False).alias(f"_late_{column}"),
    ]


def _ids(*columns: str) -> list[pl.Expr]:
    return [(pl.lit("P") + pl.col(c)).alias(c) for c in columns]


def add_previous_quarter(
    tables: dict[str, pl.DataFrame], *, period: Period, seed: int
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """The sample tables extended with the previous quarter, plus a ``changes`` table.

    ``tables`` are the clean sample tables (all columns text). Returns the new tables
    and what was planted (for ``planted.json``).
    """
    rng = np.random.default_rng([seed, 1414])
    cutoff = datetime.combine(period.start, datetime.min.time(), tzinfo=UTC)
    reps = tables["reps"].select("rep_id", "team")
    opps = tables["opportunities"]
    won_opps = opps.filter(pl.col("is_won").str.to_lowercase().is_in(_TRUE))["opportunity_id"]
    meetings = tables["meetings"].join(
        reps.rename({"rep_id": "booked_by"}), on="booked_by", how="left"
    )
    meetings = meetings.with_columns(
        _won=pl.col("opportunity_id").is_in(won_opps.implode()).fill_null(False),
        _u=pl.Series(rng.random(meetings.height)),
    )
    treated = {team: effect for _, team, effect in ROLLOUT.values()}
    keep = np.zeros(meetings.height, dtype=bool)
    copies = np.zeros(meetings.height, dtype=np.int64)
    for team in sorted(meetings["team"].drop_nulls().unique().to_list()):
        rows = (meetings["team"] == team).to_numpy()
        u = meetings["_u"].to_numpy()[rows]
        won = meetings["_won"].to_numpy()[rows]
        volume = (1 + TREND) * ((1 + VOLUME_EFFECT) if team in treated else 1.0)
        n, w = rows.sum(), won.sum()
        # previous quarter: n / volume meetings with a won share of (w / n) / (1 + effect)
        target_wins = (w / volume) / (1 + treated.get(team, 0.0))
        p_won = target_wins / w if w else 0.0
        p_other = (n / volume - target_wins) / (n - w) if n > w else 0.0
        kept = np.where(won, u < min(p_won, 1.0), u < p_other)
        keep[np.flatnonzero(rows)] = kept
        # a won share above what the sample quarter holds: copy some won meetings twice
        extra = max(p_won - 1.0, 0.0)
        copies[np.flatnonzero(rows)] = np.where(won & (rng.random(rows.sum()) < extra), 1, 0)
    kept = meetings.filter(pl.Series(keep))
    doubled = meetings.filter(pl.Series(copies == 1))
    m_prev = pl.concat(
        [
            kept.with_columns(*_ids("meeting_id", "lead_id", "opportunity_id")),
            doubled.with_columns(
                (pl.lit("P2") + pl.col(c)).alias(c)
                for c in ("meeting_id", "lead_id", "opportunity_id")
            ),
        ]
    ).with_columns(*_shift_ts("booked_at", cutoff), *_shift_ts("scheduled_for", cutoff))
    m_prev = m_prev.filter(~pl.col("_late_booked_at"))

    # opportunities: those of kept meetings, and the rest thinned by the trend
    linked = tables["meetings"]["opportunity_id"].drop_nulls()
    unlinked_keep = pl.Series(rng.random(opps.height) < 1 / (1 + TREND))
    o_kept = pl.concat(
        [
            opps.filter(
                pl.col("opportunity_id").is_in(kept["opportunity_id"].drop_nulls().implode())
            ).with_columns(*_ids("opportunity_id")),
            opps.filter(
                pl.col("opportunity_id").is_in(doubled["opportunity_id"].drop_nulls().implode())
            ).with_columns((pl.lit("P2") + pl.col("opportunity_id")).alias("opportunity_id")),
            opps.filter(
                unlinked_keep & ~pl.col("opportunity_id").is_in(linked.implode())
            ).with_columns(*_ids("opportunity_id")),
        ]
    )
    close = pl.col("closed_at").str.to_date("%Y-%m-%d", strict=False) - SHIFT
    o_prev = (
        o_kept.with_columns(*_shift_ts("created_at", cutoff))
        .with_columns(
            _close=close,
        )
        .filter(~pl.col("_late_created_at") & ~(pl.col("_close") >= period.start).fill_null(False))
        .with_columns(closed_at=pl.col("_close").dt.strftime("%Y-%m-%d"))
    )
    o_ids = o_prev["opportunity_id"]
    m_prev = m_prev.with_columns(
        opportunity_id=pl.when(pl.col("opportunity_id").is_in(o_ids.implode())).then(
            pl.col("opportunity_id")
        )
    )
    stage_prev = (
        pl.concat(
            [
                tables["stage_history"].with_columns(*_ids("opportunity_id")),
                tables["stage_history"].with_columns(
                    (pl.lit("P2") + pl.col("opportunity_id")).alias("opportunity_id")
                ),
            ]
        )
        .filter(pl.col("opportunity_id").is_in(o_ids.implode()))
        .with_columns(*_shift_ts("entered_at", cutoff))
        .filter(~pl.col("_late_entered_at"))
    )

    # activities: those on kept meetings' leads or kept opportunities; others by the trend
    acts = tables["activities"]
    kept_leads = kept["lead_id"].drop_nulls()
    meeting_leads = tables["meetings"]["lead_id"].drop_nulls()
    on_lead = pl.col("lead_id").is_in(meeting_leads.implode()).fill_null(False)
    on_opp = pl.col("opportunity_id").is_in(linked.implode()).fill_null(False)
    keep_lead = pl.col("lead_id").is_in(kept_leads.implode()).fill_null(False)
    keep_opp = (
        pl.col("opportunity_id")
        .is_in(kept["opportunity_id"].drop_nulls().implode())
        .fill_null(False)
    )
    u = pl.Series(rng.random(acts.height))
    a_prev = (
        acts.with_columns(_u=u)
        .filter(
            pl.when(on_lead | on_opp)
            .then(keep_lead | keep_opp)
            .otherwise(pl.col("_u") < 1 / (1 + TREND))
        )
        .with_columns(*_ids("activity_id", "lead_id", "opportunity_id"))
        .with_columns(
            opportunity_id=pl.when(pl.col("opportunity_id").is_in(o_ids.implode())).then(
                pl.col("opportunity_id")
            )
        )
        .with_columns(*_shift_ts("occurred_at", cutoff))
    )
    # An AE's first touch on a meeting booked at the end of the previous quarter may fall
    # in the first days of the sample quarter: keep those (only those) few rows.
    touch_leads = m_prev["lead_id"].drop_nulls()
    grace = pl.lit(cutoff + timedelta(days=3)).dt.cast_time_unit("us")
    a_prev = a_prev.filter(
        ~pl.col("_late_occurred_at")
        | (
            pl.col("lead_id").is_in(touch_leads.implode()).fill_null(False)
            & (parse_datetime_utc(pl.col("occurred_at")) < grace)
        )
    )

    def own(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        cols = tables[name].columns
        return pl.concat([frame.select(cols), tables[name]])

    start = (cutoff).strftime("%Y-%m-%dT%H:%M:%SZ")
    changes = pl.DataFrame(
        {
            "change_id": list(ROLLOUT),
            "name": [v[0] for v in ROLLOUT.values()],
            "started_at": [start] * len(ROLLOUT),
            "team": [v[1] for v in ROLLOUT.values()],
            "rep_id": [None] * len(ROLLOUT),
        },
        schema={c: pl.String for c in ("change_id", "name", "started_at", "team", "rep_id")},
    )
    out = {
        **tables,  # tables the previous quarter does not copy pass through unchanged
        "reps": tables["reps"],
        "activities": own(a_prev, "activities"),
        "meetings": own(m_prev, "meetings"),
        "opportunities": own(o_prev, "opportunities"),
        "stage_history": own(stage_prev, "stage_history"),
    }
    previous = Period.quarter(_previous_label(period))
    planted = {
        "previous_quarter": previous.label,
        "trend": TREND,
        "changes": {
            cid: {
                "team": team,
                "started_at": start,
                "meetings_per_bdr_week_effect": VOLUME_EFFECT,
                "won_per_meeting_effect": effect,
            }
            for cid, (_, team, effect) in ROLLOUT.items()
        },
        "rows_added": {name: out[name].height - tables[name].height for name in out},
    }
    return {**out, "changes": changes}, planted


def _previous_label(period: Period) -> str:
    """The label of the quarter before ``period`` (which starts a quarter).

    Examples
    --------
    >>> _previous_label(Period.quarter("2026Q1"))
    '2025Q4'
    """
    year, q = period.start.year, (period.start.month - 1) // 3 + 1
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"
