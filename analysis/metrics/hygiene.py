"""CRM hygiene per team and per rep, and the trust gate other tables carry (CONTRACT section 4).

Components (each a share 0-1 with its ``_n``, the rows it applies to)
--------------------------------------------------------------------
From opportunities (attributed to ``owner_id``'s rep and team):

* ``stage_consistent``: stage text agrees with ``is_closed`` / ``is_won`` / ``closed_at``
  (``exprs.stage_consistent``); every opportunity.
* ``lost_with_reason``: closed-lost opportunities with a lost reason.
* ``spine_complete``: all five SPINE fields captured; every opportunity.

From activities (attributed to ``rep_id``):

* ``calls_with_notes``: calls with notes.
* ``activities_linked``: activities with a lead or an opportunity.

``score`` = 100 x the mean of the components that have evidence: a component with
``n == 0`` (or whose table is missing) is null and left out, never counted as 0. On a
rep row, a component resting on fewer than ``min_records`` (10) rows is null too: one
row is no verdict. ``n_components`` counts the judged components (of 5).
``trusted = score >= threshold`` when at least ``min_components`` (3) of the 5 were
judged, else **null** (not judged: too little evidence to call the data trustworthy or
not); the 70 default is a **heuristic** (vendor blogs, not a standard), a keyword
parameter. Team rows pool the team's rows (they are not a mean of rep scores).

``stage_consistent`` (``exprs.stage_consistent``) counts a deal closed before it was
created, and won/lost/closed flags that contradict the stage, as inconsistent.

Rows in the period
------------------
Activities by the UTC date of ``occurred_at`` (hygiene is a share over a quarter, so the
few hours of zone offset at the period's edges do not matter; this avoids a per-zone
conversion on the largest table). Opportunities created in the period (UTC date), closed
in it (``closed_at``), or open at its end.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time

import polars as pl

from analysis.metrics import exprs
from analysis.metrics._common import date_in_period, in_window
from analysis.periods import Period

__all__ = ["activity_counts", "hygiene", "with_trust"]

OPP_COMPONENTS = ["stage_consistent", "lost_with_reason", "spine_complete"]
ACT_COMPONENTS = ["calls_with_notes", "activities_linked"]
COMPONENTS = [*OPP_COMPONENTS, *ACT_COMPONENTS]
#: component -> (table, input columns of which at least one must exist to measure it)
COMPONENT_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "lost_with_reason": ("opportunities", ("lost_reason",)),
    "spine_complete": (
        "opportunities",
        (
            "spine_situation",
            "spine_pain",
            "spine_impact",
            "spine_next_steps",
            "spine_economic_buyer",
        ),
    ),
    "calls_with_notes": ("activities", ("notes",)),
    "activities_linked": ("activities", ("lead_id", "opportunity_id")),
}


def unmeasured_components(input_columns: dict[str, Collection[str]]) -> list[str]:
    """Components whose source columns are absent from every present input table.

    Examples
    --------
    >>> unmeasured_components({"opportunities": ["stage"], "activities": ["notes", "lead_id"]})
    ['lost_with_reason', 'spine_complete']
    """
    return [
        component
        for component, (table, columns) in COMPONENT_SOURCES.items()
        if table in input_columns and not set(columns) & set(input_columns[table])
    ]


_COUNT_COLS = [f"{c}_{s}" for c in COMPONENTS for s in ("ok", "n")]


def _utc(d: object) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)  # type: ignore[arg-type]


def _opportunity_counts(opportunities: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    start, end = _utc(period.start), _utc(period.end)
    end_lit = pl.lit(end).dt.cast_time_unit("us")
    created_in = in_window("created_at", start, end)
    closed_in = pl.col("is_closed") & date_in_period("closed_at", period)
    open_at_end = (pl.col("created_at") < end_lit) & (
        ~pl.col("is_closed") | (pl.col("closed_at") >= period.end).fill_null(False)
    )
    flags = {
        "stage_consistent": exprs.stage_consistent(),
        "lost_with_reason": exprs.lost_with_reason(),
        "spine_complete": exprs.spine_complete(),
    }
    return (
        opportunities.filter((created_in | closed_in | open_at_end).fill_null(False))
        .group_by(pl.col("owner_id").alias("rep_id"))
        .agg([e for name, flag in flags.items() for e in exprs.component_counts(flag, name)])
    )


def activity_counts(activities: pl.LazyFrame, *, period: Period) -> pl.LazyFrame:
    """Per rep, the activity components' ``<name>_ok`` / ``<name>_n`` counts in the period.

    Counts add up: the counts of consecutive slices of the activities, stacked, can be
    passed to :func:`hygiene` as ``activity_counts`` (one read of the log serves all).

    Examples
    --------
    >>> acts = pl.LazyFrame({"rep_id": ["a"], "activity_type": ["call"], "notes": [None],
    ...     "occurred_at": [datetime(2026, 7, 2, tzinfo=UTC)], "lead_id": ["l"],
    ...     "opportunity_id": [None]}, schema_overrides={"opportunity_id": pl.String,
    ...     "notes": pl.String})
    >>> activity_counts(acts, period=Period.quarter("2026Q3")).collect().row(0)
    ('a', 0, 1, 1, 1)
    """
    flags = {
        "calls_with_notes": exprs.calls_with_notes(),
        "activities_linked": exprs.activity_linked(),
    }
    return (
        activities.filter(in_window("occurred_at", _utc(period.start), _utc(period.end)))
        .group_by("rep_id")
        .agg([e for name, flag in flags.items() for e in exprs.component_counts(flag, name)])
    )


def hygiene(
    opportunities: pl.LazyFrame | None,
    activities: pl.LazyFrame | None,
    reps: pl.LazyFrame,
    *,
    period: Period,
    threshold: float = 70.0,
    unmeasured: Collection[str] = (),
    min_components: int = 3,
    min_records: int = 10,
    counted_activities: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Hygiene rows: one per team (``rep_id`` null) and one per rep with rows in scope.

    ``counted_activities`` (:func:`activity_counts`, possibly one frame per slice
    stacked) replaces ``activities`` when the log was already counted.

    ``unmeasured`` names components whose source columns the input does not have at
    all (e.g. an export without lost reasons): they are null with ``n = 0`` and left
    out of the score (no evidence), instead of scoring 0.

    Columns: ``level`` (team / rep), ``team``, ``rep_id``, each component share and its
    ``_n``, ``n_components`` (components with evidence), ``score``, ``trusted``. Sorted by
    team, then the team row, then rep_id. Reps with no row in scope are not listed; a
    missing table leaves its components null with ``n = 0``.

    Examples
    --------
    >>> acts = pl.LazyFrame({"rep_id": ["a", "a"], "activity_type": ["call", "email"],
    ...     "occurred_at": [datetime(2026, 7, 2, tzinfo=UTC)] * 2, "notes": ["x", None],
    ...     "lead_id": ["l1", None], "opportunity_id": [None, None]},
    ...     schema_overrides={"opportunity_id": pl.String})
    >>> reps = pl.LazyFrame({"rep_id": ["a"], "team": ["t"], "role": ["AE"]})
    >>> out = hygiene(None, acts, reps, period=Period.quarter("2026Q3")).collect()
    >>> out.select("rep_id", "activities_linked", "score", "n_components", "trusted").rows()
    [(None, 0.5, 75.0, 2, None), ('a', None, None, 0, None)]
    """
    parts = []
    if opportunities is not None:
        parts.append(_opportunity_counts(opportunities, period))
    if activities is not None:
        parts.append(activity_counts(activities, period=period))
    elif counted_activities is not None:
        parts.append(counted_activities)
        activities = counted_activities  # its components are measured
    people = reps.select("rep_id", pl.col("team").cast(pl.String))
    if not parts:
        counts = pl.LazyFrame(schema={"rep_id": pl.String, **dict.fromkeys(_COUNT_COLS, pl.Int64)})
    else:
        counts = (
            pl.concat(parts, how="diagonal")
            .group_by("rep_id")
            .agg(pl.col(c).sum() for c in _COUNT_COLS if _in_parts(c, opportunities, activities))
        )
        for c in _COUNT_COLS:
            if not _in_parts(c, opportunities, activities):
                counts = counts.with_columns(pl.lit(0, pl.Int64).alias(c))
    per_rep = counts.join(people, on="rep_id", how="inner").select("team", "rep_id", *_COUNT_COLS)
    per_team = (
        per_rep.group_by("team")
        .agg(pl.col(c).sum() for c in _COUNT_COLS)
        .with_columns(rep_id=pl.lit(None, pl.String))
    )
    rows = pl.concat(
        [
            per_team.with_columns(level=pl.lit("team")).select(
                "level", "team", "rep_id", *_COUNT_COLS
            ),
            per_rep.with_columns(level=pl.lit("rep")).select(
                "level", "team", "rep_id", *_COUNT_COLS
            ),
        ],
        how="vertical",
    )
    # a rep's component resting on fewer than min_records rows is not judged (null)
    enough = [(pl.col("level") == "team") | (pl.col(f"{c}_n") >= min_records) for c in COMPONENTS]
    shares = [
        pl.when(ok).then(exprs.share(f"{c}_ok", f"{c}_n")).alias(c)
        for c, ok in zip(COMPONENTS, enough, strict=True)
    ]
    blanked = [pl.lit(0, pl.Int64).alias(f"{c}_{k}") for c in unmeasured for k in ("ok", "n")]
    return (
        rows.with_columns(pl.col(_COUNT_COLS).cast(pl.Int64))
        .with_columns(blanked)
        .with_columns(shares)
        .with_columns(
            n_components=pl.sum_horizontal(pl.col(c).is_not_null() for c in COMPONENTS).cast(
                pl.Int64
            ),
            score=exprs.hygiene_score(COMPONENTS),
        )
        .with_columns(
            trusted=pl.when(pl.col("n_components") >= min_components).then(
                pl.col("score") >= threshold
            )
        )
        .select(
            "level",
            "team",
            "rep_id",
            *[x for c in COMPONENTS for x in (c, f"{c}_n")],
            "n_components",
            "score",
            "trusted",
        )
        .sort("team", "rep_id", nulls_last=False)
    )


