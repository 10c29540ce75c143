"""Read a canonical dataset folder: one ``<table>.parquet`` or ``<table>.csv`` per table.

Reading is lazy. Column names are matched case-insensitively; CSV values are
read as text so that the validator (not the reader) decides what is bad.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.canonical.schemas import TABLES, required_columns
from analysis.errors import BadInputError

_POLARS_ERRORS = (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class RawTable:
    """A lazily scanned input table with normalised (lower-case) column names."""

    name: str
    path: Path
    frame: pl.LazyFrame
    columns: tuple[str, ...]


def find_table_file(data_dir: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``data_dir`` (parquet preferred over CSV), or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "reps.csv").write_text("rep_id,role,team\\n")
    >>> find_table_file(d, "reps").name
    'reps.csv'
    """
    by_lower = {p.name.lower(): p for p in data_dir.iterdir() if p.is_file()}
    for suffix in (".parquet", ".csv"):
        path = by_lower.get(f"{table}{suffix}")
        if path is not None:
            return path
    return None


def _scan(path: Path) -> pl.LazyFrame:
    if path.suffix.lower() == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(
        path,
        infer_schema=False,  # everything as text: parsing is the validator's job
        encoding="utf8",
        truncate_ragged_lines=False,
    )


def scan_table(path: Path, table: str) -> RawTable:
    """Scan one input file and check it has the table's required columns.

    Raises ``BadInputError`` (naming the file and column) for an unreadable
    file, a corrupt parquet, binary garbage or a missing required column.
    """
    try:
        frame = _scan(path)
        schema = frame.collect_schema()
    except _POLARS_ERRORS as err:
        raise BadInputError(f"unreadable {table} file ({_short(err)})", file=path) from None
    names = [str(n) for n in schema.names()]
    lowered = [n.strip().lower() for n in names]
    seen: set[str] = set()
    for original, low in zip(names, lowered, strict=True):
        if low in seen:
            raise BadInputError("duplicate column name", file=path, column=original)
        seen.add(low)
    for column in required_columns(table):
        if column not in seen:
            raise BadInputError("missing required column", file=path, column=column)
    renamed = frame.rename(dict(zip(names, lowered, strict=True)))
    return RawTable(table, path, renamed, tuple(lowered))


def scan_dataset(data_dir: str | Path) -> dict[str, RawTable]:
    """Scan every canonical table present in ``data_dir``; ``reps`` is required.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "reps.csv").write_text("REP_ID,Role,team\\nr1,AE,East\\n")
    >>> scan_dataset(d)["reps"].columns
    ('rep_id', 'role', 'team')
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise BadInputError("data folder not found", file=data_dir)
    tables: dict[str, RawTable] = {}
    for table in TABLES:
        path = find_table_file(data_dir, table)
        if path is None:
            if table == "reps":
                raise BadInputError(
                    "missing required table reps (reps.csv or reps.parquet)", file=data_dir
                )
            continue
        tables[table] = scan_table(path, table)
    return tables


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:160] + ("…" if len(text) > 160 else "")
