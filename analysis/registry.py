"""The registry of output tables: one entry per table ``metrics`` writes (dbt-manifest style).

Every output table is declared here once: its ``name``, ``grain`` (what one row is), the
``producer`` (the function that builds it), the canonical input tables it ``needs``, the
output tables it reads (``upstream``), a one-line ``description`` and its ``columns``
with their exact polars types, in the order they are written. Everything else reads
this list:

- the metrics run (:mod:`analysis.pipeline`) refuses to write an unregistered table;
- ``quality.json``'s ``unavailable`` is :func:`unavailable` (a table whose inputs are missing);
- the report loader (:mod:`analysis.reports.data`) loads the registered tables;
- ``decision-stack tables [--json]`` prints it (CONTRACT 5.6);
- ``tests/test_registry.py`` runs ``metrics`` and checks that every written parquet is
  registered with exactly its columns and types, and every registered table is written
  or listed unavailable.

Registering a new table is one :class:`TableSpec` entry in :data:`TABLES` (see
docs/architecture.md for a worked example). Columns whose type depends on the taxonomy
(the ``pl.Enum`` of ``rule_id``, ``decision``, ``decision_class``) are declared as
:class:`FromTaxonomy` and resolved for a given taxonomy (the default one unless told).

Examples
--------
>>> spec = get("decision_load")
>>> spec.grain
'rep and local day with at least one decision'
>>> list(spec.schema())[:3]
['rep_id', 'team', 'day']
>>> unavailable({"reps", "activities"})["bdr_funnel"]
['meetings', 'opportunities']
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analysis.canonical.schemas import ROLES
from analysis.decisions.fatigue import CURVE_SCHEMA, FATIGUE_SCHEMA
from analysis.impact.run import IMPACT_SCHEMA
from analysis.impact.trend import TREND_COLUMNS
from analysis.metrics.handoffs import HANDOFF_SUMMARY_SCHEMA
from analysis.metrics.stages import DURATION_SCHEMA

__all__ = [
    "TABLES",
    "FromTaxonomy",
    "TableSpec",
    "check_frame",
    "get",
    "manifest",
    "names",
    "unavailable",
]

_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class FromTaxonomy:
    """A column whose ``pl.Enum`` categories come from the taxonomy (``rule_id``, ``decision``...)."""

    column: str


ColumnType = pl.DataType | type[pl.DataType] | FromTaxonomy

#: trust stamps added to tables with a rep column (team and rep hygiene)
REP_TRUST: dict[str, ColumnType] = {"data_trusted": pl.Boolean, "rep_data_trusted": pl.Boolean}
#: trust stamp added to team-level tables
TEAM_TRUST: dict[str, ColumnType] = {"data_trusted": pl.Boolean}


@dataclass(frozen=True)
class TableSpec:
    """One output table: what a row is, who makes it, what it needs and its exact columns.

    ``needs_any``: the table is computed from whichever of ``needs`` (besides ``reps``)
    exist, and is unavailable only when none does. ``lazy``: too large to load eagerly in
    the reports (scanned instead). ``command``: the command that writes it.
    """

    name: str
    grain: str
    producer: str
    needs: tuple[str, ...]
    description: str
    columns: Mapping[str, ColumnType]
    upstream: tuple[str, ...] = ()
    needs_any: bool = False
    lazy: bool = False
    command: str = "metrics"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def schema(self, taxonomy: Any = None) -> pl.Schema:
        """The exact polars schema written, taxonomy-dependent enums resolved.

        ``taxonomy`` is a loaded :class:`~analysis.decisions.taxonomy.Taxonomy`, or
        ``None`` for the default taxonomy.
        """
        resolved: dict[str, Any] = {}
        dtypes: dict[str, pl.DataType] | None = None
        for name, dtype in self.columns.items():
            if isinstance(dtype, FromTaxonomy):
                if dtypes is None:
                    dtypes = _taxonomy_dtypes(taxonomy)
                dtype = dtypes[dtype.column]
            resolved[name] = dtype
        return pl.Schema(resolved)

    def lacking(self, present: Collection[str]) -> list[str]:
        """The input tables missing from ``present`` that make this table unavailable."""
        optional = [t for t in self.needs if t != "reps"]
        missing = [t for t in optional if t not in present]
        if self.needs_any:
            return missing if len(missing) == len(optional) else []
        return missing

    def to_dict(self, taxonomy: Any = None) -> dict[str, Any]:
        """The manifest entry: name, grain, needs, columns [{name, type}], and the rest."""
        return {
            "name": self.name,
            "grain": self.grain,
            "needs": list(self.needs),
            "columns": [{"name": n, "type": str(t)} for n, t in self.schema(taxonomy).items()],
            "upstream": list(self.upstream),
            "producer": self.producer,
            "command": self.command,
            "description": self.description,
        }


def _taxonomy_dtypes(taxonomy: Any) -> dict[str, pl.DataType]:
    from analysis.decisions.classify import decision_dtypes
    from analysis.decisions.taxonomy import load_taxonomy

    return dict(decision_dtypes(taxonomy if taxonomy is not None else load_taxonomy(None)))


# ----------------------------------------------------------------------------------------
# The registry. To add a table: append one TableSpec (columns in the order written).
# ----------------------------------------------------------------------------------------
_SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        name="decisions",
        grain="activity in the period",
        producer="analysis.decisions.classify:classify_activities",
        needs=("reps", "activities"),
        upstream=(),
        description="each activity classified by the taxonomy's first matching rule, with its rep-local day and order in that day",
        columns={
            "activity_id": pl.String,
            "rep_id": pl.String,
            "team": pl.String,
            "role": pl.Enum(ROLES),
            "day": pl.Date,
            "seq_in_day": pl.Int32,
            "decision": FromTaxonomy("decision"),
            "decision_class": FromTaxonomy("decision_class"),
            "rule_id": FromTaxonomy("rule_id"),
            "occurred_at": _TS,
            "activity_type": pl.String,
            "outcome": pl.String,
            "subject": pl.String,
            "quality": pl.Boolean,
            "local_hour": pl.Int8,
        },
        lazy=True,
    ),
    TableSpec(
        name="decision_load",
        grain="rep and local day with at least one decision",
        producer="analysis.decisions.load:decision_load",
        needs=("reps", "activities"),
        upstream=("decisions",),
        description="decisions per rep-day by class, and whether the day is over the fatigue threshold",
        columns={
            "rep_id": pl.String,
            "team": pl.String,
            "day": pl.Date,
            "decisions": pl.Int64,
            "pattern_recognition": pl.Int64,
            "judgment": pl.Int64,
            "unclassified": pl.Int64,
            "classified": pl.Int64,
            "over_threshold": pl.Boolean,
        },
    ),
    TableSpec(
        name="rep_load",
        grain="rep with at least one decision",
        producer="analysis.decisions.load:rep_load_summary",
        needs=("reps", "activities"),
        upstream=("decision_load", "hygiene"),
        description="each rep's daily load, judgment and automatable shares over the period",
        columns={
            "rep_id": pl.String,
            "team": pl.String,
            "days_active": pl.Int64,
            "decisions": pl.Int64,
            "classified": pl.Int64,
            "mean_daily_decisions": pl.Float64,
            "median_daily_decisions": pl.Float64,
            "p90_daily_decisions": pl.Float64,
            "days_over_threshold": pl.Int64,
            "share_days_over_threshold": pl.Float64,
            "judgment_share": pl.Float64,
            "automatable_share": pl.Float64,
            "automatable_ci_low": pl.Float64,
            "automatable_ci_high": pl.Float64,
            **REP_TRUST,
        },
    ),
    TableSpec(
        name="taxonomy_coverage",
        grain="team",
        producer="analysis.decisions.classify:taxonomy_coverage",
        needs=("reps", "activities"),
        upstream=("decisions",),
        description="share of each team's activities that a taxonomy rule classified",
        columns={
            "team": pl.String,
            "decisions": pl.Int64,
            "classified": pl.Int64,
            "unclassified": pl.Int64,
            "coverage": pl.Float64,
        },
    ),
    TableSpec(
        name="unmatched_shapes",
        grain="activity shape no rule matched (run-wide)",
        producer="analysis.decisions.classify:unmatched_shapes",
        needs=("reps", "activities"),
        upstream=("decisions",),
        description="the most common shapes of unclassified activities, to extend the taxonomy",
        columns={
            "activity_type": pl.String,
            "outcome": pl.String,
            "subject_shape": pl.String,
            "n": pl.Int64,
            "share": pl.Float64,
        },
    ),
    TableSpec(
        name="fatigue",
        grain="team, plus one row with team = all",
        producer="analysis.decisions.fatigue:fatigue",
        needs=("reps", "activities"),
        upstream=("decisions", "hygiene"),
        description="fatigue verdict within rep-day and clock hour: shape (threshold, gradual, none), threshold and interval, slope per 10 decisions",
        columns={**FATIGUE_SCHEMA, **TEAM_TRUST},
    ),
    TableSpec(
        name="fatigue_curve",
        grain="team and bin of the decision's order in the day",
        producer="analysis.decisions.fatigue:fatigue_tables",
        needs=("reps", "activities"),
        upstream=("decisions",),
        description="decision quality by order in the day: raw share and adjusted_quality within rep-day (the curve the report plots)",
        columns=dict(CURVE_SCHEMA),
    ),
    TableSpec(
        name="hygiene",
        grain="team (rep_id null), and rep within team",
        producer="analysis.metrics.hygiene:hygiene",
        needs=("reps", "opportunities", "activities"),
        upstream=(),
        description="0-100 CRM data completeness and consistency score, and whether the data is trusted",
        columns={
            "level": pl.String,
            "team": pl.String,
            "rep_id": pl.String,
            "stage_consistent": pl.Float64,
            "stage_consistent_n": pl.Int64,
            "lost_with_reason": pl.Float64,
            "lost_with_reason_n": pl.Int64,
            "spine_complete": pl.Float64,
            "spine_complete_n": pl.Int64,
            "calls_with_notes": pl.Float64,
            "calls_with_notes_n": pl.Int64,
            "activities_linked": pl.Float64,
            "activities_linked_n": pl.Int64,
            "n_components": pl.Int64,
            "score": pl.Float64,
            "trusted": pl.Boolean,
        },
        needs_any=True,
    ),
    TableSpec(
        name="bdr_funnel",
        grain="BDR",
        producer="analysis.metrics.funnel:bdr_funnel",
        needs=("reps", "meetings", "opportunities"),
        upstream=("hygiene",),
        description="wins per booked meeting per BDR with intervals, won by the outcome horizon (censored at as-of), and the Holm-corrected flag for meetings turning into few wins",
        columns={
            "rep_id": pl.String,
            "team": pl.String,
            "meetings_booked": pl.Int64,
            "meetings_held": pl.Int64,
            "meetings_no_show": pl.Int64,
            "show_rate": pl.Float64,
            "opportunities": pl.Int64,
            "won": pl.Int64,
            "lost": pl.Int64,
            "won_per_meeting": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "shrunk_won_per_meeting": pl.Float64,
            "team_median_won_per_meeting": pl.Float64,
            "team_median_excl_rep": pl.Float64,
            "team_median_meetings_booked": pl.Float64,
            "disqualification_rate": pl.Float64,
            "won_by_horizon": pl.Float64,
            "won_by_horizon_ci_low": pl.Float64,
            "won_by_horizon_ci_high": pl.Float64,
            "others_won_by_horizon": pl.Float64,
            "evidence": pl.String,
            "flag": pl.Boolean,
            "flag_p_value": pl.Float64,
            "flag_p_adjusted": pl.Float64,
            "flag_reason": pl.String,
            **REP_TRUST,
        },
    ),
    TableSpec(
        name="handoffs",
        grain="meeting booked in the period",
        producer="analysis.metrics.handoffs:handoffs",
        needs=("reps", "meetings", "activities"),
        upstream=("hygiene",),
        description="hours from booking to the AE's first touch, censored while untouched",
        columns={
            "meeting_id": pl.String,
            "bdr_id": pl.String,
            "ae_id": pl.String,
            "team": pl.String,
            "status": pl.String,
            "booked_at": _TS,
            "first_ae_touch_at": _TS,
            "latency_hours": pl.Float64,
            "within_24h": pl.Boolean,
            "censored": pl.Boolean,
            "followup_hours": pl.Float64,
            **REP_TRUST,
        },
    ),
    TableSpec(
        name="handoff_summary",
        grain="team (level = team) and BDR within team (level = bdr)",
        producer="analysis.metrics.handoffs:handoff_summary",
        needs=("reps", "meetings", "activities"),
        upstream=("handoffs", "hygiene"),
        description="share of meetings touched within 24 h and median latency (Kaplan-Meier, censored at as-of), per team and per BDR",
        columns={**HANDOFF_SUMMARY_SCHEMA, **REP_TRUST},
    ),
    TableSpec(
        name="skill_gaps",
        grain="rep who owns opportunities",
        producer="analysis.metrics.skill_gaps:skill_gaps",
        needs=("reps", "opportunities"),
        upstream=("hygiene",),
        description="win rates shrunk toward the team, compared with the team's top performer (ratio interval and gap verdict)",
        columns={
            "rep_id": pl.String,
            "team": pl.String,
            "role": pl.String,
            "closed": pl.Int64,
            "won": pl.Int64,
            "open": pl.Int64,
            "win_rate": pl.Float64,
            "shrunk_win_rate": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "top_performer_rate": pl.Float64,
            "ratio_to_top": pl.Float64,
            "ratio_ci_low": pl.Float64,
            "ratio_ci_high": pl.Float64,
            "gap_verdict": pl.String,
            "evidence": pl.String,
            "rank_group": pl.Int64,
            "is_top_performer": pl.Boolean,
            "amount_weighted_win_rate": pl.Float64,
            "adjusted_win_rate": pl.Float64,
            "adjusted_ratio_to_top": pl.Float64,
            "raw_ratio_to_top": pl.Float64,
            "mix_note": pl.String,
            "adjust_method": pl.String,
            "prior_method": pl.String,
            "prior_mean": pl.Float64,
            "prior_strength": pl.Float64,
            **REP_TRUST,
        },
    ),
    TableSpec(
        name="team_summary",
        grain="team (every team of reps)",
        producer="analysis.metrics.team_summary:team_summary",
        needs=("reps",),
        upstream=(
            "decision_load",
            "taxonomy_coverage",
            "fatigue",
            "bdr_funnel",
            "handoff_summary",
            "skill_gaps",
            "hygiene",
            "stage_durations",
            "pipeline_exceptions",
        ),
        description="every headline figure a team report states (reports format these, "
        "never compute them); null where the source table is unavailable or has no evidence",
        columns={
            "team": pl.String,
            "rep_days": pl.Int64,
            "decisions": pl.Int64,
            "classified": pl.Int64,
            "pattern_recognition": pl.Int64,
            "judgment": pl.Int64,
            "median_daily_decisions": pl.Float64,
            "p90_daily_decisions": pl.Float64,
            "share_rep_days_over_threshold": pl.Float64,
            "judgment_share": pl.Float64,
            "automatable_share": pl.Float64,
            "automatable_ci_low": pl.Float64,
            "automatable_ci_high": pl.Float64,
            "taxonomy_coverage": pl.Float64,
            "fatigue_threshold_estimate": pl.Int64,
            "bdrs": pl.Int64,
            "flagged_bdrs": pl.Int64,
            "handoff_meetings": pl.Int64,
            "handoff_share_within_24h": pl.Float64,
            "handoff_median_latency_hours": pl.Float64,
            "handoff_n_censored": pl.Int64,
            "reps_compared": pl.Int64,
            "reps_too_few": pl.Int64,
            "top_performer_rep_id": pl.String,
            "top_performer_role": pl.String,
            "top_performer_rate": pl.Float64,
            "top_performer_ci_low": pl.Float64,
            "top_performer_ci_high": pl.Float64,
            "hygiene_score": pl.Float64,
            "trusted": pl.Boolean,
            "slowest_stage": pl.String,
            "slowest_stage_median_days": pl.Float64,
            "open_deals": pl.Int64,
            "stalled_deals": pl.Int64,
            "pushed_twice_or_more": pl.Int64,
            "past_due_deals": pl.Int64,
        },
    ),
    # --- process audit (analysis/metrics/stages.py; close_date_changes is optional) -----
    TableSpec(
        name="stage_durations",
        grain="team and open stage, plus team = all",
        producer="analysis.metrics.stages:stage_durations",
        needs=("reps", "opportunities", "stage_history"),
        description="Kaplan–Meier time in stage, deals still in it censored at as-of: median with interval, p80 (null where never reached)",
        columns=dict(DURATION_SCHEMA),
    ),
    TableSpec(
        name="stage_conversion",
        grain="team and open stage",
        producer="analysis.metrics.stages:stage_conversion",
        needs=("reps", "opportunities", "stage_history"),
        description="how entries into each stage ended: advanced, lost, moved back, still open; share advanced of the decided with a Wilson interval",
        columns={
            "team": pl.String,
            "stage": pl.String,
            "stage_rank": pl.Int64,
            "entered": pl.Int64,
            "advanced": pl.Int64,
            "lost": pl.Int64,
            "moved_back": pl.Int64,
            "open": pl.Int64,
            "decided": pl.Int64,
            "share_advanced": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    ),
    TableSpec(
        name="stage_survival",
        grain="team (and all), open stage and step of the Kaplan–Meier curve",
        producer="analysis.metrics.stages:stage_survival",
        needs=("reps", "opportunities", "stage_history"),
        description="the Kaplan–Meier curves of time in stage the report plots (at most 120 steps each)",
        columns={
            "team": pl.String,
            "stage": pl.String,
            "stage_rank": pl.Int64,
            "days": pl.Float64,
            "survival": pl.Float64,
        },
    ),
    TableSpec(
        name="stalled_deals",
        grain="opportunity open at as-of",
        producer="analysis.metrics.stages:stalled_deals",
        needs=("reps", "opportunities", "stage_history"),
        upstream=("stage_durations",),
        description="each open deal's days in its stage against the team's stall quantile, close-date pushes and past-due flag",
        columns={
            "opportunity_id": pl.String,
            "owner_id": pl.String,
            "team": pl.String,
            "stage": pl.String,
            "stage_entered_at": _TS,
            "days_in_stage": pl.Float64,
            "stage_p80_days": pl.Float64,
            "stalled": pl.Boolean,
            "close_date_pushes": pl.Int64,
            "close_date_pulls": pl.Int64,
            "expected_close_date": pl.Date,
            "past_due": pl.Boolean,
        },
    ),
    TableSpec(
        name="pipeline_exceptions",
        grain="rep owning open deals",
        producer="analysis.metrics.stages:pipeline_exceptions",
        needs=("reps", "opportunities", "stage_history"),
        upstream=("stalled_deals",),
        description="per rep: open deals, stalled, pushed twice or more, past due (null where there is no evidence)",
        columns={
            "rep_id": pl.String,
            "name": pl.String,
            "team": pl.String,
            "open_deals": pl.Int64,
            "stalled": pl.Int64,
            "pushed_twice_or_more": pl.Int64,
            "past_due": pl.Int64,
        },
    ),
    TableSpec(
        name="stage_hygiene",
        grain="team (rep_id null), and rep within team",
        producer="analysis.metrics.stages:stage_hygiene",
        needs=("reps", "opportunities", "stage_history"),
        description="deals whose stage history skips a stage, goes backwards, or is closed without reaching a closed stage",
        columns={
            "level": pl.String,
            "team": pl.String,
            "rep_id": pl.String,
            "deals": pl.Int64,
            "skipped_stage": pl.Int64,
            "went_backwards": pl.Int64,
            "closed_deals": pl.Int64,
            "closed_not_in_history": pl.Int64,
            "skipped_stage_share": pl.Float64,
            "went_backwards_share": pl.Float64,
            "closed_not_in_history_share": pl.Float64,
        },
    ),
)

_SPECS += (
    TableSpec(
        name="team_trend",
        grain="team and metric (empty unless the data covers the previous quarter)",
        producer="analysis.impact.trend:team_trend",
        needs=("reps", "activities", "meetings", "opportunities"),
        needs_any=True,
        description="each headline figure against the previous quarter, change with its interval",
        columns=dict(TREND_COLUMNS),
    ),
)
_IMPACT_NEEDS = ("reps", "changes", "activities", "meetings", "opportunities")
_SPECS += (
    TableSpec(
        name="impact",
        grain="change and metric",
        producer="analysis.impact.run:impact_tables",
        needs=_IMPACT_NEEDS,
        needs_any=True,
        command="impact",
        description="difference in differences of each change on each metric, with controls",
        columns=dict(IMPACT_SCHEMA),
    ),
    TableSpec(
        name="impact_weekly",
        grain="change, metric and week relative to the start",
        producer="analysis.impact.did:event_study",
        needs=_IMPACT_NEEDS,
        needs_any=True,
        command="impact",
        upstream=("impact",),
        description="event study: the effect week by week (week -1 is the reference)",
        columns={
            "change_id": pl.String,
            "metric": pl.String,
            "week": pl.Int64,
            "estimate": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    ),
    TableSpec(
        name="impact_changes",
        grain="change",
        producer="analysis.impact.run:run_impact",
        needs=("reps", "changes"),
        command="impact",
        description="each change's scope, first start and the hygiene of its treated teams",
        columns={
            "change_id": pl.String,
            "name": pl.String,
            "first_start": _TS,
            "last_start": _TS,
            "teams": pl.List(pl.String),
            "n_reps": pl.Int64,
            "slug": pl.String,
            "hygiene_score": pl.Float64,
            "trusted": pl.Boolean,
            "untrusted_teams": pl.List(pl.String),
        },
    ),
)

#: name -> :class:`TableSpec`, in the order ``metrics`` writes them
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _SPECS}
assert len(TABLES) == len(_SPECS), "a table is registered twice"


def get(name: str) -> TableSpec:
    """The registry entry of ``name`` (``KeyError`` naming the known tables if unregistered)."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a registered output table ({', '.join(TABLES)})") from None


