"""Validation and quarantine: every input row ends up clean or quarantined with a reason.

Each canonical column is parsed from whatever the file holds (text from CSV,
typed values from parquet) into the dtype declared in
:mod:`analysis.canonical.schemas`. A row gets the first reason that applies,
in this order:

1. ``unparseable_value``: a value is present but cannot be parsed to its type;
2. ``missing_required_value``: a required column is empty;
   (a NaN or infinite number counts as unparseable);
3. ``invalid_value``: a value outside a closed vocabulary (role, meeting status), or a
   negative amount;
4. ``duplicate``: an exact copy of an earlier row (the first copy is kept);
5. ``duplicate_key``: the key of an earlier valid row with different content
   (the first is kept; the conflict needs a human);
6. ``unknown_rep``: ``activities.rep_id``, ``meetings.booked_by`` or
   ``opportunities.owner_id`` is not a clean rep.

Quarantined rows keep their original values plus ``reason``, ``reason_column``
and ``source_row`` (1-based data row in the file). A CSV line that cannot be read
as a row (wrong number of fields, broken quoting) is quarantined as
``malformed_row`` with its *line number* in ``source_row`` (the header is line 1) and
its text in ``raw_line``; the rest of the file is read.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from analysis.canonical.read import RawTable, scan_dataset
from analysis.canonical.schemas import (
    MEETING_STATUS_ALIASES,
    REP_REFERENCES,
    ROLE_ALIASES,
    TABLES,
    polars_schema,
)
from analysis.errors import BadInputError
from analysis.slices import collect_sliced, row_slices

REASONS = (
    "unparseable_value",
    "missing_required_value",
    "invalid_value",
    "duplicate",
    "duplicate_key",
    "unknown_rep",
    "malformed_row",
)
#: Per-table row checks beyond parsing (failed, reason, column), given the clean reps.
#: ``changes``: a change applies to a team or a rep, so one of them must be set and known.
_SCOPE_TABLES = ("changes",)
#: Numeric columns that cannot be negative (a negative deal amount is a data error).
NON_NEGATIVE = {("opportunities", "amount")}
_ROW = "__row"
#: A row to settle in memory: it failed a row check, names an unknown rep, or its key repeats.
_SUSPECT = (pl.col("reason").is_not_null() | pl.col("__unknown") | pl.col("__candidate")).alias(
    "__suspect"
)
_PARSED = "__p_"
_TEXT = "__t_"
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


@dataclass
class TablePlan:
    """How one table is validated, as lazy plans.

    ``rows`` holds, per input row, its row number, the parsed canonical columns,
    the first row-level ``reason`` (unparseable, missing, invalid), an
    ``__unknown`` rep flag and a ``__key_hash`` for finding duplicates.
    :meth:`resolve` turns it into the clean and quarantine plans.
    """

    raw: RawTable
    rows: pl.LazyFrame
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rep_ref: str | None = None
    resolved: tuple[pl.LazyFrame, pl.LazyFrame] | None = None
    #: set by :meth:`resolve`: the quarantined row numbers
    bad_rows: pl.Series | None = None
    _input_rows: int | None = None  # see input_rows()

    def resolve(self, *, engine: str = "auto") -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """The clean and quarantine plans (clean in input order; quarantine by ``source_row``).

        Collects only the *bad or suspect* rows (row-level failures and duplicate
        candidates: normally a tiny fraction), settles duplicates among them in
        memory, and returns plans that stream the big table through a row-number filter.
        This is the validation edge: it reads the key once, every column once for the
        suspects, and the clean plan reads the input again wherever it is consumed.
        """
        if self.resolved is not None:
            return self.resolved
        # Both passes read the input a slice of rows at a time: polars reads ahead of the
        # parsing, and memory would grow with the file (analysis/slices.py).
        n_rows = self.input_rows(engine=engine)
        candidate = self._candidate(n_rows, engine=engine)
        # Pass 2 keeps only row-level failures and duplicate candidates.
        suspect = collect_sliced(
            self.rows,
            lambda part: part.with_columns(candidate).filter(_SUSPECT).select(self._suspect_cols()),
            rows=n_rows,
            engine=engine,
        )
        return self._settled(suspect)

    def resolve_feeding(
        self,
        feed: Callable[[pl.DataFrame], None],
        *,
        columns: Sequence[str],
        step: int | None = None,
    ) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """:meth:`resolve`, handing each slice's clean rows to ``feed`` as they are read.

        One read of the input then serves validation and every consumer of the clean
        rows (issue 16): ``feed`` gets, slice after slice in input order, a DataFrame of
        the clean rows with ``__row`` and the canonical ``columns``. A suspect row is
        settled as soon as its slice is read (a duplicate only ever looks at earlier
        rows), so the rows fed are exactly the clean plan's, and the plans returned are
        those of :meth:`resolve`.
        """
        if self.resolved is not None:
            raise RuntimeError(f"{self.raw.name} is already resolved: nothing would be fed")
        n_rows = self.input_rows()
        candidate = self._candidate(n_rows)
        raw_cols = list(self.raw.columns)
        flags = [c for c in self._suspect_cols() if c not in raw_cols]
        wanted = [_PARSED + c for c in columns if _PARSED + c not in flags]
        renamed = {_PARSED + c: c for c in columns}
        suspects: list[pl.DataFrame] = []
        for part in row_slices(self.rows, rows=n_rows, step=step):
            # The raw values are read again only for a slice's suspect rows (usually
            # none): carried for every row they cost ~0.3 GB per 4M rows.
            rows = part.with_columns(candidate).select(*flags, *wanted).collect()
            is_suspect = rows.select(_SUSPECT).to_series()
            suspect = rows.filter(is_suspect)
            clean = rows.filter(~is_suspect).select(_ROW, *renamed)
            del rows
            if suspect.height:
                raw = (
                    part.select(_ROW, *raw_cols)
                    .filter(pl.col(_ROW).is_in(suspect.get_column(_ROW).implode()))
                    .collect()
                )
                suspect = suspect.join(raw, on=_ROW, how="left", maintain_order="left")
                suspects.append(suspect)
                # settled among every suspect so far: only earlier rows decide a duplicate
                bad = _settle(
                    pl.concat(suspects), raw_cols=list(self.raw.columns), key=list(self.key),
                    rep_ref=self.rep_ref,
                )  # fmt: skip
                kept = suspect.filter(~pl.col(_ROW).is_in(bad.get_column(_ROW).implode()))
                if kept.height:
                    clean = pl.concat([clean, kept.select(_ROW, *renamed)]).sort(_ROW)
            feed(clean.rename(renamed))
        suspect_cols = self._suspect_cols()
        suspect = (
            pl.concat([s.select(suspect_cols) for s in suspects])
            if suspects
            else pl.DataFrame(
                schema=self.rows.with_columns(candidate).select(suspect_cols).collect_schema()
            )
        )
        return self._settled(suspect)

    def input_rows(self, *, engine: str = "auto") -> int:
        """The well-formed rows of the input file (counted once: a CSV is scanned for it)."""
        if self._input_rows is None:
            self._input_rows = self.raw.frame.select(pl.len()).collect(engine=engine).item()
        return self._input_rows

    def _candidate(self, n_rows: int, *, engine: str = "auto") -> pl.Expr:
        """``__candidate``: the row's key hash repeats (pass 1, which reads only the key).

        Sorting one u64 column and comparing neighbours costs half of a 15M-entry hash
        table (is_duplicated).
        """
        hashes = pl.col("__key_hash")
        repeated = (
            collect_sliced(self.rows, lambda part: part.select(hashes), rows=n_rows, engine=engine)
            .lazy()
            .select(hashes.sort())
            .filter(hashes == hashes.shift(1))
            .unique()
            .collect()
            .get_column("__key_hash")
            .implode()
        )
        return pl.col("__key_hash").is_in(repeated).alias("__candidate")

    def _suspect_cols(self) -> list[str]:
        return [
            _ROW,
            *self.raw.columns,
            *(_PARSED + k for k in self.key),
            "reason",
            "reason_column",
            "__unknown",
            "__candidate",
        ]

    def _settled(self, suspect: pl.DataFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        raw_cols = list(self.raw.columns)
        bad = _settle(suspect, raw_cols=raw_cols, key=list(self.key), rep_ref=self.rep_ref)
        # A membership filter on a small set of row numbers streams in bounded memory
        # (an anti join on 15M rows would materialise them).
        bad_rows = bad.get_column(_ROW).implode()
        self.bad_rows = bad_rows
        clean = self._clean_of(self.rows)
        # The suspects already hold the raw values: no second pass over the input.
        quarantine = (
            suspect.lazy()
            .select(_ROW, *raw_cols)
            .join(bad.lazy(), on=_ROW, how="inner")
            .sort(_ROW)
            .select(*raw_cols, "reason", "reason_column", (pl.col(_ROW) + 1).alias("source_row"))
        )
        if self.raw.malformed is not None:  # CSV lines with the wrong shape (source_row = line)
            quarantine = pl.concat(
                [
                    quarantine.with_columns(
                        pl.col("source_row").map_batches(
                            self.raw.source_rows, return_dtype=pl.Int64
                        ),
                        pl.lit(None, pl.String).alias("raw_line"),
                    ),
                    self.raw.malformed.lazy(),
                ],
                how="diagonal_relaxed",
            )
        self.resolved = (clean, quarantine)  # the passes over the input run once
        return self.resolved

    def _clean_of(self, rows: pl.LazyFrame) -> pl.LazyFrame:
        """The clean canonical columns of ``rows`` (a plan over ``self.rows``)."""
        return rows.filter(~pl.col(_ROW).is_in(self.bad_rows)).select(
            pl.col(_PARSED + name).alias(name) for name in self.columns
        )

    def clean_slices(self, *, step: int | None = None) -> list[pl.LazyFrame]:
        """The clean plan cut into slices of input rows (each a bounded-memory query).

        Stacked in order they are ``resolve()[0]``; see :mod:`analysis.slices`.
        """
        self.resolve()
        return [
            self._clean_of(part)
            for part in row_slices(self.rows, rows=self.input_rows(), step=step)
        ]


@dataclass
class ValidationResult:
    """Lazy plans for every table present, plus dataset-level warnings."""

    data_dir: Path
    default_tz: str
    tables: dict[str, TablePlan]
    warnings: list[str] = field(default_factory=list)

    @property
    def missing_tables(self) -> list[str]:
        """Optional canonical tables not present in the data folder."""
        return [t for t in TABLES if t not in self.tables]

    def unavailable(self) -> dict[str, list[str]]:
        """Output table -> the input tables it lacks (the registry says what each needs)."""
        from analysis.registry import unavailable

        return unavailable(self.tables.keys())


# ---------------------------------------------------------------- parsing --
def _text(expr: pl.Expr) -> pl.Expr:
    """Stripped text with empty strings as null."""
    # replace() strips once; a when/then on the stripped text strips twice (45% slower)
    return expr.cast(pl.String).str.strip_chars().replace("", None)


def parse_datetime_utc(text: pl.Expr) -> pl.Expr:
    """Parse ISO 8601 text to UTC; offsets and ``Z`` are converted, naive means UTC.

    Examples
    --------
    >>> df = pl.DataFrame({"t": ["2026-07-01T10:00:00+02:00", "2026-07-01 08:00", "2026-07-01",
    ...     "2026-07-01 10:00 +0200", "2026-07-01 09:30 UTC", "x"]})
    >>> df.select(parse_datetime_utc(pl.col("t"))).to_series().dt.hour().to_list()
    [8, 8, 0, 8, 9, None]
    """
    norm = (
        text.str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2})$", "${1}T00:00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"\s*([zZ]|UTC|GMT)$", "+00:00")
        .str.replace(r"\s+([+-]\d{2}:?\d{2})$", "${1}")
        .str.replace(r"T(\d{2}:\d{2})([+-]|$)", "T${1}:00${2}")
    )
    # naive (ends with the seconds; the parser takes one-digit fields too): UTC. One
    # chain, each step once: polars does not share a subexpression used in both branches
    # of a when/then.
    with_offset = norm.str.replace(r"(\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?)$", "${1}+00:00")
    return with_offset.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%z", time_zone="UTC", time_unit="us", strict=False
    )


def parse_number(text: pl.Expr) -> pl.Expr:
    """Parse numbers as CRM exports write them: ``1234.5``, ``1,234.50``, ``$1,234``.

    A currency symbol in front and thousands separators (commas in groups of three) are
    dropped; anything else that is not a plain number is unparseable (null).

    Examples
    --------
    >>> df = pl.DataFrame({"a": ["1,234.50", "$ 2,000", "-3", "1.234,50", "12,34"]})
    >>> df.select(parse_number(pl.col("a"))).to_series().to_list()
    [1234.5, 2000.0, -3.0, None, None]
    """
    stripped = text.str.strip_chars().str.replace(r"^[$€£¥]\s*", "")
    grouped = stripped.str.contains(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
    plain = pl.when(grouped).then(stripped.str.replace_all(",", "")).otherwise(stripped)
    return plain.cast(pl.Float64, strict=False)


def _parse(
    expr: pl.Expr,
    *,
    source: pl.DataType | None,
    target: pl.DataType,
    text: pl.Expr | None = None,
) -> pl.Expr:
    """Parse one raw column into ``target``; unparseable values become null.

    ``text`` is the column's :func:`_text` when already computed (a text source).
    """
    if source is None:
        return pl.lit(None, dtype=target)
    if text is None:
        text = _text(expr)
    if isinstance(target, pl.Datetime):
        if isinstance(source, pl.Datetime):
            if source.time_zone is None:
                return expr.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
            return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if isinstance(source, pl.Date):
            return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return parse_datetime_utc(text)
    if isinstance(target, pl.Date):
        if isinstance(source, pl.Datetime):
            return expr.dt.date()
        if isinstance(source, pl.Date):
            return expr
        looks_like_date = text.str.contains(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")
        return pl.when(looks_like_date).then(
            text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        )
    if target == pl.Boolean:
        if source == pl.Boolean:
            return expr
        if source.is_numeric():
            return pl.when(expr == 1).then(True).when(expr == 0).then(False)
        low = text.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    if target == pl.Float64:
        if source.is_numeric():
            return expr.cast(pl.Float64)
        return parse_number(text)
    return text  # String and Enum columns start as text


def _vocabulary(table: str, column: str, text: pl.Expr) -> pl.Expr:
    """Normalise closed-vocabulary text (roles, statuses, activity types)."""
    if column == "role":
        return text.str.to_uppercase().replace(ROLE_ALIASES)
    if column == "status":
        return text.str.to_lowercase().replace(MEETING_STATUS_ALIASES).str.replace_all(r"[ -]", "_")
    if column == "activity_type":
        return text.str.to_lowercase().str.replace_all(r"[ -]+", "_")
    return text


def _unparsed(value: pl.Expr, target: pl.DataType) -> pl.Expr:
    """True where a present value did not parse (null), or parsed to NaN or infinity."""
    if target == pl.Float64:
        return value.is_null() | ~value.is_finite().fill_null(True)
    return value.is_null()


# ---------------------------------------------------------------- planning --
def _scope_checks(
    table: str, rep_ids: pl.Series | None, teams: pl.Series | None
) -> list[tuple[pl.Expr, str, str]]:
    """Row checks of a change's scope: a team or a rep must be given, and a team must exist."""
    if table not in _SCOPE_TABLES:
        return []
    team, rep = pl.col(_PARSED + "team"), pl.col(_PARSED + "rep_id")
    checks = [(team.is_null() & rep.is_null(), "missing_required_value", "team")]
    if teams is not None:
        checks.append((team.is_not_null() & ~team.is_in(teams.implode()), "invalid_value", "team"))
    return checks


