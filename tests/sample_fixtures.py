"""Helpers for the sample-data tests: read the CSVs as text and check them independently.

Nothing here imports the generator: the tests recompute every planted number from
the written files, so a bug in the generator's own bookkeeping cannot hide itself.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import polars as pl

from analysis.canonical.schemas import MEETING_STATUSES, required_columns

TAXONOMY = Path(__file__).parents[1] / "analysis" / "decisions" / "default_taxonomy.toml"
TABLES = ("reps", "activities", "meetings", "opportunities", "stage_history", "close_date_changes")
KEYS = {"activities": "activity_id", "meetings": "meeting_id", "opportunities": "opportunity_id"}
REP_REFS = {"activities": "rep_id", "meetings": "booked_by", "opportunities": "owner_id"}
TIMESTAMPS = {
    "activities": ["occurred_at"],
    "meetings": ["booked_at", "scheduled_for"],
    "opportunities": ["created_at"],
    "stage_history": ["entered_at"],
    "close_date_changes": ["changed_at"],
}


def read_raw(directory: Path, table: str) -> pl.DataFrame:
    """A CSV exactly as written: every column a string, empty cells null."""
    return pl.read_csv(directory / f"{table}.csv", infer_schema=False)


def parse_ts(column: str) -> pl.Expr:
    """ISO 8601 with ``Z`` or an offset (converted to UTC), or naive (UTC); else null."""
    text = pl.col(column)
    aware = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", strict=False, time_zone="UTC")
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False).dt.replace_time_zone("UTC")
    return pl.coalesce(aware, naive).alias(column)


def parse_bool(column: str) -> pl.Expr:
    """true/false/1/0 (any case); anything else is null."""
    text = pl.col(column).str.to_lowercase()
    return (
        pl.when(text.is_in(["true", "1"]))
        .then(True)
        .when(text.is_in(["false", "0"]))
        .then(False)
        .otherwise(None)
        .alias(column)
    )


def reason_flags(raw: dict[str, pl.DataFrame], table: str) -> pl.DataFrame:
    """One boolean column per quarantine reason for every row of ``table``, in file order."""
    frame = raw[table].with_row_index("_row")
    columns = [c for c in raw[table].columns]
    flags: dict[str, pl.Expr] = {}
    required = [c for c in required_columns(table) if c in columns]
    flags["missing_required_value"] = pl.any_horizontal(
        [pl.col(c).is_null() for c in required]
    ).fill_null(False)
    unparseable = [
        pl.col(c).is_not_null() & parse_ts(c).is_null() for c in TIMESTAMPS.get(table, [])
    ]
    if table == "opportunities":
        unparseable += [
            pl.col(c).is_not_null() & parse_bool(c).is_null() for c in ("is_closed", "is_won")
        ]
        unparseable.append(
            pl.col("amount").is_not_null()
            & pl.col("amount").cast(pl.Float64, strict=False).is_null()
        )
    if table == "close_date_changes":
        unparseable.append(
            pl.col("close_date").is_not_null()
            & pl.col("close_date").str.to_date("%Y-%m-%d", strict=False).is_null()
        )
    if table == "activities":
        unparseable.append(
            pl.col("duration_s").is_not_null()
            & pl.col("duration_s").cast(pl.Float64, strict=False).is_null()
        )
    flags["unparseable_value"] = pl.any_horizontal(unparseable) if unparseable else pl.lit(False)
    if table == "meetings":
        flags["invalid_value"] = pl.col("status").is_not_null() & ~pl.col("status").is_in(
            MEETING_STATUSES
        )
    if table in REP_REFS:
        reps = raw["reps"]["rep_id"].unique()
        ref = pl.col(REP_REFS[table])
        flags["unknown_rep"] = ref.is_not_null() & ~ref.is_in(reps.implode())
    exact_dup = ~pl.struct(columns).is_first_distinct()
    flags["duplicate"] = exact_dup
    out = frame.with_columns(**flags)
    if table in KEYS:
        key = KEYS[table]
        firsts = out.filter(~pl.col("duplicate") & pl.col(key).is_not_null()).with_columns(
            duplicate_key=~pl.col(key).is_first_distinct()
        )
        out = out.join(firsts.select("_row", "duplicate_key"), on="_row", how="left")
        out = out.with_columns(pl.col("duplicate_key").fill_null(False))
    return out.sort("_row")


def taxonomy_rules() -> list[dict]:
    """The default taxonomy's rules in file order."""
    with TAXONOMY.open("rb") as handle:
        return tomllib.load(handle)["rules"]


def classify(activity_type: str, subject: str | None, outcome: str | None = None) -> str:
    """First matching rule's decision (CONTRACT section 3), or ``unclassified``."""
    for rule in taxonomy_rules():
        if activity_type.lower() not in [t.lower() for t in rule["activity_type"]]:
            continue
        pattern = rule.get("subject_matches")
        if pattern and not (subject and re.search(pattern, subject)):
            continue
        if "outcome" in rule:
            norm = (outcome or "").lower().replace(" ", "_").replace("-", "_")
            if norm not in rule["outcome"]:
                continue
        return rule["decision"]
    return "unclassified"


def clean(raw: dict[str, pl.DataFrame], table: str) -> pl.DataFrame:
    """Rows of ``table`` that no reason flags, with typed timestamps and booleans."""
    flags = reason_flags(raw, table)
    reasons = [c for c in flags.columns if c not in raw[table].columns and c != "_row"]
    frame = flags.filter(~pl.any_horizontal(reasons)).select(raw[table].columns)
    frame = frame.with_columns(parse_ts(c) for c in TIMESTAMPS.get(table, []))
    if table == "opportunities":
        frame = frame.with_columns(
            parse_bool("is_closed"),
            parse_bool("is_won"),
            pl.col("closed_at").str.to_date("%Y-%m-%d"),
        )
    return frame


def with_local_day(frame: pl.DataFrame, reps: pl.DataFrame, ts: str) -> pl.DataFrame:
    """Add ``team``, ``role`` and ``day`` (the rep's local date; empty zone = UTC)."""
    zones = reps.select("rep_id", "team", "role", zone=pl.col("timezone").fill_null("UTC")).unique(
        subset="rep_id", keep="first"
    )
    joined = frame.join(zones, on="rep_id", how="left", maintain_order="left")
    day = pl.lit(None, dtype=pl.Date)
    for zone in sorted(joined["zone"].unique().to_list()):
        day = (
            pl.when(pl.col("zone") == zone)
            .then(pl.col(ts).dt.convert_time_zone(zone).dt.date())
            .otherwise(day)
        )
    return joined.with_columns(day=day)
