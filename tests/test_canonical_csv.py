"""Messy CSV files: malformed lines are quarantined with their line number; shape problems exit 2."""

from __future__ import annotations

import contextlib
import errno
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.canonical import csv_check
from analysis.canonical.csv_check import check_csv, write_without
from analysis.canonical.validate import validate_dataset, write_validation
from analysis.cli import main

REPS = "rep_id,name,role,team,manager_id,timezone\nr1,Ann,AE,East,,UTC\nr2,Bob,BDR,East,,UTC\n"
HEADER = "activity_id,rep_id,occurred_at,activity_type,outcome,subject"
GOOD = "a{i},r1,2026-07-0{d}T10:00:00Z,call,connected,Call {i}"


def _activities(lines: list[str]) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def _dataset(tmp: Path, activities: str, *, name: str = "activities.csv") -> Path:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    (data / "reps.csv").write_text(REPS)
    (data / name).write_bytes(
        activities.encode("utf-8") if isinstance(activities, str) else activities
    )
    return data


def _cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, err.getvalue()


MESSY = [
    GOOD.format(i=1, d=1),  # line 2
    "a2,r1,2026-07-01T11:00:00Z,call,connected,Call 2,EXTRA",  # line 3: one field too many
    "a3,r1,2026-07-01T12:00:00Z,call",  # line 4: too few fields
    'a4,r1,2026-07-02T10:00:00Z,email,sent,"Quoted, with comma"',  # line 5: fine
    'a5,r1,2026-07-02T11:00:00Z,email,sent,Stray "quote here',  # line 6: broken quote
    GOOD.format(i=6, d=3),  # line 7
    'a7,r1,2026-07-03T11:00:00Z,note,,"two',  # line 8: a quoted field over two lines
    'lines",',  # line 9 (continues line 8, but one field short overall)
    "a8,zz,2026-07-04T10:00:00Z,call,connected,unknown rep",  # line 10: unknown rep
    'a9,r1,2026-07-04T11:00:00Z,note,,"multi',  # line 11: a valid two-line record
    'line note"',  # line 12
    GOOD.format(i=10, d=5),  # line 13
]


@pytest.fixture()
def messy(tmp_path: Path) -> tuple[Path, dict]:
    data = _dataset(tmp_path, _activities(MESSY))
    result = validate_dataset(data)
    quality = write_validation(result, tmp_path / "out")
    return tmp_path / "out", quality


def test_malformed_lines_are_quarantined_with_their_line_number(messy: tuple[Path, dict]) -> None:
    out, _ = messy
    q = pl.read_parquet(out / "quarantine" / "activities.parquet")
    bad = q.filter(pl.col("reason") == "malformed_row").sort("source_row")
    # a record whose quoting breaks is cut back to its first line: line 9 is read on
    # its own (and is malformed too), and reading goes on from line 10
    assert bad["source_row"].to_list() == [3, 4, 6, 8, 9]
    assert bad["raw_line"][0] == MESSY[1]
    assert bad["activity_id"].to_list()[:4] == ["a2", "a3", "a5", "a7"]


