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
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from analysis.canonical.schemas import TABLES, polars_schema
from analysis.errors import BadInputError
from analysis.ingest.common import (
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

_TABLE_KEYS = {"file", "columns", "format", "delimiter", "encoding"}


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
    for name, spec in tables.items():
        if name not in TABLES:
            raise _bad(mapping, f"unknown table {name!r} (expected one of {', '.join(TABLES)})")
        if not isinstance(spec, dict) or "file" not in spec:
            raise _bad(mapping, f'[tables.{name}] needs file = "..."')
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
    for table, spec in tables.items():
        path = (mapping.parent / str(spec["file"])).resolve()
        if not path.is_file():
            raise _bad(mapping, f"[tables.{table}] file {spec['file']!r} not found")
        frame = read_csv_text(
            path, delimiter=str(spec.get("delimiter", ",")), encoding=spec.get("encoding")
        )
        names = [c for c in frame.collect_schema().names() if c != ROW]
        lookup: dict[str, str] = {}
        for n in names:
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
