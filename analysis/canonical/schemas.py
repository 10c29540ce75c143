"""The canonical tables, declared once (CONTRACT section 2).

These dataframely schemas describe the *clean* tables after parsing and
quarantine. The reader derives its parsing plan from them, and tests (and the
pipeline boundary) validate clean frames against them.
"""

from __future__ import annotations

import dataframely as dy
import polars as pl

ROLES = ["BDR", "AE", "AM", "MANAGER"]
ROLE_ALIASES = {"SDR": "BDR"}
MEETING_STATUSES = ["scheduled", "held", "no_show", "canceled"]
MEETING_STATUS_ALIASES = {
    "cancelled": "canceled",
    "no-show": "no_show",
    "noshow": "no_show",
    "no show": "no_show",
    "completed": "held",
}
#: Canonical activity types produced by the adapters and the sample generator.
ACTIVITY_TYPES = ["call", "email", "meeting", "task", "note", "stage_change", "linkedin", "sms"]

UTC = "UTC"


class Reps(dy.Schema):
    """One row per rep. ``timezone`` is filled with the default zone when empty."""

    rep_id = dy.String(nullable=False, primary_key=True)
    name = dy.String(nullable=True)
    role = dy.Enum(ROLES, nullable=False)
    team = dy.String(nullable=False)
    manager_id = dy.String(nullable=True)
    timezone = dy.String(nullable=False)


class Activities(dy.Schema):
    """The sales activity log: calls, emails, meetings, tasks, notes, stage changes."""

    activity_id = dy.String(nullable=False, primary_key=True)
    rep_id = dy.String(nullable=False)
    occurred_at = dy.Datetime(nullable=False, time_zone=UTC)
    activity_type = dy.String(nullable=False)
    outcome = dy.String(nullable=True)
    subject = dy.String(nullable=True)
    notes = dy.String(nullable=True)
    lead_id = dy.String(nullable=True)
    opportunity_id = dy.String(nullable=True)
    duration_s = dy.Float64(nullable=True)


class Meetings(dy.Schema):
    """Meetings booked by BDRs for AEs."""

    meeting_id = dy.String(nullable=False, primary_key=True)
    booked_by = dy.String(nullable=False)
    owner_id = dy.String(nullable=True)
    booked_at = dy.Datetime(nullable=False, time_zone=UTC)
    scheduled_for = dy.Datetime(nullable=True, time_zone=UTC)
    status = dy.Enum(MEETING_STATUSES, nullable=False)
    lead_id = dy.String(nullable=True)
    opportunity_id = dy.String(nullable=True)


class Opportunities(dy.Schema):
    """Opportunities (deals). ``closed_at`` is a date."""

    opportunity_id = dy.String(nullable=False, primary_key=True)
    owner_id = dy.String(nullable=False)
    sourced_by = dy.String(nullable=True)
    created_at = dy.Datetime(nullable=False, time_zone=UTC)
    stage = dy.String(nullable=False)
    is_closed = dy.Bool(nullable=False)
    is_won = dy.Bool(nullable=False)
    closed_at = dy.Date(nullable=True)
    amount = dy.Float64(nullable=True)
    lead_source = dy.String(nullable=True)
    segment = dy.String(nullable=True)
    lost_reason = dy.String(nullable=True)
    spine_situation = dy.String(nullable=True)
    spine_pain = dy.String(nullable=True)
    spine_impact = dy.String(nullable=True)
    spine_next_steps = dy.String(nullable=True)
    spine_economic_buyer = dy.String(nullable=True)


class StageHistory(dy.Schema):
    """One row per stage an opportunity entered."""

    opportunity_id = dy.String(nullable=False)
    stage = dy.String(nullable=False)
    entered_at = dy.Datetime(nullable=False, time_zone=UTC)


class CloseDateChanges(dy.Schema):
    """One row per value an opportunity's expected close date took (optional; CONTRACT 5.3)."""

    opportunity_id = dy.String(nullable=False)
    close_date = dy.Date(nullable=False)
    changed_at = dy.Datetime(nullable=False, time_zone=UTC)


class Changes(dy.Schema):
    """A change (rollout, process change) and its scope: a whole team or one rep (CONTRACT 5.4).

    Several rows may share a ``change_id`` (a rollout reaching teams at different times),
    so the table has no primary key: exact copies are quarantined as ``duplicate``.
    """

    change_id = dy.String(nullable=False)
    name = dy.String(nullable=False)
    started_at = dy.Datetime(nullable=False, time_zone=UTC)
    team = dy.String(nullable=True)
    rep_id = dy.String(nullable=True)


#: table name -> schema, in dependency order (reps first: others reference it).
TABLES: dict[str, type[dy.Schema]] = {
    "reps": Reps,
    "activities": Activities,
    "meetings": Meetings,
    "opportunities": Opportunities,
    "stage_history": StageHistory,
    "close_date_changes": CloseDateChanges,
    "changes": Changes,
}
REQUIRED_TABLES = ("reps",)

#: Columns that must reference a known rep, or the row is quarantined as ``unknown_rep``.
REP_REFERENCES: dict[str, str] = {
    "activities": "rep_id",
    "meetings": "booked_by",
    "opportunities": "owner_id",
    "changes": "rep_id",  # nullable: a change scoped to a team names no rep
}

SPINE_FIELDS = [
    "spine_situation",
    "spine_pain",
    "spine_impact",
    "spine_next_steps",
    "spine_economic_buyer",
]


def polars_schema(table: str) -> pl.Schema:
    """The clean polars schema of a canonical table.

    Examples
    --------
    >>> polars_schema("stage_history")["entered_at"]
    Datetime(time_unit='us', time_zone='UTC')
    """
    return pl.Schema({name: col.dtype for name, col in TABLES[table].columns().items()})


def required_columns(table: str) -> list[str]:
    """Columns that must be present in an input file (the non-nullable ones).

    Examples
    --------
    >>> required_columns("reps")
    ['rep_id', 'role', 'team']
    """
    optional_with_default = {("reps", "timezone")}
    return [
        name
        for name, col in TABLES[table].columns().items()
        if not col.nullable and (table, name) not in optional_with_default
    ]