def names(*, command: str = "metrics", eager: bool | None = None) -> tuple[str, ...]:
    """Registered table names written by ``command``; ``eager=True`` drops the lazy ones.

    Examples
    --------
    >>> "decisions" in names(), "decisions" in names(eager=True)
    (True, False)
    """
    return tuple(
        s.name
        for s in TABLES.values()
        if s.command == command and (eager is None or s.lazy != eager)
    )


def unavailable(present: Collection[str], *, command: str = "metrics") -> dict[str, list[str]]:
    """Table -> the missing input tables, for every registered table that cannot be computed.

    ``present`` are the canonical tables found in the data folder.

    Examples
    --------
    >>> sorted(unavailable({"reps", "opportunities"}))[:3]
    ['bdr_funnel', 'decision_load', 'decisions']
    >>> "hygiene" in unavailable({"reps", "opportunities"})
    False
    """
    out = {}
    for spec in TABLES.values():
        if spec.command != command:
            continue
        lacking = spec.lacking(present)
        if lacking:
            out[spec.name] = lacking
    return out


def check_frame(name: str, schema: Mapping[str, Any], *, taxonomy: Any = None) -> list[str]:
    """Differences between a written table's schema and its registry entry (empty: equal).

    Examples
    --------
    >>> check_frame("taxonomy_coverage", {"team": pl.String})
    ['missing columns: decisions, classified, unclassified, coverage']
    """
    expected = get(name).schema(taxonomy)
    got = dict(schema)
    problems = []
    missing = [c for c in expected if c not in got]
    extra = [c for c in got if c not in expected]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"unregistered columns: {', '.join(extra)}")
    for column, dtype in expected.items():
        if column in got and got[column] != dtype:
            problems.append(f"{column}: written {got[column]}, registered {dtype}")
    if not missing and not extra and list(got) != list(expected):
        problems.append(f"column order: written {list(got)}, registered {list(expected)}")
    return problems


def manifest(*, taxonomy: Any = None, tables: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The registry as a JSON-ready list (what ``decision-stack tables --json`` prints).

    Examples
    --------
    >>> entry = manifest(tables=["taxonomy_coverage"])[0]
    >>> sorted(entry)[:4], entry["columns"][0]
    (['columns', 'command', 'description', 'grain'], {'name': 'team', 'type': 'String'})
    """
    chosen = list(TABLES) if tables is None else list(tables)
    return [get(name).to_dict(taxonomy) for name in chosen]