def _in_parts(col: str, opportunities: object, activities: object) -> bool:
    name = col.rsplit("_", 1)[0]
    if name in OPP_COMPONENTS:
        return opportunities is not None
    return activities is not None


def with_trust(
    table: pl.LazyFrame, hygiene: pl.LazyFrame, *, rep_col: str = "rep_id"
) -> pl.LazyFrame:
    """Add ``data_trusted`` (the team's hygiene ``trusted`` flag) and ``rep_data_trusted``.

    The team comes from the table's ``team`` column when it has one, else from the
    hygiene rep rows. Null when the team (or rep) has no hygiene evidence: unknown, not
    untrusted. Row order of ``table`` is kept.

    Examples
    --------
    >>> h = pl.LazyFrame({"team": ["t", "t"], "rep_id": [None, "a"], "trusted": [False, True]})
    >>> t = pl.LazyFrame({"rep_id": ["a", "z"], "x": [1, 2]})
    >>> with_trust(t, h).collect().select("rep_id", "data_trusted", "rep_data_trusted").rows()
    [('a', False, True), ('z', None, None)]
    """
    names = table.collect_schema().names()
    rep_rows = hygiene.filter(pl.col("rep_id").is_not_null()).select(
        pl.col("rep_id").alias("_rep"),
        pl.col("team").alias("_rep_team"),
        pl.col("trusted").alias("rep_data_trusted"),
    )
    team_rows = hygiene.filter(pl.col("rep_id").is_null()).select(
        pl.col("team").alias("_team"), pl.col("trusted").alias("data_trusted")
    )
    out = table.with_row_index("_row").join(rep_rows, left_on=rep_col, right_on="_rep", how="left")
    team_expr = pl.col("team").cast(pl.String) if "team" in names else pl.col("_rep_team")
    out = out.with_columns(_team=team_expr).join(team_rows, on="_team", how="left")
    return out.sort("_row").select(*names, "data_trusted", "rep_data_trusted")