def plan_table(
    raw: RawTable, *, rep_ids: pl.Series | None = None, teams: pl.Series | None = None
) -> TablePlan:
    """Build the lazy clean and quarantine plans of one table.

    ``rep_ids`` are the clean rep ids; tables that reference reps quarantine
    unknown ones. Pure: nothing is read until the plans are collected.
    """
    table = raw.name
    columns = TABLES[table].columns()
    target_schema = polars_schema(table)
    source_schema = raw.frame.collect_schema()
    lf = raw.frame.with_row_index(_ROW)
    # Each text column is stripped once (``_TEXT`` + name): its parse and its
    # "present" check both read that, instead of stripping it again.
    texts = [n for n in columns if source_schema.get(n) == pl.String]
    lf = lf.with_columns(_text(pl.col(n)).alias(_TEXT + n) for n in texts)

    parsed: list[pl.Expr] = []
    checks: list[tuple[pl.Expr, str, str]] = []  # (failed, reason, column) in priority order
    invalid: list[tuple[pl.Expr, str, str]] = []
    missing: list[tuple[pl.Expr, str, str]] = []
    for name, col in columns.items():
        target = target_schema[name]
        source = source_schema.get(name)
        raw_expr = pl.col(name)
        text = pl.col(_TEXT + name) if name in texts else None
        if text is not None:
            present = text.is_not_null()
        else:
            present = pl.lit(False) if source is None else _present(raw_expr, source)
        if isinstance(target, pl.Enum) or name == "activity_type":
            norm = (
                _vocabulary(table, name, _text(raw_expr) if text is None else text)
                if source is not None
                else pl.lit(None, pl.String)
            )
            if isinstance(target, pl.Enum):
                allowed = list(target.categories)
                parsed.append(
                    pl.when(norm.is_in(allowed)).then(norm).cast(target).alias(_PARSED + name)
                )
                invalid.append((present & ~norm.is_in(allowed), "invalid_value", name))
            else:
                parsed.append(norm.alias(_PARSED + name))
        else:
            parsed.append(
                _parse(raw_expr, source=source, target=target, text=text).alias(_PARSED + name)
            )
            # the checks read the parsed column: the parse (regexes on CSV text) runs once
            value = pl.col(_PARSED + name)
            if target != pl.String:
                checks.append((present & _unparsed(value, target), "unparseable_value", name))
            if (table, name) in NON_NEGATIVE:
                invalid.append(((value < 0).fill_null(False), "invalid_value", name))
        if not col.nullable and not (table == "reps" and name == "timezone"):
            missing.append((~present, "missing_required_value", name))

    ordered = checks + missing + invalid + _scope_checks(table, rep_ids, teams)
    reason = pl.lit(None, dtype=pl.String)
    reason_column = pl.lit(None, dtype=pl.String)
    for failed, why, column in reversed(ordered):
        reason = pl.when(failed).then(pl.lit(why)).otherwise(reason)
        reason_column = pl.when(failed).then(pl.lit(column)).otherwise(reason_column)

    lf = lf.with_columns(*parsed).with_columns(
        reason.alias("reason"), reason_column.alias("reason_column")
    )
    key = TABLES[table].primary_key()
    pk = [_PARSED + k for k in key]
    # Exact copies share their key, so only rows whose key hash repeats can be
    # duplicates (without a key: the whole-row hash). Collisions only add candidates.
    hashed = pl.struct(pk).hash() if pk else pl.struct(list(raw.columns)).hash()
    ref = REP_REFERENCES.get(table)
    unknown = (
        (pl.col(_PARSED + ref).is_not_null() & ~pl.col(_PARSED + ref).is_in(rep_ids.implode()))
        if ref is not None and rep_ids is not None
        else pl.lit(False)
    )
    lf = lf.with_columns(
        hashed.alias("__key_hash"),
        (pl.col("reason").is_null() & unknown).alias("__unknown"),
    )
    return TablePlan(raw, lf, tuple(columns), tuple(key), rep_ref=ref)