def test_the_rest_of_the_file_is_read_and_the_accounting_is_exact(
    messy: tuple[Path, dict],
) -> None:
    out, quality = messy
    t = quality["tables"]["activities"]
    # 11 records: the valid two-line note is one row
    clean = pl.read_parquet(out / "clean" / "activities.parquet")
    assert sorted(clean["activity_id"].to_list()) == ["a1", "a10", "a4", "a6", "a9"]
    assert t["input_rows"] == t["clean_rows"] + t["quarantined_rows"]
    assert t["reasons"]["malformed_row"] == 5 and t["reasons"]["unknown_rep"] == 1
    assert "multi\nline note" in clean["subject"].to_list()
    # other quarantined rows keep their data-row number in the file (a8 is data row 9)
    q = pl.read_parquet(out / "quarantine" / "activities.parquet")
    assert q.filter(pl.col("reason") == "unknown_rep")["source_row"].to_list() == [9]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (
            _activities([GOOD.format(i=1, d=1)]).replace("subject", "Rep_ID"),
            "activities.csv",
            "duplicate column name 'Rep_ID'",
        ),
        (
            "activity_id;rep_id;occurred_at;activity_type\na1;r1;2026-07-01;call\n",
            "activities.csv",
            "semicolon-separated",
        ),
        (
            _activities([GOOD.format(i=1, d=1)]).replace("\n", "\r"),
            "activities.csv",
            "line endings (CR only)",
        ),
        (
            _activities(["a1,r1,2026-07-01T10:00:00Z,call,connected,Caf\u00e9"]).encode("latin-1"),
            "activities.csv",
            "not UTF-8",
        ),
    ],
)
def test_shape_problems_exit_2_with_one_line_naming_the_file(
    tmp_path: Path, content: str | bytes, name: str, expected: str
) -> None:
    data = _dataset(tmp_path, content, name=name)
    status, err = _cli(
        "metrics",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "m"),
        "--quarter",
        "2026Q3",
        "--quiet",
    )
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "activities.csv" in lines[0], lines
    assert "Traceback" not in err and not (tmp_path / "m").exists()


def test_two_files_for_one_table_exit_2(tmp_path: Path) -> None:
    data = _dataset(tmp_path, _activities([GOOD.format(i=1, d=1)]))
    pl.read_csv(data / "activities.csv").write_parquet(data / "activities.parquet")
    status, err = _cli(
        "metrics",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "m"),
        "--quarter",
        "2026Q3",
        "--quiet",
    )
    assert status == 2 and "two files for table activities" in err
    assert "activities.csv" in err and "activities.parquet" in err and "keep one" in err


def test_metrics_on_a_ragged_file_succeeds_and_counts_it(tmp_path: Path) -> None:
    data = _dataset(tmp_path, _activities(MESSY))
    status, err = _cli(
        "metrics",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "m"),
        "--quarter",
        "2026Q3",
        "--quiet",
    )
    assert status == 0, err
    quality = json.loads((tmp_path / "m" / "quality.json").read_text())
    assert quality["tables"]["activities"]["reasons"]["malformed_row"] == 5


def test_permission_error_says_so_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path, _activities([GOOD.format(i=1, d=1)]))

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "m"))

    monkeypatch.setattr("analysis.outputs.staging_dir", denied)
    status, err = _cli(
        "metrics",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "m"),
        "--quarter",
        "2026Q3",
        "--quiet",
    )
    assert status == 1 and "permission denied" in err and len(err.strip().splitlines()) == 1


def test_check_csv_is_exact_on_a_clean_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(_activities([GOOD.format(i=i, d=1) for i in range(50)]) + "\n\n")
    found = check_csv(path)
    # two empty lines at the end are two rows of empty values, as polars reads them
    assert found.records == 52 == pl.read_csv(path, infer_schema=False).height
    assert found.malformed == []


_PIECES = ["a", "b", ",", '"', '""', "\n", "\r\n", " ", "é"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_the_checker_agrees_with_polars(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str]
) -> None:
    """Whatever the bytes: the fast and exact passes agree, and polars reads what is kept."""
    path = tmp_path_factory.mktemp("fuzz") / "t.csv"
    path.write_text("x,y,z\n" + "".join(pieces), encoding="utf-8", newline="")
    exact = check_csv(path, fast=False)
    found = check_csv(path)
    saved = csv_check._SCAN_CHUNK
    try:
        csv_check._SCAN_CHUNK = 3  # chunk boundaries everywhere
        tiny = check_csv(path)
    finally:
        csv_check._SCAN_CHUNK = saved
    assert (found.malformed == []) == (exact.malformed == []) == (tiny.malformed == [])
    if not exact.malformed:
        assert found.records == exact.records == tiny.records
    kept = write_without(path, exact) if exact.malformed else path
    height = pl.read_csv(kept, infer_schema=False).height
    assert height == exact.records - len(exact.malformed)
