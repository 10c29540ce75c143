"""Salesforce: weekly Data Export / Data Loader / report CSVs -> canonical tables.

``Task`` and ``Event`` become activities, ``Event`` also gives meetings,
``Opportunity`` gives opportunities, ``OpportunityHistory`` gives stage history
(consecutive rows with the same stage collapsed to the first) and close-date
changes (consecutive rows with the same ``CloseDate`` collapsed likewise), and ``User`` with
``UserRole`` give reps. The mapping works on *source frames*: every value as
text, headers normalised by :func:`~analysis.ingest.common.header_key` (so
``OwnerId``, ``OWNERID`` and Fivetran's ``owner_id`` are one column). The
warehouse reader (:mod:`analysis.ingest.sql`) builds the same source frames and
calls the same mappers.

Heuristics (labelled; see docs/ingest.md):

* Task type: ``TaskSubtype`` when present, else ``Type``, else a ``CallType`` /
  call duration -> call, an ``EmailMessageId`` -> email, a subject starting with
  ``Call`` / ``Email:`` / ``List Email:`` -> call / email, else task.
* Times: Salesforce datetimes are UTC. Task time: ``CompletedDateTime``, else
  ``CreatedDate``, else ``ActivityDate`` (a date alone is midnight in ``tz``).
* Event start: ``StartDateTime``, else ``ActivityDateTime``, else ``ActivityDate``.
* Child events (``IsChild = 1``, invitee copies) are rejected as ``child_event``;
  events and tasks owned by a queue (``OwnerId`` prefix ``00G``) as ``queue_owner``;
  ``ShowAs = OutOfOffice`` events as ``out_of_office``.
* Meetings are the events booked by a BDR: ``booked_by`` = a custom booker
  field (``Booked_By__c``, ``SDR__c``, ``BDR__c``, ``Set_By__c``) or ``CreatedById``;
  other events are counted as ``not_booked_by_bdr``.
* Meeting status: a custom status field (``Meeting_Status__c``, ``Status__c``,
  ``Outcome__c``, ``Meeting_Outcome__c``) when it holds a known status; else
  deleted (``IsDeleted = 1``) or a subject starting ``Canceled:`` -> canceled;
  else start before the export time (latest ``SystemModstamp``) -> held; else scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from analysis.errors import BadInputError
from analysis.ingest.common import (
    MALFORMED_ROW,
    REASON,
    ROW,
    IngestPlan,
    Part,
    SourceObject,
    bool_unparseable,
    field,
    first_reason,
    footer_reason,
    has_field,
    header_key,
    map_meeting_status,
    map_outcome,
    normalise_headers,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_number,
    read_csv_text,
    sf_id,
    text,
    unparseable,
    write_ingest,
)
from analysis.ingest.roles import (
    READ_COLUMNS,
    UNASSIGNED_TEAM,
    apply_roles,
    infer_roles,
    load_roles,
    read_reps_csv,
)

OBJECTS = ("Task", "Event", "Opportunity", "OpportunityHistory", "User", "UserRole")
_SUBTYPE = {
    "call": "call",
    "email": "email",
    "listemail": "email",
    "task": "task",
    "cadence": "task",
    "linkedin": "linkedin",
}
_TYPE = {
    "call": "call",
    "email": "email",
    "meeting": "meeting",
    "sms": "sms",
    "linkedin": "linkedin",
    "task": "task",
    "other": "task",
    "to_do": "task",
    "todo": "task",
}
BOOKER_FIELDS = ("bookedbyc", "sdrc", "bdrc", "setbyc", "bookedbyidc")
STATUS_FIELDS = ("meetingstatusc", "statusc", "outcomec", "meetingoutcomec")
SOURCED_BY_FIELDS = ("sourcedbyc", "sdrc", "bdrc", "sourcedbysdrc", "bookedbyc")


@dataclass(frozen=True)
class SourceFrame:
    """One Salesforce object as text: normalised headers plus ``_source_row``."""

    location: str
    frame: pl.LazyFrame
    from_csv: bool = True

    @property
    def columns(self) -> list[str]:
        """The normalised column names."""
        return self.frame.collect_schema().names()


def read_salesforce_dir(in_dir: Path) -> tuple[dict[str, SourceFrame], dict[str, int]]:
    """Find the object CSVs in ``in_dir`` (``Task.csv``, ``opportunity_history.csv`` ...).

    Returns the source frames and the other CSVs with their row counts (not used).
    """
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise BadInputError("input folder not found", file=in_dir)
    wanted = {header_key(o): o for o in OBJECTS}
    frames: dict[str, SourceFrame] = {}
    unused: dict[str, int] = {}
    for path in sorted(in_dir.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        obj = wanted.get(header_key(path.stem))
        if obj is None:
            unused[path.name] = int(read_csv_text(path).select(pl.len()).collect().item())
        elif obj in frames:
            raise BadInputError(
                f"two files for {obj}: {Path(frames[obj].location).name} and {path.name}", file=path
            )
        else:
            frames[obj] = SourceFrame(str(path), normalise_headers(read_csv_text(path)))
    if not frames:
        raise BadInputError(
            f"no Salesforce object CSVs ({', '.join(o + '.csv' for o in OBJECTS)})", file=in_dir
        )
    return frames, unused


# ------------------------------------------------------------ shared rules --
def _base_reasons(src: SourceFrame) -> list[tuple[pl.Expr, str]]:
    cols = src.columns
    pairs: list[tuple[pl.Expr, str]] = []
    if src.from_csv:
        footer = footer_reason([c for c in cols if c != ROW])
        pairs += [
            (footer == MALFORMED_ROW, MALFORMED_ROW),
            (footer == "blank_line", "blank_line"),
            (footer == "report_footer", "report_footer"),
        ]
    if "fivetrandeleted" in cols:
        pairs.append((parse_bool(pl.col("fivetrandeleted")), "fivetran_deleted"))
    return pairs


def _what_opportunity(cols: list[str]) -> pl.Expr:
    what = sf_id(field(cols, "whatid"))
    return pl.when(what.str.starts_with("006")).then(what)


def task_type(cols: list[str]) -> pl.Expr:
    """Canonical activity type of a Task (see the module docstring for the order)."""
    subtype = (
        text(field(cols, "tasksubtype"))
        .str.to_lowercase()
        .replace_strict(_SUBTYPE, default=None, return_dtype=pl.String)
    )
    typ = text(field(cols, "type")).str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    typ = typ.replace_strict(_TYPE, default=None, return_dtype=pl.String)
    subject = text(field(cols, "subject")).str.to_lowercase()
    duration = parse_number(field(cols, "calldurationinseconds"))
    return (
        pl.when(subtype.is_not_null())
        .then(subtype)
        .when(typ.is_not_null())
        .then(typ)
        .when(text(field(cols, "calltype")).is_not_null() | (duration.fill_null(0) > 0))
        .then(pl.lit("call"))
        .when(sf_id(field(cols, "emailmessageid")).is_not_null())
        .then(pl.lit("email"))
        .when(subject.str.contains(r"^(call\b|llamada\b)"))
        .then(pl.lit("call"))
        .when(
            subject.str.contains(r"^(email|e-mail|list email|email de lista|correo)\b.*:|^email\b")
        )
        .then(pl.lit("email"))
        .otherwise(pl.lit("task"))
    )


def map_tasks(src: SourceFrame, *, tz: str = "UTC") -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Task -> (annotated source, activities rows). Pure and lazy."""
    cols = src.columns
    raw_when = pl.coalesce(
        [field(cols, "completeddatetime"), field(cols, "createddate"), field(cols, "activitydate")]
    )
    occurred = pl.coalesce(
        [
            parse_datetime(
                pl.coalesce([field(cols, "completeddatetime"), field(cols, "createddate")]),
                tz="UTC",
            ),
            parse_datetime(field(cols, "activitydate"), tz=tz),  # a date alone: local midnight
        ]
    )
    owner = sf_id(field(cols, "ownerid"))
    reasons = [
        *_base_reasons(src),
        (parse_bool(field(cols, "isdeleted")), "deleted"),
        (owner.str.starts_with("00G"), "queue_owner"),
        (unparseable(raw_when, occurred), "unparseable_occurred_at"),
    ]
    annotated = src.frame.with_columns(first_reason(*reasons).alias(REASON))
    rows = annotated.filter(pl.col(REASON).is_null()).select(
        sf_id(field(cols, "id")).alias("activity_id"),
        owner.alias("rep_id"),
        occurred.alias("occurred_at"),
        task_type(cols).alias("activity_type"),
        map_outcome(pl.coalesce([field(cols, "calldisposition"), field(cols, "status")])).alias(
            "outcome"
        ),
        field(cols, "subject").alias("subject"),
        field(cols, "description").alias("notes"),
        sf_id(field(cols, "whoid")).alias("lead_id"),
        _what_opportunity(cols).alias("opportunity_id"),
        parse_number(field(cols, "calldurationinseconds")).alias("duration_s"),
    )
    return annotated, rows


