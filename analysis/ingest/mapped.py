"""Any CSVs -> canonical tables through a TOML mapping (CONTRACT section 4).

::

    [tables.opportunities]
    file = "sales_pipeline.csv"          # relative to the mapping file
    format = "%m/%d/%Y"                  # optional: date/datetime format tried first for this table
    delimiter = ","                      # optional
    encoding = "utf-8"                   # optional (default: UTF-8, else Windows-1252)
    [tables.opportunities.columns]
    opportunity_id = "opportunity_id"                              # a source column
    role = { value = "AE" }                                        # a constant
    is_won = { column = "deal_stage", in = ["Won"] }               # membership test
    stage = { column = "deal_stage", map = { Won = "Closed Won" } }  # value map (others kept)
    closed_at = { column = "close_date", format = "%m/%d/%Y" }     # a date format

Source column names are matched case-insensitively. Values are written as text
except where a ``format`` is given (then parsed to the canonical type) and
membership tests (booleans); the validator parses and quarantines the rest.

A table may instead be a SQL query over named sources, run by polars' SQL engine
(joins, ``UNION``, ``DISTINCT``, string functions such as ``'sdr-' || id``)::

    [sources]                            # name = CSV path (relative to the mapping file)
    leads = "leads.csv"
    deals = "exports/deals-*.csv"        # a glob: every matching file, stacked (same headers)

    [tables.reps]
    sql = '''
    SELECT DISTINCT sdr_id AS rep_id, 'BDR' AS role, 'Funnel' AS team FROM deals
    UNION SELECT DISTINCT sr_id AS rep_id, 'AE' AS role, 'Funnel' AS team FROM deals
    '''
    format = "%Y-%m-%d"                  # optional, as for file tables

Every source value is text (column names as in the file's header; quote names with
spaces or capitals: ``"Sales Agent"``). The query's result columns are canonical
column names; an unknown one is an error naming it. Blank and report-footer lines
of a source are set aside (quarantine/source_<name>.parquet) before any query.
Result rows are sorted, so the same files give the same tables.
"""

from __future__ import annotations

import glob
import re
import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from analysis.canonical.schemas import TABLES, polars_schema
from analysis.errors import BadInputError
from analysis.ingest.common import (
    MALFORMED,
    REASON,
    ROW,
    IngestPlan,
    Part,
    SourceObject,
    footer_reason,
    parse_date,
    parse_datetime,
    read_csv_text,
    text,
    write_ingest,
)

_FILE = "_source_file"
#: polars SQL table functions that read files: queries read only the named sources
_FILE_FUNCTIONS = re.compile(r"\b(read|scan)_[a-z_]+\s*\(", re.IGNORECASE)
_TABLE_KEYS = {"file", "columns", "format", "delimiter", "encoding"}
_SQL_KEYS = {"sql", "format"}
_SOURCE_KEYS = {"file", "delimiter", "encoding"}


def _bad(mapping: Path, message: str, column: str | None = None) -> BadInputError:
    return BadInputError(message, file=mapping, column=column)


