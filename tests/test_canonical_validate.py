"""Canonical tables: parsing, quarantine accounting and bad input (issue 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.canonical.schemas import TABLES
from analysis.canonical.validate import validate_dataset, write_validation
from analysis.cli import main
from analysis.errors import BadInputError

REPS = "rep_id,name,role,team,timezone\nr1,Ann,SDR,East,America/New_York\nr2,Bob,AE,East,\nr3,Cy,ae,West,Europe/Berlin\n"


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def _validate(folder: Path, out: Path, *, tz: str = "UTC") -> dict:
    return write_validation(validate_dataset(folder, default_tz=tz), out)


def test_every_reason_is_counted_exactly(tmp_path: Path) -> None:
    # Arrange: one row per reason, plus two clean rows.
    activities = (
        "ACTIVITY_ID,Rep_Id,occurred_at,activity_type,outcome\n"
        "a1,r1,2026-07-01T10:00:00Z,Call,positive\n"
        "a1,r1,2026-07-01T10:00:00Z,Call,positive\n"  # duplicate
        "a2,r1,not-a-date,call,\n"  # unparseable_value
        "a3,r9,2026-07-01T10:00:00+02:00,call,\n"  # unknown_rep
        "a4,r2,,call,\n"  # missing_required_value
        "a1,r2,2026-07-02T10:00:00,email,\n"  # duplicate_key
        "a5,r3,2026-07-02 09:30,Stage Change,\n"
    )
    meetings = (
        "meeting_id,booked_by,owner_id,booked_at,status\n"
        "m1,r1,r2,2026-07-01T09:00:00Z,Held\n"
        "m2,r1,r2,2026-07-01T09:00:00Z,postponed\n"  # invalid_value
        "m3,,r2,2026-07-01T09:00:00Z,held\n"  # missing_required_value
    )
    data = _write(
        tmp_path / "data",
        {"reps.csv": REPS, "activities.csv": activities, "meetings.csv": meetings},
    )

    # Act
    quality = _validate(data, tmp_path / "out")

    # Assert
    acts = quality["tables"]["activities"]
    assert acts["input_rows"] == 7
    assert acts["clean_rows"] == 2
    assert acts["reasons"] == {
        "duplicate": 1,
        "duplicate_key": 1,
        "missing_required_value": 1,
        "unknown_rep": 1,
        "unparseable_value": 1,
    }
    assert quality["activities"] == acts  # also reachable at the top level
    assert quality["tables"]["meetings"]["reasons"] == {
        "invalid_value": 1,
        "missing_required_value": 1,
    }
    clean = pl.read_parquet(tmp_path / "out" / "clean" / "activities.parquet").sort("activity_id")
    assert clean["activity_type"].to_list() == ["call", "stage_change"]
    assert clean["occurred_at"].dt.to_string("%Y-%m-%d %H:%M").to_list() == [
        "2026-07-01 10:00",
        "2026-07-02 09:30",
    ]
    quarantine = pl.read_parquet(tmp_path / "out" / "quarantine" / "activities.parquet")
    assert set(quarantine.columns) >= {
        "activity_id",
        "occurred_at",
        "reason",
        "reason_column",
        "source_row",
    }
    assert quarantine.filter(pl.col("reason") == "unparseable_value")["occurred_at"].to_list() == [
        "not-a-date"
    ]
    assert sorted(quarantine["source_row"].to_list()) == [2, 3, 4, 5, 6]


def test_reps_roles_timezones_and_unavailable_metrics(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"reps.csv": REPS + "r4,Di,AE,West,Mars/Base\n"})

    quality = _validate(data, tmp_path / "out", tz="Europe/London")

    reps = pl.read_parquet(tmp_path / "out" / "clean" / "reps.parquet").sort("rep_id")
    assert reps["role"].cast(pl.String).to_list() == ["BDR", "AE", "AE", "AE"]
    assert reps["timezone"].to_list() == [
        "America/New_York",
        "Europe/London",
        "Europe/Berlin",
        "Europe/London",
    ]
    assert any("Mars/Base" not in w and "r4" in w for w in quality["warnings"])
    assert quality["unavailable"]["skill_gaps"] == ["opportunities"]
    assert quality["unavailable"]["bdr_funnel"] == ["meetings", "opportunities"]
    assert "hygiene" in quality["unavailable"]


def test_offsets_are_converted_to_utc_and_dates_parse(tmp_path: Path) -> None:
    opps = (
        "opportunity_id,owner_id,created_at,stage,is_closed,is_won,closed_at,amount\n"
        "o1,r2,2026-07-01T23:30:00-07:00,Closed Won,1,true,2026-07-20T00:00:00Z,1000\n"
        "o2,r2,2026-07-01T08:00:00+0530,Closed Lost,TRUE,0,2026-07-21,\n"
        "o3,r2,2026-07-01,Open,maybe,false,,12.5\n"
    )
    data = _write(tmp_path / "data", {"reps.csv": REPS, "opportunities.csv": opps})

    quality = _validate(data, tmp_path / "out")

    clean = pl.read_parquet(tmp_path / "out" / "clean" / "opportunities.parquet").sort(
        "opportunity_id"
    )
    assert clean["created_at"].dt.to_string("%Y-%m-%dT%H:%M").to_list() == [
        "2026-07-02T06:30",
        "2026-07-01T02:30",
    ]
    assert clean["is_won"].to_list() == [True, False]
    assert [d.isoformat() for d in clean["closed_at"]] == ["2026-07-20", "2026-07-21"]
    assert quality["tables"]["opportunities"]["reasons_by_column"] == {
        "unparseable_value": {"is_closed": 1}
    }


def test_parquet_input_with_typed_columns(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"reps.csv": REPS})
    pl.DataFrame(
        {
            "activity_id": ["a1", "a2"],
            "rep_id": ["r1", "r2"],
            "occurred_at": pl.Series(["2026-07-01 10:00", "2026-07-01 11:00"])
            .str.to_datetime()
            .dt.replace_time_zone("Europe/Berlin"),
            "activity_type": ["call", "email"],
            "duration_s": [30, None],
        }
    ).write_parquet(data / "activities.parquet")

    quality = _validate(data, tmp_path / "out")

    clean = pl.read_parquet(tmp_path / "out" / "clean" / "activities.parquet").sort("activity_id")
    assert quality["tables"]["activities"]["clean_rows"] == 2
    assert clean["occurred_at"].dt.hour().to_list() == [8, 9]
    assert clean.schema == pl.Schema(
        {n: c.dtype for n, c in TABLES["activities"].columns().items()}
    )
    TABLES["activities"].validate(clean)  # the declared schema holds at the boundary


BAD_INPUTS = {
    "missing reps": ({}, "reps"),
    "missing required column": ({"reps.csv": "rep_id,role\nr1,AE\n"}, "team"),
    "binary garbage": ({"reps.csv": bytes(range(256)) * 8}, "reps.csv"),
    "corrupt parquet": (
        {"reps.csv": REPS, "activities.parquet": b"PAR1 not really parquet"},
        "activities.parquet",
    ),
    "invalid utf-8": ({"reps.csv": REPS.encode() + b"r\xff\xfe,X,AE,East,UTC\n"}, "reps.csv"),
    "missing activity column": (
        {"reps.csv": REPS, "activities.csv": "activity_id,rep_id,occurred_at\n"},
        "activity_type",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, must_mention = BAD_INPUTS[case]
    data = _write(tmp_path / "data", files)
    out = tmp_path / "out"

    status = main(["validate", "--data", str(data), "--out", str(out)])

    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert must_mention in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_bad_input_through_the_console_script(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"reps.csv": "rep_id,team\nr1,East\n"})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "validate",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "reps.csv" in proc.stderr and "role" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_bad_usage_is_exit_2_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--data", "x"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(BadInputError):
        validate_dataset(Path("."), default_tz="Not/AZone")


def test_validation_output_is_deterministic(tmp_path: Path) -> None:
    activities = "activity_id,rep_id,occurred_at,activity_type\n" + "".join(
        f"a{i % 7},r{i % 4},2026-07-0{1 + i % 5}T10:00:00Z,call\n" for i in range(40)
    )
    data = _write(tmp_path / "data", {"reps.csv": REPS, "activities.csv": activities})
    first = _validate(data, tmp_path / "o1")
    second = _validate(data, tmp_path / "o2")
    assert first["tables"] == second["tables"]
    for sub in ("clean", "quarantine"):
        a = pl.read_parquet(tmp_path / "o1" / sub / "activities.parquet")
        b = pl.read_parquet(tmp_path / "o2" / sub / "activities.parquet")
        assert a.equals(b)


_cell = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "r1",
            "r2",
            "r9",
            "call",
            "Email",
            "2026-07-01T10:00:00Z",
            "2026-13-01",
            "x,y",
            '"q"',
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=6
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_cell, _cell, _cell, _cell, _cell), max_size=25))
def test_accounting_always_adds_up(
    rows: list[tuple], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Arrange: random, malformed rows written as a proper CSV (quoted by polars).
    folder = tmp_path_factory.mktemp("prop")
    (folder / "reps.csv").write_text(REPS)
    frame = pl.DataFrame(
        rows,
        schema=["activity_id", "rep_id", "occurred_at", "activity_type", "outcome"],
        orient="row",
    )
    frame.write_csv(folder / "activities.csv")

    # Act
    quality = _validate(folder, folder / "out")

    # Assert
    stats = quality["tables"]["activities"]
    assert stats["input_rows"] == len(rows)
    assert stats["input_rows"] == stats["clean_rows"] + stats["quarantined_rows"]
    assert sum(stats["reasons"].values()) == stats["quarantined_rows"]
    clean = pl.read_parquet(folder / "out" / "clean" / "activities.parquet")
    assert clean["activity_id"].is_unique().all()
    assert clean["rep_id"].is_in(["r1", "r2", "r3"]).all()


def test_quality_json_is_written(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"reps.csv": REPS})
    assert main(["validate", "--data", str(data), "--out", str(tmp_path / "out")]) == 0
    quality = json.loads((tmp_path / "out" / "quality.json").read_text())
    assert quality["reps"]["input_rows"] == 3
    assert not (tmp_path / "out" / "clean").exists()  # validate writes just quality + quarantine


def test_crm_style_amounts_and_spaced_offsets_parse(tmp_path: Path) -> None:
    opps = (
        "opportunity_id,owner_id,created_at,stage,is_closed,is_won,amount\n"
        'o1,r2,2026-07-01 10:00:00 +0200,Closed Won,yes,yes,"$1,234.50"\n'
        "o2,r2,2026-07-01 10:00 UTC,Open,no,no,12000\n"
        'o3,r2,2026-07-01T10:00:00Z,Open,no,no,"1.234,50"\n'
    )
    data = _write(tmp_path / "data", {"reps.csv": REPS, "opportunities.csv": opps})

    quality = _validate(data, tmp_path / "out")

    clean = pl.read_parquet(tmp_path / "out" / "clean" / "opportunities.parquet").sort(
        "opportunity_id"
    )
    assert clean["amount"].to_list() == [1234.5, 12000.0]
    assert clean["created_at"].dt.hour().to_list() == [8, 10]
    assert quality["tables"]["opportunities"]["reasons_by_column"] == {
        "unparseable_value": {"amount": 1}
    }


def test_nan_infinite_and_negative_amounts_are_quarantined(tmp_path: Path) -> None:
    head = "opportunity_id,owner_id,created_at,stage,is_closed,is_won,amount\n"
    rows = {
        "ok": "100",
        "nan": "NaN",
        "inf": "inf",
        "ninf": "-Infinity",
        "neg": "-5",
        "zero": "0",
        "empty": "",
    }
    opps = head + "".join(
        f"{oid},r2,2026-07-01T10:00:00Z,Open,no,no,{amount}\n" for oid, amount in rows.items()
    )
    data = _write(tmp_path / "csv", {"reps.csv": REPS, "opportunities.csv": opps})
    quality = _validate(data, tmp_path / "out")
    table = quality["tables"]["opportunities"]
    assert table["reasons_by_column"] == {
        "unparseable_value": {"amount": 3},
        "invalid_value": {"amount": 1},
    }
    assert table["input_rows"] == table["clean_rows"] + table["quarantined_rows"] == 7
    clean = pl.read_parquet(tmp_path / "out" / "clean" / "opportunities.parquet")
    assert sorted(clean["opportunity_id"]) == ["empty", "ok", "zero"]
    quarantine = pl.read_parquet(tmp_path / "out" / "quarantine" / "opportunities.parquet")
    reasons = dict(zip(quarantine["opportunity_id"], quarantine["reason"], strict=True))
    assert reasons == {
        "nan": "unparseable_value",
        "inf": "unparseable_value",
        "ninf": "unparseable_value",
        "neg": "invalid_value",
    }

    # the same values typed as floats in parquet
    frame = pl.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d"],
            "owner_id": ["r2"] * 4,
            "created_at": ["2026-07-01T10:00:00Z"] * 4,
            "stage": ["Open"] * 4,
            "is_closed": [False] * 4,
            "is_won": [False] * 4,
            "amount": [1.5, float("nan"), float("inf"), -0.5],
        }
    )
    pq = tmp_path / "pq"
    _write(pq, {"reps.csv": REPS})
    frame.write_parquet(pq / "opportunities.parquet")
    quality = _validate(pq, tmp_path / "out_pq")
    assert quality["tables"]["opportunities"]["reasons_by_column"] == {
        "unparseable_value": {"amount": 2},
        "invalid_value": {"amount": 1},
    }


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-07-01T10:00:00", "2026-07-01T10:00:00.000000"),  # naive: UTC
        ("2026-07-01 10:00", "2026-07-01T10:00:00.000000"),
        ("2026-07-01T10:00:00.5", "2026-07-01T10:00:00.500000"),
        ("2026-07-01T10:00:00.123456", "2026-07-01T10:00:00.123456"),
        ("2026-07-01", "2026-07-01T00:00:00.000000"),
        ("2026-07-01T10:00:00+02:00", "2026-07-01T08:00:00.000000"),
        ("2026-07-01T10:00+02:00", "2026-07-01T08:00:00.000000"),
        ("2026-07-01 10:00:00 -0530", "2026-07-01T15:30:00.000000"),
        ("2026-07-01T10:00:00.25-05:30", "2026-07-01T15:30:00.250000"),
        ("2026-07-01T10:00:00Z", "2026-07-01T10:00:00.000000"),
        ("2026-07-01 10:00 UTC", "2026-07-01T10:00:00.000000"),
        (" 2026-07-01T10:00:00 GMT ", "2026-07-01T10:00:00.000000"),
        ("2026-07-02 9:05:00", "2026-07-02T09:05:00.000000"),  # one-digit fields
        ("2026-07-01T1:2:3.25", "2026-07-01T01:02:03.250000"),
        ("2026-07-01T9:05:00+02:00", "2026-07-01T07:05:00.000000"),
        ("2026-07-01T10:00:00+02:00Z", None),  # two zones
        ("2026-07-01T10", None),
        ("2026-07-01T10:00:00.", None),
        ("01/07/2026 10:00", None),
        ("2026-07-01T25:00:00", None),
    ],
)
def test_datetime_text_parses_to_utc_or_null(text: str, utc: str | None) -> None:
    from analysis.canonical.validate import parse_datetime_utc

    parsed = pl.DataFrame({"t": [text]}).select(parse_datetime_utc(pl.col("t"))).item()
    assert (None if parsed is None else parsed.strftime("%Y-%m-%dT%H:%M:%S.%f")) == utc