def _event_start(cols: list[str], tz: str) -> tuple[pl.Expr, pl.Expr]:
    raw = pl.coalesce(
        [field(cols, "startdatetime"), field(cols, "activitydatetime"), field(cols, "activitydate")]
    )
    timed = parse_datetime(
        pl.coalesce([field(cols, "startdatetime"), field(cols, "activitydatetime")]), tz="UTC"
    )
    return raw, pl.coalesce([timed, parse_datetime(field(cols, "activitydate"), tz=tz)])


def annotate_events(src: SourceFrame, *, tz: str = "UTC") -> pl.LazyFrame:
    """Event rows with their source-level reason (rows that feed neither table)."""
    cols = src.columns
    raw, start = _event_start(cols, tz)
    owner = sf_id(field(cols, "ownerid"))
    reasons = [
        *_base_reasons(src),
        (parse_bool(field(cols, "ischild")), "child_event"),
        (owner.str.starts_with("00G"), "queue_owner"),
        (text(field(cols, "showas")).str.to_lowercase() == "outofoffice", "out_of_office"),
        (unparseable(raw, start), "unparseable_start"),
    ]
    return src.frame.with_columns(first_reason(*reasons).alias(REASON))


def map_event_activities(
    src: SourceFrame, annotated: pl.LazyFrame, *, tz: str = "UTC"
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Event -> activities (type ``meeting``); deleted events are not activities."""
    cols = src.columns
    _, start = _event_start(cols, tz)
    ann = annotated.with_columns(
        pl.when(pl.col(REASON).is_null() & parse_bool(field(cols, "isdeleted")).fill_null(False))
        .then(pl.lit("deleted"))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    )
    rows = ann.filter(pl.col(REASON).is_null()).select(
        sf_id(field(cols, "id")).alias("activity_id"),
        sf_id(field(cols, "ownerid")).alias("rep_id"),
        start.alias("occurred_at"),
        pl.lit("meeting").alias("activity_type"),
        map_meeting_status(field(cols, *STATUS_FIELDS)).alias("outcome"),
        field(cols, "subject").alias("subject"),
        field(cols, "description").alias("notes"),
        sf_id(field(cols, "whoid")).alias("lead_id"),
        _what_opportunity(cols).alias("opportunity_id"),
        (parse_number(field(cols, "durationinminutes")) * 60).alias("duration_s"),
    )
    return ann, rows


def meeting_status(cols: list[str], start: pl.Expr, as_of: pl.Expr) -> pl.Expr:
    """The meeting status heuristic (module docstring)."""
    custom = map_meeting_status(field(cols, *STATUS_FIELDS))
    subject = text(field(cols, "subject")).str.to_lowercase()
    return pl.coalesce(
        [
            custom,
            pl.when(parse_bool(field(cols, "isdeleted")).fill_null(False)).then(pl.lit("canceled")),
            pl.when(subject.str.contains(r"^(canceled|cancelled|cancelado)\b")).then(
                pl.lit("canceled")
            ),
            pl.when(start < as_of).then(pl.lit("held")),
            pl.lit("scheduled"),
        ]
    )


def export_time(cols: list[str], *, tz: str = "UTC") -> pl.Expr:
    """The export's as-of time: the latest ``SystemModstamp``/``LastModifiedDate`` in the file, else now."""
    stamp = parse_datetime(
        pl.coalesce([field(cols, "systemmodstamp"), field(cols, "lastmodifieddate")]), tz="UTC"
    )
    return pl.coalesce([stamp.max(), pl.lit(datetime.now(UTC)).dt.cast_time_unit("us")])


def map_event_meetings(
    src: SourceFrame,
    annotated: pl.LazyFrame,
    bdr_ids: pl.LazyFrame,
    *,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Event -> meetings for events booked by a BDR (``bdr_ids`` has ``rep_id``)."""
    cols = src.columns
    _, start = _event_start(cols, tz)
    when = (
        pl.lit(as_of).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if as_of
        else export_time(cols, tz=tz)
    )
    booker = sf_id(pl.coalesce([field(cols, *BOOKER_FIELDS), field(cols, "createdbyid")]))
    bdrs = bdr_ids.select(pl.col("rep_id").alias("_booker"), pl.lit(True).alias("_is_bdr")).unique()
    ann = (
        annotated.with_columns(booker.alias("_booker"), when.alias("_as_of"))
        .join(bdrs, on="_booker", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col(REASON).is_null() & ~pl.col("_is_bdr").fill_null(False))
            .then(pl.lit("not_booked_by_bdr"))
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )
    )
    rows = ann.filter(pl.col(REASON).is_null()).select(
        sf_id(field(cols, "id")).alias("meeting_id"),
        pl.col("_booker").alias("booked_by"),
        sf_id(field(cols, "ownerid")).alias("owner_id"),
        parse_datetime(field(cols, "createddate"), tz="UTC").alias("booked_at"),
        start.alias("scheduled_for"),
        meeting_status(cols, start, pl.col("_as_of")).alias("status"),
        sf_id(field(cols, "whoid")).alias("lead_id"),
        _what_opportunity(cols).alias("opportunity_id"),
    )
    return ann.drop("_booker", "_as_of", "_is_bdr"), rows


def map_opportunities(
    src: SourceFrame, *, tz: str = "UTC", meetings: pl.LazyFrame | None = None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Opportunity -> opportunities. ``sourced_by``: a custom SDR field, else the BDR of the
    earliest meeting on the opportunity (from ``meetings`` rows)."""
    cols = src.columns
    created = parse_datetime(field(cols, "createddate"), tz="UTC")
    close = parse_date(field(cols, "closedate"))
    amount = parse_number(field(cols, "amount"))
    stage = field(cols, "stagename", "stage")
    reasons = [
        *_base_reasons(src),
        (parse_bool(field(cols, "isdeleted")), "deleted"),
        (unparseable(field(cols, "createddate"), created), "unparseable_created_at"),
        (unparseable(field(cols, "closedate"), close), "unparseable_close_date"),
        (unparseable(field(cols, "amount"), amount), "unparseable_amount"),
        (
            bool_unparseable(field(cols, "isclosed")) | bool_unparseable(field(cols, "iswon")),
            "unparseable_flag",
        ),
    ]
    annotated = src.frame.with_columns(first_reason(*reasons).alias(REASON))
    is_closed = pl.coalesce(
        [parse_bool(field(cols, "isclosed")), stage.str.contains(r"(?i)^closed|^(won|lost)$")]
    )
    is_won = pl.coalesce(
        [parse_bool(field(cols, "iswon")), stage.str.contains(r"(?i)^closed[\s_-]*won|^won$")]
    )
    rows = annotated.filter(pl.col(REASON).is_null()).select(
        sf_id(field(cols, "id")).alias("opportunity_id"),
        sf_id(field(cols, "ownerid")).alias("owner_id"),
        sf_id(field(cols, *SOURCED_BY_FIELDS)).alias("sourced_by"),
        created.alias("created_at"),
        stage.alias("stage"),
        is_closed.alias("is_closed"),
        is_won.alias("is_won"),
        pl.when(is_closed.fill_null(False)).then(close).alias("closed_at"),
        amount.alias("amount"),
        field(cols, "leadsource").alias("lead_source"),
        field(cols, "segmentc", "type").alias("segment"),
        field(cols, "lossreasonc", "lostreasonc", "closedlostreasonc").alias("lost_reason"),
        field(cols, "spinesituationc").alias("spine_situation"),
        field(cols, "spinepainc").alias("spine_pain"),
        field(cols, "spineimpactc").alias("spine_impact"),
        field(cols, "spinenextstepsc", "spinenextstepc").alias("spine_next_steps"),
        field(cols, "spineeconomicbuyerc").alias("spine_economic_buyer"),
    )
    if meetings is not None:
        first = (
            meetings.filter(pl.col("opportunity_id").is_not_null())
            .sort("booked_at", "meeting_id")
            .group_by("opportunity_id")
            .agg(pl.col("booked_by").first().alias("_met_by"))
        )
        rows = (
            rows.join(first, on="opportunity_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce(["sourced_by", "_met_by"]).alias("sourced_by"))
            .drop("_met_by")
        )
    return annotated, rows


def map_stage_history(src: SourceFrame, *, tz: str = "UTC") -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """OpportunityHistory -> stage_history; a row whose stage equals the previous row's
    (same opportunity, by ``CreatedDate`` then ``Id``) is collapsed as ``non_stage_change``."""
    cols = src.columns
    created = parse_datetime(field(cols, "createddate"), tz="UTC")
    opp = sf_id(field(cols, "opportunityid"))
    stage = field(cols, "stagename")
    base = first_reason(
        *_base_reasons(src),
        (parse_bool(field(cols, "isdeleted")), "deleted"),
        (unparseable(field(cols, "createddate"), created), "unparseable_created_at"),
    )
    ordered = src.frame.with_columns(
        base.alias(REASON),
        opp.alias("_opp"),
        created.alias("_at"),
        sf_id(field(cols, "id")).alias("_id"),
        stage.alias("_stage"),
    )
    valid = pl.col(REASON).is_null()
    previous = pl.col("_stage").shift(1).over(["_opp", valid], order_by=["_at", "_id", ROW])
    annotated = ordered.with_columns(
        pl.when(valid & (previous == pl.col("_stage")).fill_null(False))
        .then(pl.lit("non_stage_change"))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    )
    rows = annotated.filter(pl.col(REASON).is_null()).select(
        pl.col("_opp").alias("opportunity_id"),
        pl.col("_stage").alias("stage"),
        pl.col("_at").alias("entered_at"),
    )
    return annotated.drop("_opp", "_at", "_id", "_stage"), rows


def map_close_date_changes(
    src: SourceFrame, *, tz: str = "UTC"
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """OpportunityHistory -> close_date_changes: one row per value ``CloseDate`` took.

    Rows are ordered per opportunity by ``CreatedDate`` then ``Id``; a row whose close
    date equals the previous valid row's is collapsed as ``non_close_date_change`` (the
    history row recorded another field's change). An empty ``CloseDate`` is
    ``missing_close_date``, an unreadable one ``unparseable_close_date``; the other
    reasons are the stage history's (deleted, footer, unparseable ``CreatedDate``).
    """
    cols = src.columns
    created = parse_datetime(field(cols, "createddate"), tz="UTC")
    close = parse_date(field(cols, "closedate"))
    base = first_reason(
        *_base_reasons(src),
        (parse_bool(field(cols, "isdeleted")), "deleted"),
        (unparseable(field(cols, "createddate"), created), "unparseable_created_at"),
        (text(field(cols, "createddate")).is_null(), "missing_created_at"),
        (unparseable(field(cols, "closedate"), close), "unparseable_close_date"),
        (text(field(cols, "closedate")).is_null(), "missing_close_date"),
    )
    ordered = src.frame.with_columns(
        base.alias(REASON),
        sf_id(field(cols, "opportunityid")).alias("_opp"),
        created.alias("_at"),
        sf_id(field(cols, "id")).alias("_id"),
        close.alias("_close"),
    )
    valid = pl.col(REASON).is_null()
    previous = pl.col("_close").shift(1).over(["_opp", valid], order_by=["_at", "_id", ROW])
    annotated = ordered.with_columns(
        pl.when(valid & (previous == pl.col("_close")).fill_null(False))
        .then(pl.lit("non_close_date_change"))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    )
    rows = annotated.filter(pl.col(REASON).is_null()).select(
        pl.col("_opp").alias("opportunity_id"),
        pl.col("_close").alias("close_date"),
        pl.col("_at").alias("changed_at"),
    )
    return annotated.drop("_opp", "_at", "_id", "_close"), rows


# ------------------------------------------------------------------ reps ----
def _owner_ids(frames: dict[str, SourceFrame]) -> pl.LazyFrame:
    parts = []
    for obj in ("Task", "Event", "Opportunity"):
        if obj in frames:
            cols = frames[obj].columns
            parts.append(frames[obj].frame.select(sf_id(field(cols, "ownerid")).alias("rep_id")))
    if "Event" in frames:
        cols = frames["Event"].columns
        parts.append(
            frames["Event"].frame.select(
                sf_id(pl.coalesce([field(cols, *BOOKER_FIELDS), field(cols, "createdbyid")])).alias(
                    "rep_id"
                )
            )
        )
    if not parts:
        return pl.LazyFrame(schema={"rep_id": pl.String})
    return (
        pl.concat(parts)
        .filter(pl.col("rep_id").is_not_null() & ~pl.col("rep_id").str.starts_with("00G"))
        .unique()
        .sort("rep_id")
    )


def _opportunity_owners(frames: dict[str, SourceFrame]) -> pl.LazyFrame:
    if "Opportunity" not in frames:
        return pl.LazyFrame(schema={"rep_id": pl.String})
    cols = frames["Opportunity"].columns
    return frames["Opportunity"].frame.select(sf_id(field(cols, "ownerid")).alias("rep_id"))


def build_reps(
    frames: dict[str, SourceFrame],
    *,
    reps_csv: Path | None,
    roles: Path | None,
    tz: str,
    warnings: list[str],
) -> tuple[list[SourceObject], pl.DataFrame]:
    """Reps from ``--reps``, else User + UserRole (+ roles mapping), else derived from owner ids.

    Reps are few, so this collects them (an I/O-edge step) to list warnings.
    """
    rules = load_roles(roles) if roles else []
    objects: list[SourceObject] = []
    if reps_csv is not None:
        ann = read_reps_csv(Path(reps_csv), salesforce_ids=True)
        reps = ann.filter(pl.col(REASON).is_null()).drop(READ_COLUMNS, strict=False)
        objects.append(
            SourceObject(
                "reps_csv",
                str(reps_csv),
                ann,
                pl.col(REASON),
                parts=[Part("reps_csv", "reps", ann, reps)],
            )
        )
        for obj in ("User", "UserRole"):
            if obj in frames:
                objects.append(
                    SourceObject(obj, frames[obj].location, frames[obj].frame, lookup_only=True)
                )
        return objects, reps.collect()
    owners = _opportunity_owners(frames)
    if "User" in frames:
        src = frames["User"]
        cols = src.columns
        users = src.frame.with_columns(sf_id(field(cols, "userroleid")).alias("_role_id"))
        if "UserRole" in frames:
            rcols = frames["UserRole"].columns
            role_names = (
                frames["UserRole"]
                .frame.select(
                    sf_id(field(rcols, "id")).alias("_role_id"),
                    field(rcols, "name").alias("_role_name"),
                )
                .filter(pl.col("_role_id").is_not_null())
                .unique("_role_id", keep="first")
            )
            users = users.join(role_names, on="_role_id", how="left", maintain_order="left")
            objects.append(
                SourceObject(
                    "UserRole",
                    frames["UserRole"].location,
                    frames["UserRole"].frame,
                    lookup_only=True,
                )
            )
        else:
            users = users.with_columns(pl.lit(None, pl.String).alias("_role_name"))
        user_type = text(field(cols, "usertype"))
        ann = users.with_columns(
            first_reason(
                *_base_reasons(src),
                (user_type.is_not_null() & (user_type != "Standard"), "non_standard_user"),
            ).alias(REASON)
        )
        role, team = apply_roles(pl.col("_role_name"), rules)
        name = pl.coalesce(
            [
                field(cols, "name"),
                text(
                    pl.concat_str(
                        [field(cols, "firstname"), field(cols, "lastname")],
                        separator=" ",
                        ignore_nulls=True,
                    )
                ),
            ]
        )
        mapped = ann.filter(pl.col(REASON).is_null()).select(
            sf_id(field(cols, "id")).alias("rep_id"),
            name.alias("name"),
            role,
            pl.coalesce([team, text(pl.col("_role_name")), pl.lit(UNASSIGNED_TEAM)]).alias("team"),
            sf_id(field(cols, "managerid")).alias("manager_id"),
            pl.coalesce([field(cols, "timezonesidkey"), pl.lit(tz)]).alias("timezone"),
        )
        reps = mapped.collect()
        missing = reps.filter(pl.col("role").is_null())
        if missing.height:
            guessed = infer_roles(
                missing.lazy().select("rep_id"), opportunity_owners=owners
            ).collect()
            reps = (
                reps.join(guessed, on="rep_id", how="left")
                .with_columns(pl.coalesce(["role", "inferred_role"]).alias("role"))
                .drop("inferred_role")
            )
            how = "no roles mapping given" if not rules else "no roles rule matched their role name"
            warnings.append(
                f"{missing.height} user(s) got a guessed role ({how}; opportunity owners -> AE, others -> BDR): "
                + ", ".join(missing["rep_id"].drop_nulls().sort().to_list()[:20])
            )
        objects.append(
            SourceObject(
                "User",
                src.location,
                ann,
                source_reasons=pl.col(REASON),
                parts=[Part("User", "reps", ann, reps.lazy())],
            )
        )
        return objects, reps
    ids = _owner_ids(frames)
    guessed = infer_roles(ids, opportunity_owners=owners)
    reps = guessed.select(
        "rep_id",
        pl.lit(None, pl.String).alias("name"),
        pl.col("inferred_role").alias("role"),
        pl.lit(UNASSIGNED_TEAM).alias("team"),
        pl.lit(None, pl.String).alias("manager_id"),
        pl.lit(tz).alias("timezone"),
    ).collect()
    if reps.height == 0:
        raise BadInputError(
            "no User.csv and no owner ids to derive reps from; pass --reps reps.csv",
            file=next(iter(frames.values())).location,
        )
    warnings.append(
        f"User.csv missing: {reps.height} rep(s) derived from owner ids (team {UNASSIGNED_TEAM}; "
        "opportunity owners -> AE, others -> BDR): " + ", ".join(reps["rep_id"].to_list()[:20])
    )
    ann = reps.lazy().with_columns(pl.lit(None, pl.String).alias(REASON))
    objects.append(
        SourceObject(
            "derived_reps", "owner ids", ann, parts=[Part("derived_reps", "reps", ann, reps.lazy())]
        )
    )
    return objects, reps


def _bdr_ids(reps: pl.DataFrame) -> pl.LazyFrame:
    role = pl.col("role").cast(pl.String).str.strip_chars().str.to_uppercase()
    return reps.lazy().filter(role.is_in(["BDR", "SDR"])).select("rep_id")


def plan_salesforce(
    frames: dict[str, SourceFrame],
    *,
    reps_csv: Path | None = None,
    roles: Path | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
    source: str = "salesforce",
) -> IngestPlan:
    """Map Salesforce source frames (from CSV files or a warehouse) to an :class:`IngestPlan`."""
    plan = IngestPlan(source)
    rep_objects, reps = build_reps(
        frames, reps_csv=reps_csv, roles=roles, tz=tz, warnings=plan.warnings
    )
    plan.objects += rep_objects
    meetings_rows = None
    if "Task" in frames:
        ann, rows = map_tasks(frames["Task"], tz=tz)
        plan.objects.append(
            SourceObject(
                "Task",
                frames["Task"].location,
                ann,
                pl.col(REASON),
                [Part("Task", "activities", ann, rows)],
            )
        )
    if "Event" in frames:
        src = frames["Event"]
        base = annotate_events(src, tz=tz)
        act_ann, act_rows = map_event_activities(src, base, tz=tz)
        meet_ann, meetings_rows = map_event_meetings(src, base, _bdr_ids(reps), tz=tz, as_of=as_of)
        plan.objects.append(
            SourceObject(
                "Event",
                src.location,
                base,
                pl.col(REASON),
                [
                    Part("Event", "activities", act_ann, act_rows),
                    Part("Event", "meetings", meet_ann, meetings_rows),
                ],
            )
        )
    if "Opportunity" in frames:
        ann, rows = map_opportunities(frames["Opportunity"], tz=tz, meetings=meetings_rows)
        plan.objects.append(
            SourceObject(
                "Opportunity",
                frames["Opportunity"].location,
                ann,
                pl.col(REASON),
                [Part("Opportunity", "opportunities", ann, rows)],
            )
        )
    if "OpportunityHistory" in frames:
        ann, rows = map_stage_history(frames["OpportunityHistory"], tz=tz)
        parts = [Part("OpportunityHistory", "stage_history", ann, rows)]
        if has_field(frames["OpportunityHistory"].columns, "closedate"):
            close_ann, close_rows = map_close_date_changes(frames["OpportunityHistory"], tz=tz)
            parts.append(Part("OpportunityHistory", "close_date_changes", close_ann, close_rows))
        plan.objects.append(
            SourceObject(
                "OpportunityHistory",
                frames["OpportunityHistory"].location,
                ann,
                pl.when(pl.col(REASON) != "non_stage_change").then(pl.col(REASON)),
                parts,
            )
        )
    return plan


def ingest_salesforce(
    in_dir: Path,
    out_dir: Path,
    *,
    reps_csv: Path | None = None,
    roles: Path | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> dict:
    """Ingest a Salesforce Data Export / Data Loader folder into a canonical dataset.

    Writes ``<table>.parquet``, ``ingest.json``, ``quarantine/source_<Object>.parquet``,
    then the validator's ``quality.json`` and ``quarantine/<table>.parquet``, all atomically.
    Returns the ``ingest.json`` content.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "Opportunity.csv").write_text(
    ...     '"Id","OwnerId","CreatedDate","StageName","IsClosed","IsWon","CloseDate"\\n'
    ...     '"0064600000J5S5T","00546000001l1cJ","2018-10-13 17:16:45","Closed Won","1","1","2018-10-20 00:00:00"\\n')
    >>> ingest_salesforce(d, d / "out")["tables"]["opportunities"]
    1
    """
    frames, unused = read_salesforce_dir(Path(in_dir))
    plan = plan_salesforce(frames, reps_csv=reps_csv, roles=roles, tz=tz, as_of=as_of)
    plan.extra["unused_files"] = unused
    return write_ingest(plan, Path(out_dir), tz=tz)
