"""HubSpot: CRM CSV exports (label headers) -> canonical tables.

Each CSV in the folder is recognised by its headers: calls (``Call outcome``,
``Call duration`` ...), emails, meetings (``Meeting outcome``), notes (``Note body``),
tasks (``Task Title``), deals (``Deal Stage``) and owners (``owners.csv`` from the
owners API: ``id, email, firstName, lastName, teams/team, archived``; a ``role``
column is used as is). Internal property names (``hs_timestamp``,
``hubspot_owner_id`` ...) are accepted too.

* Owners are names in UI exports and ids in the API: every owner value is
  resolved through owners.csv (id, then ``First Last``, then email). Without
  owners.csv the reps are derived from the owner names, with a warning.
* ``Call duration (HH:mm:ss)`` is parsed as such; ``Call duration`` /
  ``hs_call_duration`` are milliseconds.
* ``Meeting outcome`` gives the meeting status (Completed -> held, No Show ->
  no_show, Canceled -> canceled, Scheduled/Rescheduled -> scheduled); an empty
  outcome means held when the start is before the export time, else scheduled.
  A meeting is a canonical meeting when its booker (``Created by``, else the
  assigned owner) is a BDR; ``owner_id`` is the assigned owner when that is
  someone else.
* ``Date entered "<Stage> (<Pipeline>)"`` columns (legacy single quotes and
  internal ``hs_v2_date_entered_<stage>`` too) give stage history; their unit of
  accounting is the non-empty cell.
* Datetimes without a zone are in ``tz`` (the portal's zone); epoch milliseconds are UTC.
"""

from __future__ import annotations

import re
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

#: HubSpot's default call disposition GUIDs -> labels (API exports).
CALL_DISPOSITIONS = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}
SIGNATURES: dict[str, tuple[str, ...]] = {
    "deals": ("dealstage",),
    "calls": (
        "calloutcome",
        "calldurationhhmmss",
        "callduration",
        "calldirection",
        "calltitle",
        "hscallduration",
        "hscalldisposition",
    ),
    "meetings": (
        "meetingoutcome",
        "meetingname",
        "meetingstarttime",
        "hsmeetingoutcome",
        "hsmeetingtitle",
    ),
    "emails": ("emailsubject", "emaildirection", "emailbody", "hsemailsubject"),
    "tasks": ("tasktitle", "tasktype", "taskstatus", "hstasksubject"),
    "notes": ("notebody", "hsnotebody"),
}
OWNER_KEYS = ("activityassignedto", "hubspotowner", "hubspotownerid", "dealowner", "owner")
ID_KEYS = ("recordid", "hsobjectid", "id")
_STAGE_LABEL = re.compile(
    r"""^\s*date entered\s+["']*(.+?)(?:\s+\((.+)\))?["']*\s*$""", re.IGNORECASE
)
_STAGE_INTERNAL = re.compile(r"^hs_(?:v2_)?date_entered_(.+)$", re.IGNORECASE)


def _kind(path: Path, cols: list[str]) -> str | None:
    if "owner" in path.stem.lower() and not has_field(cols, "recordid", "dealstage"):
        return "owners"
    for kind, keys in SIGNATURES.items():
        if has_field(cols, *keys):
            return kind
    return None


def _read_reasons(cols: list[str]) -> list[tuple[pl.Expr, str]]:
    """CSV lines that did not parse, then blank lines and report footers (``report_footer``)."""
    footer = footer_reason(cols)
    return [(footer == MALFORMED_ROW, MALFORMED_ROW), (footer.is_not_null(), "report_footer")]


def parse_hs_datetime(expr: pl.Expr, *, tz: str) -> pl.Expr:
    """HubSpot datetimes: epoch milliseconds (API) or text in the portal zone ``tz``."""
    value = text(expr)
    epoch = pl.when(value.str.contains(r"^\d{11,13}$")).then(
        pl.from_epoch(value.cast(pl.Int64, strict=False), time_unit="ms")
        .dt.replace_time_zone("UTC")
        .dt.cast_time_unit("us")
    )
    return pl.coalesce(
        [
            epoch,
            parse_datetime(
                value, tz=tz, formats=["%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y"]
            ),
        ]
    )