def _settle(
    suspect: pl.DataFrame, *, raw_cols: list[str], key: list[str], rep_ref: str | None
) -> pl.DataFrame:
    """Final reasons of the suspect rows: ``duplicate``, ``duplicate_key``, ``unknown_rep``.

    Runs in memory on the few rows that failed a row-level check or share a key
    hash. Returns ``(row, reason, reason_column)`` for every quarantined row.
    """
    pk = [_PARSED + k for k in key]
    first_copy = pl.col(_ROW) == pl.col(_ROW).min().over(raw_cols)
    out = suspect.with_columns(
        pl.when(pl.col("__candidate") & pl.col("reason").is_null() & ~first_copy)
        .then(pl.lit("duplicate"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    if pk:
        first_valid = pl.when(pl.col("reason").is_null()).then(pl.col(_ROW)).min().over(pk)
        conflict = (
            pl.col("__candidate") & pl.col("reason").is_null() & (pl.col(_ROW) != first_valid)
        )
        out = out.with_columns(
            pl.when(conflict)
            .then(pl.lit("duplicate_key"))
            .otherwise(pl.col("reason"))
            .alias("reason"),
            pl.when(conflict)
            .then(pl.lit(key[0]))
            .otherwise(pl.col("reason_column"))
            .alias("reason_column"),
        )
    unknown = pl.col("__unknown") & pl.col("reason").is_null()
    out = out.with_columns(
        pl.when(unknown).then(pl.lit("unknown_rep")).otherwise(pl.col("reason")).alias("reason"),
        pl.when(unknown)
        .then(pl.lit(rep_ref))
        .otherwise(pl.col("reason_column"))
        .alias("reason_column"),
    )
    return out.filter(pl.col("reason").is_not_null()).select(_ROW, "reason", "reason_column")


def _present(expr: pl.Expr, source: pl.DataType) -> pl.Expr:
    if source == pl.String:
        return expr.str.strip_chars().str.len_bytes().fill_null(0) > 0
    return expr.is_not_null()


# -------------------------------------------------------------- dataset ----
def validate_dataset(data_dir: str | Path, *, default_tz: str = "UTC") -> ValidationResult:
    """Scan and plan validation of a canonical dataset folder.

    Only the (small) reps table is collected here, because other tables need
    the set of clean rep ids. Everything else stays lazy until
    :func:`write_validation`.
    """
    if default_tz not in zoneinfo.available_timezones():
        raise BadInputError(
            f"unknown time zone {default_tz!r} (expected an IANA name such as Europe/Berlin)"
        )
    raws = scan_dataset(data_dir)
    warnings: list[str] = []
    reps_plan = plan_table(raws["reps"])
    try:
        reps_clean_lf, reps_quarantine = reps_plan.resolve()
        reps_clean = reps_clean_lf.collect()
    except pl.exceptions.PolarsError as err:
        raise BadInputError(
            f"unreadable reps file ({' '.join(str(err).split())[:160]})", file=raws["reps"].path
        ) from None
    valid_zones = zoneinfo.available_timezones()
    bad_tz = reps_clean.filter(
        pl.col("timezone").is_not_null() & ~pl.col("timezone").is_in(valid_zones)
    )
    if bad_tz.height:
        warnings.append(
            f"{bad_tz.height} rep(s) have an unknown time zone and use {default_tz}: "
            + ", ".join(sorted(bad_tz["rep_id"].to_list())[:10])
        )
    fixed = reps_clean.with_columns(
        pl.when(pl.col("timezone").is_in(valid_zones))
        .then(pl.col("timezone"))
        .otherwise(pl.lit(default_tz))
        .alias("timezone")
    )
    reps_plan.resolved = (fixed.lazy(), reps_quarantine)
    plans = {"reps": reps_plan}
    rep_ids = fixed["rep_id"]
    for table, raw in raws.items():
        if table != "reps":
            plans[table] = plan_table(raw, rep_ids=rep_ids, teams=fixed["team"].unique())
    return ValidationResult(Path(data_dir), default_tz, plans, warnings)


def write_validation(
    result: ValidationResult,
    out_dir: str | Path,
    *,
    keep_clean: bool = True,
    lazy_clean: Collection[str] = (),
) -> dict[str, Any]:
    """Write ``quarantine/<table>.parquet``, ``quality.json`` and (optionally) ``clean/<table>.parquet``.

    Returns the quality report. Each table is read once to find its bad or
    suspect rows, then streamed once into ``clean/`` and ``quarantine/``.
    Tables in ``lazy_clean`` get no clean copy: their clean rows are the input minus
    the quarantined row numbers (``TablePlan.resolve()[0]`` reads them again on
    demand), which saves writing the largest table twice (issue 16).
    """
    from analysis.io import write_json

    out = Path(out_dir)
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    (out / "clean").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for table, plan in result.tables.items():
        clean_path = out / "clean" / f"{table}.parquet"
        quarantine_path = out / "quarantine" / f"{table}.parquet"
        lazy = table in lazy_clean
        try:
            clean_plan, quarantine_plan = plan.resolve()
            if lazy:
                quarantine_plan.sink_parquet(quarantine_path)
            else:
                pl.collect_all(
                    [
                        clean_plan.sink_parquet(clean_path, lazy=True),
                        quarantine_plan.sink_parquet(quarantine_path, lazy=True),
                    ]
                )
            input_rows = plan.input_rows()
            if plan.raw.malformed is not None:
                input_rows += plan.raw.malformed.height
        except pl.exceptions.PolarsError as err:
            raise BadInputError(
                f"unreadable {table} data ({' '.join(str(err).split())[:160]})", file=plan.raw.path
            ) from None
        quarantined = pl.read_parquet(quarantine_path, columns=["reason", "reason_column"])
        if lazy:
            # The clean plan drops exactly the quarantined well-formed rows (distinct row
            # numbers of the input), so the count follows; the reads downstream recheck it.
            clean_rows = input_rows - quarantined.height
        else:
            clean_rows = pl.scan_parquet(clean_path).select(pl.len()).collect().item()
        if clean_rows + quarantined.height != input_rows:  # the accounting invariant
            raise RuntimeError(
                f"row accounting broke for {table}: {input_rows} != {clean_rows} + {quarantined.height}"
            )
        counts = (
            quarantined.group_by("reason", "reason_column").len().sort("reason", "reason_column")
        )
        reasons: dict[str, int] = {}
        by_column: dict[str, dict[str, int]] = {}
        for why, column, n in counts.iter_rows():
            reasons[why] = reasons.get(why, 0) + n
            by_column.setdefault(why, {})[column] = n
        report[table] = {
            "file": plan.raw.path.name,
            "input_rows": input_rows,
            "clean_rows": clean_rows,
            "quarantined_rows": quarantined.height,
            "reasons": dict(sorted(reasons.items())),
            "reasons_by_column": by_column,
        }
    quality = {
        **report,
        "tables": report,
        "missing_tables": result.missing_tables,
        "unavailable": result.unavailable(),
        "warnings": result.warnings,
        "default_timezone": result.default_tz,
    }
    write_json(out / "quality.json", quality)
    if not keep_clean:
        import shutil

        shutil.rmtree(out / "clean")
    return quality