def load_mapping(mapping: Path) -> dict[str, dict[str, Any]]:
    """Read and check the mapping TOML (tables, columns, files); errors name the mapping file."""
    try:
        data = tomllib.loads(Path(mapping).read_text(encoding="utf-8"))
    except OSError as err:
        raise _bad(mapping, f"cannot read mapping file ({err.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise _bad(mapping, f"bad TOML ({' '.join(str(err).split())})") from None
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise _bad(mapping, "no [tables.<name>] sections")
    extra_top = set(data) - {"tables", "sources"}
    if extra_top:
        raise _bad(mapping, f"unknown section [{sorted(extra_top)[0]}]")
    sources = load_sources(mapping, data.get("sources"))
    for name, spec in tables.items():
        if name not in TABLES:
            raise _bad(mapping, f"unknown table {name!r} (expected one of {', '.join(TABLES)})")
        if isinstance(spec, dict) and "sql" in spec:
            _check_sql_table(mapping, name, spec, sources)
            continue
        if not isinstance(spec, dict) or "file" not in spec:
            raise _bad(mapping, f'[tables.{name}] needs file = "..." or sql = "SELECT ..."')
        extra = set(spec) - _TABLE_KEYS
        if extra:
            raise _bad(mapping, f"[tables.{name}] has unknown key {sorted(extra)[0]!r}")
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise _bad(mapping, f"[tables.{name}.columns] is missing or empty")
        known = polars_schema(name)
        for target, source in columns.items():
            if target not in known:
                raise _bad(mapping, f"unknown column of {name}", column=target)
            if isinstance(source, str):
                continue
            if not isinstance(source, dict):
                raise _bad(
                    mapping,
                    f"{name}.{target}: expected a column name or an inline table",
                    column=target,
                )
            if "value" in source:
                continue
            if "column" not in source:
                raise _bad(mapping, f"{name}.{target}: needs 'column' or 'value'", column=target)
            if "in" in source and not isinstance(source["in"], list):
                raise _bad(mapping, f"{name}.{target}: 'in' must be a list", column=target)
            if "map" in source and not isinstance(source["map"], dict):
                raise _bad(mapping, f"{name}.{target}: 'map' must be a table", column=target)
    return tables


def load_sources(mapping: Path, sources: object) -> dict[str, dict[str, Any]]:
    """The ``[sources]`` section: name -> ``{"file": path or glob, "delimiter", "encoding"}``.

    A source is ``name = "path.csv"`` or ``name = { file = "...", delimiter = ";" }``.
    Names must be SQL identifiers (letters, digits, ``_``).
    """
    if sources is None:
        return {}
    if not isinstance(sources, dict):
        raise _bad(mapping, '[sources] must be a table of name = "file.csv"')
    out: dict[str, dict[str, Any]] = {}
    for name, spec in sources.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise _bad(mapping, f"source name {name!r} must be letters, digits and _")
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise _bad(mapping, f'[sources] {name} needs a file ("path.csv" or a glob)')
        extra = set(spec) - _SOURCE_KEYS
        if extra:
            raise _bad(mapping, f"[sources] {name} has unknown key {sorted(extra)[0]!r}")
        out[name] = dict(spec)
    return out


def _check_sql_table(
    mapping: Path, name: str, spec: dict[str, Any], sources: dict[str, dict[str, Any]]
) -> None:
    extra = set(spec) - _SQL_KEYS
    if extra:
        raise _bad(
            mapping,
            f"[tables.{name}] has sql and {sorted(extra)[0]!r}: a sql table names its "
            "columns in the query (SELECT source_column AS canonical_column)",
        )
    if not isinstance(spec["sql"], str) or not spec["sql"].strip():
        raise _bad(mapping, f"[tables.{name}] sql must be a non-empty SELECT query")
    if not sources:
        raise _bad(mapping, f"[tables.{name}] uses sql but the mapping has no [sources]")
    reader = _FILE_FUNCTIONS.search(spec["sql"])
    if reader:
        raise _bad(
            mapping,
            f"[tables.{name}] sql may only read the mapping's [sources], not {reader.group(0)}...)",
        )


def source_files(mapping: Path, pattern: str) -> list[Path]:
    """The files of one source, relative to the mapping file; a glob gives every match, sorted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for m in ("2026-02", "2026-01"):
    ...     _ = (d / f"deals-{m}.csv").write_text("id\\n1\\n")
    >>> [p.name for p in source_files(d / "m.toml", "deals-*.csv")]
    ['deals-2026-01.csv', 'deals-2026-02.csv']
    """
    base = Path(mapping).parent
    if glob.has_magic(pattern):
        root = Path(pattern)
        if root.is_absolute():
            anchor = Path(root.anchor)
            found = sorted(anchor.glob(str(root.relative_to(anchor))))
        else:
            found = sorted(base.glob(pattern))
        return [p.resolve() for p in found if p.is_file()]
    path = (base / pattern).resolve()
    return [path] if path.is_file() else []


def _read_source(mapping: Path, name: str, spec: dict[str, Any]) -> pl.LazyFrame:
    """All files of a source stacked as text, with ``_source_row`` and ``_source_file``."""
    files = source_files(mapping, spec["file"])
    if not files:
        raise _bad(mapping, f"[sources] {name}: no file matches {spec['file']!r}")
    frames = []
    header: list[str] | None = None
    for path in files:
        frame = read_csv_text(
            path, delimiter=str(spec.get("delimiter", ",")), encoding=spec.get("encoding")
        )
        names = [c for c in frame.collect_schema().names() if c not in (ROW, MALFORMED)]
        if header is None:
            header = names
        elif names != header:
            raise _bad(
                mapping,
                f"[sources] {name}: {path.name} has other columns than {files[0].name}",
            )
        frames.append(frame.with_columns(pl.lit(path.name).alias(_FILE)))
    # a file with unparseable lines has a ``_malformed_line`` column the others lack
    return pl.concat(frames, how="diagonal")


def _plan_sql_tables(mapping: Path, tables: dict[str, dict[str, Any]], plan: IngestPlan) -> None:
    """Add the sources (row accounting, footers set aside) and every ``sql`` table to ``plan``."""
    data = tomllib.loads(Path(mapping).read_text(encoding="utf-8"))
    sources = load_sources(mapping, data.get("sources"))
    sql_tables = {t: spec for t, spec in tables.items() if "sql" in spec}
    if not sql_tables:
        return
    frames: dict[str, pl.LazyFrame] = {}
    for name, spec in sources.items():
        raw = _read_source(mapping, name, spec)
        names = [c for c in raw.collect_schema().names() if c not in (ROW, _FILE)]
        annotated = raw.with_columns(footer_reason(names).alias(REASON))
        plan.objects.append(
            SourceObject(f"source_{name}", spec["file"], annotated, pl.col(REASON), [])
        )
        data_columns = [c for c in names if c != MALFORMED]
        frames[name] = annotated.filter(pl.col(REASON).is_null()).select(data_columns)
    context = pl.SQLContext(frames=frames, eager=False)
    for table, spec in sql_tables.items():
        try:
            result = context.execute(spec["sql"])
            schema = result.collect_schema()
        except (pl.exceptions.PolarsError, ValueError) as err:
            first = " ".join(str(err).split("Resolved plan")[0].split())[:200]
            raise _bad(mapping, f"[tables.{table}] sql failed: {first}") from None
        known = polars_schema(table)
        unknown = [c for c in schema.names() if c not in known]
        if unknown:
            raise _bad(
                mapping,
                f"[tables.{table}] sql result column {unknown[0]!r} is not a column of {table} "
                f"(expected some of {', '.join(known.names())})",
                column=unknown[0],
            )
        fmt = spec.get("format")
        exprs = []
        for column in schema.names():
            value = pl.col(column)
            if fmt and schema[column] == pl.String:
                if isinstance(known[column], pl.Date):
                    value = pl.coalesce([parse_date(value, formats=[fmt]).cast(pl.String), value])
                elif isinstance(known[column], pl.Datetime):
                    parsed = parse_datetime(value, formats=[fmt])
                    value = pl.coalesce([parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"), value])
            exprs.append(value.alias(column))
        rows = _as_text(result.select(exprs), table)
        rows = rows.sort(rows.collect_schema().names(), nulls_last=True)
        annotated = rows.with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW),
            pl.lit(None, pl.String).alias(REASON),
        )
        plan.objects.append(
            SourceObject(
                f"sql_{table}", "sql", annotated, None, [Part(table, table, annotated, rows)]
            )
        )


def _source_column(
    lookup: dict[str, str], mapping: Path, table: str, name: str, path: Path
) -> pl.Expr:
    actual = lookup.get(name.strip().lower())
    if actual is None:
        raise _bad(
            mapping, f"[tables.{table}] source column {name!r} is not in {path.name}", column=name
        )
    return pl.col(actual)


def column_expr(
    target: str,
    source: str | dict,
    *,
    table: str,
    lookup: dict[str, str],
    mapping: Path,
    path: Path,
    fmt: str | None,
) -> pl.Expr:
    """The expression for one canonical column (see the module docstring)."""
    dtype = polars_schema(table)[target]
    if isinstance(source, dict) and "value" in source:
        value = source["value"]
        return pl.lit(
            value if value is None else str(value) if not isinstance(value, bool) else value
        )
    name = source if isinstance(source, str) else str(source["column"])
    raw = _source_column(lookup, mapping, table, name, path)
    if isinstance(source, dict) and "in" in source:
        return text(raw).is_in([str(v) for v in source["in"]]).fill_null(False)
    value = text(raw)
    if isinstance(source, dict) and "map" in source:
        pairs = {str(k): str(v) for k, v in source["map"].items()}
        value = pl.coalesce(
            [value.replace_strict(pairs, default=None, return_dtype=pl.String), value]
        )
    col_fmt = source.get("format") if isinstance(source, dict) else None
    use = col_fmt or fmt
    if use and isinstance(dtype, pl.Date):
        return pl.coalesce([parse_date(value, formats=[use]).cast(pl.String), value])
    if use and isinstance(dtype, pl.Datetime):
        parsed = parse_datetime(value, formats=[use])
        return pl.coalesce([parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"), value])
    return value


def plan_mapped(mapping: Path) -> IngestPlan:
    """Build the ingest plan of a mapping file (reads only CSV headers here)."""
    mapping = Path(mapping)
    tables = load_mapping(mapping)
    plan = IngestPlan("mapped", extra={"mapping": str(mapping)})
    _plan_sql_tables(mapping, tables, plan)
    for table, spec in tables.items():
        if "sql" in spec:
            continue
        path = (mapping.parent / str(spec["file"])).resolve()
        if not path.is_file():
            raise _bad(mapping, f"[tables.{table}] file {spec['file']!r} not found")
        frame = read_csv_text(
            path, delimiter=str(spec.get("delimiter", ",")), encoding=spec.get("encoding")
        )
        names = [c for c in frame.collect_schema().names() if c != ROW]
        lookup: dict[str, str] = {}
        for n in names:
            if n != MALFORMED:
                lookup.setdefault(n.strip().lower(), n)
        exprs = [
            column_expr(
                t, s, table=table, lookup=lookup, mapping=mapping, path=path, fmt=spec.get("format")
            ).alias(t)
            for t, s in spec["columns"].items()
        ]
        footer = footer_reason(names)
        annotated = frame.with_columns(footer.alias(REASON))
        rows = annotated.filter(pl.col(REASON).is_null()).select(exprs)
        rows = _as_text(rows, table)
        plan.objects.append(
            SourceObject(
                table, str(path), annotated, pl.col(REASON), [Part(table, table, annotated, rows)]
            )
        )
    if "reps" not in tables:
        raise _bad(mapping, "the reps table is required ([tables.reps])")
    return plan


def _as_text(rows: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Text for every mapped column except booleans, so the validator parses (and quarantines) values."""
    schema = rows.collect_schema()
    return rows.with_columns(
        [pl.col(c).cast(pl.String) for c, dt in schema.items() if dt != pl.Boolean]
    )


def ingest_mapped(mapping: Path, out_dir: Path, *, tz: str = "UTC") -> dict:
    """Build a canonical dataset from CSV files through a mapping TOML.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "teams.csv").write_text("agent,office\\nAnna,East\\n")
    >>> _ = (d / "m.toml").write_text('[tables.reps]\\nfile = "teams.csv"\\n'
    ...     '[tables.reps.columns]\\nrep_id = "agent"\\nteam = "office"\\nrole = { value = "AE" }\\n')
    >>> ingest_mapped(d / "m.toml", d / "out")["tables"]
    {'reps': 1}
    """
    return write_ingest(plan_mapped(Path(mapping)), Path(out_dir), tz=tz)