def parse_duration(cols: list[str]) -> pl.Expr:
    """Call duration in seconds: ``HH:mm:ss`` text, else milliseconds."""
    hms = text(field(cols, "calldurationhhmmss"))
    parts = hms.str.split(":")
    from_hms = (
        parts.list.get(-3, null_on_oob=True).cast(pl.Float64, strict=False).fill_null(0) * 3600
        + parts.list.get(-2, null_on_oob=True).cast(pl.Float64, strict=False) * 60
        + parts.list.get(-1, null_on_oob=True).cast(pl.Float64, strict=False)
    )
    ms = parse_number(field(cols, "callduration", "hscallduration")) / 1000
    return pl.coalesce([pl.when(hms.str.contains(r"^\d+(:\d+){1,2}$")).then(from_hms), ms])


def owner_lookup(owners: pl.LazyFrame | None) -> pl.LazyFrame | None:
    """``key`` (lower-case id, 'first last' or email) -> ``owner_id``; ambiguous names keep the lowest id."""
    if owners is None:
        return None
    keys = [pl.col("rep_id"), pl.col("name"), pl.col("_email")]
    return (
        pl.concat(
            [
                owners.select(
                    k.str.strip_chars().str.to_lowercase().alias("key"),
                    pl.col("rep_id").alias("owner_id"),
                    pl.lit(i).alias("_rank"),
                )
                for i, k in enumerate(keys)
            ]
        )
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
        .sort("key", "_rank", "owner_id")
        .unique("key", keep="first", maintain_order=True)
        .select("key", "owner_id")
    )


def resolve_owner(
    frame: pl.LazyFrame, value: pl.Expr, lookup: pl.LazyFrame | None, alias: str
) -> pl.LazyFrame:
    """Add ``alias`` = the owner id for an owner name/id/email column (raw text when unresolved)."""
    raw = text(value)
    if lookup is None:
        return frame.with_columns(raw.alias(alias))
    keyed = frame.with_columns(raw.str.to_lowercase().alias("_key"), raw.alias("_raw"))
    joined = keyed.join(
        lookup.rename({"key": "_key", "owner_id": "_oid"}),
        on="_key",
        how="left",
        maintain_order="left",
    )
    return joined.with_columns(pl.coalesce(["_oid", "_raw"]).alias(alias)).drop(
        "_key", "_raw", "_oid"
    )


