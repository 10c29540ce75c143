"""Read a canonical dataset folder: one ``<table>.parquet`` or ``<table>.csv`` per table.

Reading is lazy. Column names are matched case-insensitively; CSV values are
read as text so that the validator (not the reader) decides what is bad.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.canonical.csv_check import CsvCheck, check_csv, write_without
from analysis.canonical.schemas import TABLES, required_columns
from analysis.errors import BadInputError

_POLARS_ERRORS = (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class RawTable:
    """A lazily scanned input table with normalised (lower-case) column names.

    For a CSV file with malformed lines, ``frame`` reads the file without them,
    ``malformed`` holds them (quarantine rows: the fields as far as they go, ``reason``
    ``malformed_row``, ``source_row`` = the line number, ``raw_line`` = the text) and
    ``record_shift`` maps a row of ``frame`` back to its data-row number in the file.
    """

    name: str
    path: Path
    frame: pl.LazyFrame
    columns: tuple[str, ...]
    malformed: pl.DataFrame | None = None
    record_shift: tuple[int, ...] = ()

    def source_rows(self, position: pl.Series) -> pl.Series:
        """1-based data-row numbers in the file of the 1-based rows ``position`` of ``frame``."""
        position = position.cast(pl.Int64)
        if not self.record_shift:
            return position
        import numpy as np

        shift = np.searchsorted(np.asarray(self.record_shift), position.to_numpy(), side="right")
        return position + pl.Series(shift, dtype=position.dtype)


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
    found = [
        p
        for p in sorted(data_dir.iterdir())
        if p.is_file() and p.name.lower() in (f"{table}.parquet", f"{table}.csv")
    ]
    if len(found) > 1:
        raise BadInputError(
            f"two files for table {table}: {', '.join(p.name for p in found)}; "
            "keep one of them (move or rename the others) and run again",
            file=data_dir,
        )
    return found[0] if found else None


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
    check: CsvCheck | None = None
    source = path
    if path.suffix.lower() == ".csv":
        # shape problems exit 2 here; malformed lines are set aside for the quarantine
        check = check_csv(path)
        if check.malformed:
            source = write_without(path, check)
    try:
        frame = _scan(source)
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
    if check is None or not check.malformed:
        return RawTable(table, path, renamed, tuple(lowered))
    records = check.malformed_records
    return RawTable(
        table,
        path,
        renamed,
        tuple(lowered),
        malformed=_malformed_rows(check, tuple(lowered)),
        record_shift=tuple(r - i for i, r in enumerate(records)),
    )


def _malformed_rows(check: CsvCheck, columns: tuple[str, ...]) -> pl.DataFrame:
    """Quarantine rows of the malformed lines: fields as far as they go, and the raw text."""
    fields: list[list[str]] = []
    for _, text in check.malformed:
        try:
            fields.append(next(csv.reader([text])))
        except (csv.Error, StopIteration):
            fields.append([])
    data: dict[str, list] = {
        col: [f[i] if i < len(f) else None for f in fields] for i, col in enumerate(columns)
    }
    return pl.DataFrame(
        {
            **data,
            "reason": ["malformed_row"] * len(fields),
            "reason_column": [None] * len(fields),
            "source_row": [line for line, _ in check.malformed],
            "raw_line": [text for _, text in check.malformed],
        },
        schema={
            **{c: pl.String for c in columns},
            "reason": pl.String,
            "reason_column": pl.String,
            "source_row": pl.Int64,
            "raw_line": pl.String,
        },
    )


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