def _activity_rows(
    kind: str, frame: pl.LazyFrame, cols: list[str], *, tz: str
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    when_raw = field(
        cols, "activitydate", "hstimestamp", "duedate", "meetingstarttime", "createdate"
    )
    occurred = parse_hs_datetime(when_raw, tz=tz)
    ann = frame.with_columns(
        first_reason(
            *_read_reasons([c for c in cols if c not in (ROW, "_owner")]),
            (unparseable(when_raw, occurred), "unparseable_activity_date"),
        ).alias(REASON)
    )
    subject = {
        "calls": field(cols, "calltitle", "hscalltitle"),
        "emails": field(cols, "emailsubject", "hsemailsubject"),
        "meetings": field(cols, "meetingname", "hsmeetingtitle"),
        "tasks": field(cols, "tasktitle", "hstasksubject"),
        "notes": pl.lit(None, pl.String),
    }[kind]
    notes = {
        "calls": field(cols, "callnotes", "hscallbody"),
        "emails": field(cols, "emailbody", "hsemailtext"),
        "meetings": field(cols, "meetingdescription", "hsmeetingbody"),
        "tasks": field(cols, "notes", "hstaskbody"),
        "notes": field(cols, "notebody", "hsnotebody"),
    }[kind]
    outcome = {
        "calls": map_outcome(
            field(cols, "calloutcome", "hscalldisposition").replace(CALL_DISPOSITIONS)
        ),
        "emails": map_outcome(field(cols, "emailstatus", "hsemailstatus")),
        "meetings": map_meeting_status(field(cols, "meetingoutcome", "hsmeetingoutcome")),
        "tasks": map_outcome(field(cols, "taskstatus", "hstaskstatus")),
        "notes": pl.lit(None, pl.String),
    }[kind]
    activity_type = {
        "calls": "call",
        "emails": "email",
        "meetings": "meeting",
        "tasks": "task",
        "notes": "note",
    }[kind]
    rows = ann.filter(pl.col(REASON).is_null()).select(
        field(cols, *ID_KEYS).alias("activity_id"),
        pl.col("_owner").alias("rep_id"),
        occurred.alias("occurred_at"),
        pl.lit(activity_type).alias("activity_type"),
        outcome.alias("outcome"),
        subject.alias("subject"),
        notes.alias("notes"),
        _first_id(
            field(cols, "associatedcontactids", "associatedcontactid", "associatedcontact")
        ).alias("lead_id"),
        _first_id(field(cols, "associateddealids", "associateddealid", "associateddeal")).alias(
            "opportunity_id"
        ),
        (parse_duration(cols) if kind == "calls" else pl.lit(None, pl.Float64)).alias("duration_s"),
    )
    return ann, rows


def _first_id(expr: pl.Expr) -> pl.Expr:
    return text(text(expr).str.split(";").list.first())


def _meetings(
    frame: pl.LazyFrame,
    annotated: pl.LazyFrame,
    cols: list[str],
    bdrs: pl.LazyFrame,
    *,
    tz: str,
    as_of: datetime | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    start = parse_hs_datetime(
        field(cols, "meetingstarttime", "hsmeetingstarttime", "activitydate", "hstimestamp"), tz=tz
    )
    stamp = parse_hs_datetime(field(cols, "lastmodifieddate", "hslastmodifieddate"), tz=tz).max()
    now = pl.lit(as_of or datetime.now(UTC)).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    when = now if as_of else pl.coalesce([stamp, now])
    ann = (
        annotated.with_columns(
            pl.coalesce(["_creator", "_owner"]).alias("_booker"), when.alias("_as_of")
        )
        .join(
            bdrs.select(pl.col("rep_id").alias("_booker"), pl.lit(True).alias("_is_bdr")).unique(),
            on="_booker",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.when(pl.col(REASON).is_null() & ~pl.col("_is_bdr").fill_null(False))
            .then(pl.lit("not_booked_by_bdr"))
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )
    )
    status = pl.coalesce(
        [
            map_meeting_status(field(cols, "meetingoutcome", "hsmeetingoutcome")),
            pl.when(start < pl.col("_as_of")).then(pl.lit("held")),
            pl.lit("scheduled"),
        ]
    )
    rows = ann.filter(pl.col(REASON).is_null()).select(
        field(cols, *ID_KEYS).alias("meeting_id"),
        pl.col("_booker").alias("booked_by"),
        pl.when(pl.col("_owner") != pl.col("_booker")).then(pl.col("_owner")).alias("owner_id"),
        pl.coalesce(
            [parse_hs_datetime(field(cols, "createdate", "hscreatedate"), tz=tz), start]
        ).alias("booked_at"),
        start.alias("scheduled_for"),
        status.alias("status"),
        _first_id(
            field(cols, "associatedcontactids", "associatedcontactid", "associatedcontact")
        ).alias("lead_id"),
        _first_id(field(cols, "associateddealids", "associateddealid", "associateddeal")).alias(
            "opportunity_id"
        ),
    )
    return ann.drop("_booker", "_as_of", "_is_bdr"), rows


def _deals(frame: pl.LazyFrame, cols: list[str], *, tz: str) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    created = parse_hs_datetime(field(cols, "createdate", "hscreatedate"), tz=tz)
    close = pl.coalesce(
        [
            parse_date(field(cols, "closedate"), formats=["%m/%d/%Y"]),
            parse_hs_datetime(field(cols, "closedate"), tz="UTC").dt.date(),
        ]
    )
    amount = parse_number(field(cols, "amount"))
    stage = field(cols, "dealstage")
    ann = frame.with_columns(
        first_reason(
            *_read_reasons([c for c in cols if c not in (ROW, "_owner")]),
            (
                unparseable(field(cols, "createdate", "hscreatedate"), created),
                "unparseable_create_date",
            ),
            (unparseable(field(cols, "closedate"), close), "unparseable_close_date"),
            (unparseable(field(cols, "amount"), amount), "unparseable_amount"),
        ).alias(REASON)
    )
    low = stage.str.to_lowercase()
    is_won = pl.coalesce(
        [
            parse_bool(field(cols, "isclosedwon", "hsisclosedwon")),
            low.str.contains(r"closed\s*won|^won$|closedwon"),
        ]
    )
    is_closed = pl.coalesce(
        [
            parse_bool(field(cols, "isdealclosed", "hsisclosed")),
            low.str.contains(r"closed|^won$|^lost$"),
        ]
    )
    rows = ann.filter(pl.col(REASON).is_null()).select(
        field(cols, *ID_KEYS).alias("opportunity_id"),
        pl.col("_owner").alias("owner_id"),
        created.alias("created_at"),
        stage.alias("stage"),
        is_closed.alias("is_closed"),
        is_won.alias("is_won"),
        pl.when(is_closed.fill_null(False)).then(close).alias("closed_at"),
        amount.alias("amount"),
        field(cols, "originalsource", "leadsource", "hsanalyticssource").alias("lead_source"),
        field(cols, "dealtype", "segment").alias("segment"),
        field(cols, "closedlostreason").alias("lost_reason"),
    )
    return ann, rows


def _stage_history(
    path: Path, raw: pl.LazyFrame, *, tz: str
) -> tuple[pl.LazyFrame, pl.LazyFrame] | None:
    names = raw.collect_schema().names()
    stage_cols: dict[str, str] = {}
    for name in names:
        m = _STAGE_LABEL.match(name) or _STAGE_INTERNAL.match(name)
        if m:
            stage_cols[name] = m.group(1).strip().strip("\"'")
    if not stage_cols:
        return None
    id_col = next((n for n in names if header_key(n) in ID_KEYS), None)
    if id_col is None:
        raise BadInputError("deals export has no Record ID column", file=path, column="Record ID")
    cells = (
        raw.select(pl.col(id_col).alias("_deal"), *[pl.col(c) for c in stage_cols])
        .unpivot(index="_deal", on=list(stage_cols), variable_name="_column", value_name="_value")
        .filter(text(pl.col("_value")).is_not_null())
        .with_columns(
            pl.col("_column").replace_strict(stage_cols, return_dtype=pl.String).alias("_stage")
        )
        .with_columns(parse_hs_datetime(pl.col("_value"), tz=tz).alias("_at"))
    )
    dup = pl.int_range(pl.len()).over(["_deal", "_stage"], order_by=["_at", "_column"]) > 0
    ann = cells.with_columns(
        first_reason(
            (pl.col("_at").is_null(), "unparseable_date"), (dup, "duplicate_stage_column")
        ).alias(REASON)
    )
    rows = ann.filter(pl.col(REASON).is_null()).select(
        text(pl.col("_deal")).alias("opportunity_id"),
        pl.col("_stage").alias("stage"),
        pl.col("_at").alias("entered_at"),
    )
    return ann, rows


Found = dict[str, list[tuple[Path, pl.LazyFrame]]]


def read_hubspot_dir(in_dir: Path) -> tuple[Found, list[str]]:
    """The recognised export CSVs of a folder by kind (calls, deals, owners...), and the rest."""
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise BadInputError("input folder not found", file=in_dir)
    found: Found = {}
    unused: list[str] = []
    for path in sorted(in_dir.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        raw = read_csv_text(path)
        cols = normalise_headers(raw).collect_schema().names()
        kind = _kind(path, cols)
        if kind is None:
            unused.append(path.name)
        else:
            found.setdefault(kind, []).append((path, raw))
    if not found:
        raise BadInputError(
            "no HubSpot export CSVs recognised (calls, emails, meetings, notes, tasks, deals, owners)",
            file=in_dir,
        )
    return found, unused


def _owners(
    path: Path, raw: pl.LazyFrame, rules: list, *, tz: str
) -> tuple[pl.LazyFrame, SourceObject]:
    """owners.csv mapped to rep rows (role and team from the roles rules), and its object."""
    frame = normalise_headers(raw)
    cols = frame.collect_schema().names()
    team_name = field(cols, "team", "primaryteam", "teams", "teamname")
    team_name = text(team_name.str.split(";").list.first())
    role, team = apply_roles(team_name, rules)
    name = pl.coalesce(
        [
            field(cols, "name", "ownername"),
            text(
                pl.concat_str(
                    [field(cols, "firstname"), field(cols, "lastname")],
                    separator=" ",
                    ignore_nulls=True,
                )
            ),
        ]
    )
    ann = frame.with_columns(
        first_reason(*_read_reasons([c for c in cols if c != ROW])).alias(REASON)
    )
    owners = ann.filter(pl.col(REASON).is_null()).select(
        field(cols, "id", "ownerid").alias("rep_id"),
        name.alias("name"),
        pl.coalesce([field(cols, "role"), role]).alias("role"),
        pl.coalesce([team, team_name, pl.lit(UNASSIGNED_TEAM)]).alias("team"),
        field(cols, "managerid", "manager").alias("manager_id"),
        pl.coalesce([field(cols, "timezone"), pl.lit(tz)]).alias("timezone"),
        field(cols, "email").alias("_email"),
    )
    return owners, SourceObject("owners", str(path), ann, pl.col(REASON))


Resolved = dict[str, list[tuple[Path, pl.LazyFrame, list[str]]]]


def _resolve_owners(found: Found, lookup: pl.LazyFrame | None) -> Resolved:
    """Every non-owner file with ``_owner`` (and, for meetings, ``_creator``) resolved."""
    resolved: Resolved = {}
    for kind, files in found.items():
        if kind == "owners":
            continue
        for path, raw in files:
            frame = normalise_headers(raw)
            cols = frame.collect_schema().names()
            frame = resolve_owner(frame, field(cols, *OWNER_KEYS), lookup, "_owner")
            if kind == "meetings":
                frame = resolve_owner(
                    frame, field(cols, "createdby", "bookedby"), lookup, "_creator"
                )
            resolved.setdefault(kind, []).append((path, frame, frame.collect_schema().names()))
    return resolved


def _reps(
    plan: IngestPlan,
    resolved: Resolved,
    owners: tuple[pl.LazyFrame, SourceObject] | None,
    *,
    reps_csv: Path | None,
    tz: str,
) -> pl.DataFrame:
    """The reps table, from ``--reps``, else owners.csv, else owner names; added to ``plan``."""
    deal_owners = (
        pl.concat(
            [f.select(pl.col("_owner").alias("rep_id")) for _, f, _ in resolved.get("deals", [])]
        )
        if "deals" in resolved
        else pl.LazyFrame(schema={"rep_id": pl.String})
    )
    if reps_csv is not None:
        ann = read_reps_csv(Path(reps_csv)).collect().lazy()
        reps = ann.filter(pl.col(REASON).is_null()).drop(READ_COLUMNS, strict=False).collect()
        plan.objects.append(
            SourceObject(
                "reps_csv",
                str(reps_csv),
                ann,
                pl.col(REASON),
                parts=[Part("reps_csv", "reps", ann, reps.lazy())],
            )
        )
        return reps
    if owners is not None:
        owner_rows, owners_obj = owners
        reps = owner_rows.drop("_email").collect()
        missing = reps.filter(pl.col("role").is_null())
        if missing.height:
            guessed = infer_roles(
                missing.lazy().select("rep_id"), opportunity_owners=deal_owners
            ).collect()
            reps = (
                reps.join(guessed, on="rep_id", how="left")
                .with_columns(pl.coalesce(["role", "inferred_role"]).alias("role"))
                .drop("inferred_role")
            )
            plan.warnings.append(
                f"{missing.height} owner(s) got a guessed role (no role column or roles rule matched their team; deal owners -> AE, others -> BDR): "
                + ", ".join(missing["rep_id"].drop_nulls().sort().to_list()[:20])
            )
        owners_obj.parts.append(Part("owners", "reps", owners_obj.annotated, reps.lazy()))
        plan.objects.append(owners_obj)
        _warn_unresolved(resolved, reps, plan.warnings)
        return reps
    ids = (
        pl.concat(
            [
                f.select(pl.col("_owner").alias("rep_id"))
                for files in resolved.values()
                for _, f, _ in files
            ]
        )
        .filter(pl.col("rep_id").is_not_null())
        .unique()
        .sort("rep_id")
    )
    guessed = infer_roles(ids, opportunity_owners=deal_owners)
    reps = guessed.select(
        "rep_id",
        pl.col("rep_id").alias("name"),
        pl.col("inferred_role").alias("role"),
        pl.lit(UNASSIGNED_TEAM).alias("team"),
        pl.lit(None, pl.String).alias("manager_id"),
        pl.lit(tz).alias("timezone"),
    ).collect()
    plan.warnings.append(
        f"owners.csv missing: {reps.height} rep(s) derived from owner names (team {UNASSIGNED_TEAM}; deal owners -> AE, others -> BDR): "
        + ", ".join(reps["rep_id"].to_list()[:20])
    )
    ann = reps.lazy().with_columns(pl.lit(None, pl.String).alias(REASON))
    plan.objects.append(
        SourceObject(
            "derived_reps",
            "owner names",
            ann,
            parts=[Part("derived_reps", "reps", ann, reps.lazy())],
        )
    )
    return reps


def plan_hubspot(
    found: Found,
    *,
    reps_csv: Path | None = None,
    roles: Path | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> IngestPlan:
    """Map recognised HubSpot export files (:func:`read_hubspot_dir`) to an :class:`IngestPlan`."""
    plan = IngestPlan("hubspot")
    rules = load_roles(roles) if roles else []
    owners = _owners(*found["owners"][0], rules, tz=tz) if "owners" in found else None
    resolved = _resolve_owners(found, owner_lookup(owners[0] if owners else None))
    reps = _reps(plan, resolved, owners, reps_csv=reps_csv, tz=tz)
    bdrs = (
        reps.lazy()
        .filter(pl.col("role").cast(pl.String).str.to_uppercase().is_in(["BDR", "SDR"]))
        .select("rep_id")
    )
    # ---- activities, meetings, deals, stage history
    for kind in ("calls", "emails", "meetings", "notes", "tasks", "deals"):
        for path, frame, cols in resolved.get(kind, []):
            name = path.stem
            if kind == "deals":
                ann, rows = _deals(frame, cols, tz=tz)
                obj = SourceObject(
                    name, str(path), ann, pl.col(REASON), [Part(name, "opportunities", ann, rows)]
                )
                plan.objects.append(obj)
                history = _stage_history(path, read_csv_text(path), tz=tz)
                if history is not None:
                    h_ann, h_rows = history
                    plan.objects.append(
                        SourceObject(
                            f"{name}_date_entered",
                            str(path),
                            h_ann,
                            pl.col(REASON),
                            [Part(name, "stage_history", h_ann, h_rows)],
                            unit="cells",
                        )
                    )
                continue
            ann, rows = _activity_rows(kind, frame, cols, tz=tz)
            parts = [Part(name, "activities", ann, rows)]
            if kind == "meetings":
                m_ann, m_rows = _meetings(frame, ann, cols, bdrs, tz=tz, as_of=as_of)
                parts.append(Part(name, "meetings", m_ann, m_rows))
            plan.objects.append(SourceObject(name, str(path), ann, pl.col(REASON), parts))
    return plan


def ingest_hubspot(
    in_dir: Path,
    out_dir: Path,
    *,
    reps_csv: Path | None = None,
    roles: Path | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> dict:
    """Ingest a folder of HubSpot CSV exports into a canonical dataset (see the module docstring).

    Read (:func:`read_hubspot_dir`), plan (:func:`plan_hubspot`), write atomically
    (``write_ingest``), as Salesforce's ingest does.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "deals.csv").write_text('"Record ID","Deal owner","Create Date","Deal Stage","Close Date","Amount"\\n'
    ...     '"101","Ana Diaz","2026-07-01 09:00","Closed Won","2026-08-01","500"\\n')
    >>> ingest_hubspot(d, d / "out")["tables"]["opportunities"]
    1
    """
    found, unused = read_hubspot_dir(Path(in_dir))
    plan = plan_hubspot(found, reps_csv=reps_csv, roles=roles, tz=tz, as_of=as_of)
    plan.extra["unused_files"] = unused
    return write_ingest(plan, Path(out_dir), tz=tz)


def _warn_unresolved(resolved: dict, reps: pl.DataFrame, warnings: list[str]) -> None:
    known = reps["rep_id"].to_list()
    values = (
        pl.concat([f.select(pl.col("_owner")) for files in resolved.values() for _, f, _ in files])
        .filter(pl.col("_owner").is_not_null() & ~pl.col("_owner").is_in(known))
        .unique()
        .sort("_owner")
        .collect()["_owner"]
        .to_list()
    )
    if values:
        warnings.append(
            f"{len(values)} owner value(s) not found in owners.csv (their rows will be quarantined as unknown_rep): "
            + ", ".join(values[:20])
        )
