"""Ingest readers: a CSV line that does not parse is quarantined as ``malformed_row``.

Planted malformed lines (too many fields, too few, a quote never closed) in Salesforce,
HubSpot and mapped exports: every other row maps exactly as without them (no shifted
columns), each planted line is in the source quarantine with its line number and text,
and the accounting adds up. Bad file shapes still end with exit 2 and one line.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from ingest_fixtures import AS_OF, hubspot_export, roles_file, salesforce_export

from analysis.cli import main
from analysis.ingest.common import MALFORMED, ROW, read_csv_text
from analysis.ingest.hubspot import ingest_hubspot
from analysis.ingest.mapped import ingest_mapped
from analysis.ingest.salesforce import ingest_salesforce

TABLES = ("reps", "activities", "meetings", "opportunities", "stage_history")


def _plant(path: Path, after: dict[int, list[bytes]]) -> dict[int, bytes]:
    """Insert lines after the given line numbers (1 = header); return line number -> text."""
    lines = path.read_bytes().split(b"\n")
    out, planted = [], {}
    for number, line in enumerate(lines, start=1):
        out.append(line)
        for extra in after.get(number, []):
            out.append(extra)
            planted[len(out)] = extra
    path.write_bytes(b"\n".join(out))
    return planted


def _accounting_holds(report: dict) -> None:
    for name, obj in report["objects"].items():
        source = obj.get("source_rows", obj.get("source_cells"))
        for table, entry in obj["tables"].items():
            assert entry["mapped"] + sum(entry["rejected"].values()) == source, (name, table)


def _same_tables(clean: Path, planted: Path) -> None:
    """The canonical tables (and their quarantines) of both runs are equal."""
    for table in TABLES:
        if (clean / f"{table}.parquet").exists():
            a = pl.read_parquet(clean / f"{table}.parquet")
            b = pl.read_parquet(planted / f"{table}.parquet")
            assert a.equals(b), table


def _quarantined(out: Path, name: str) -> pl.DataFrame:
    q = pl.read_parquet(out / "quarantine" / f"source_{name}.parquet")
    return q.filter(pl.col("reason") == "malformed_row").sort(ROW)


def test_read_csv_text_sets_malformed_records_aside(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,name,note\n"  # line 1
        "1,a,x\n"
        "2,b,x,EXTRA\n"  # too many fields
        '3,"multi\nline",x\n'  # lines 4-5: one good record across two lines
        "4,c\n"  # too few fields
        '5,"never closed,x\n'  # a quote never closed: only this line is malformed
        "6,d,x\n"
        '"Grand Totals (4 records)"\n'  # a report footer stays a row (report_footer)
    )
    frame = read_csv_text(path).collect()
    good = frame.filter(pl.col(MALFORMED).is_null())
    assert good["id"].to_list() == ["1", "3", "6", "Grand Totals (4 records)"]
    assert good[ROW].to_list() == [1, 3, 6, 7]  # data-row numbers, counting malformed records
    assert good["name"].to_list() == ["a", "multi\nline", "d", None]
    bad = frame.filter(pl.col(MALFORMED).is_not_null())
    assert bad[ROW].to_list() == [3, 6, 7]  # line numbers
    assert bad[MALFORMED].to_list() == ["2,b,x,EXTRA", "4,c", '5,"never closed,x']
    assert bad.select("id", "name", "note").null_count().row(0) == (3, 3, 3)
    assert frame.height == 7  # every record: 4 read + 3 malformed


def test_salesforce_malformed_lines_are_quarantined_and_nothing_shifts(tmp_path: Path) -> None:
    clean = salesforce_export(tmp_path / "clean")
    planted_dir = salesforce_export(tmp_path / "planted")
    tasks = _plant(
        planted_dir / "Task.csv",
        {2: [b"T-X1," * 40 + b"too many"], 4: [b"only,two"], 5: [b'"00T bad quote,x,y']},
    )
    opps = _plant(planted_dir / "Opportunity.csv", {3: [b"006X,,,,"]})
    roles = roles_file(tmp_path)
    a = ingest_salesforce(clean, tmp_path / "a", roles=roles, tz="Europe/Berlin", as_of=AS_OF)
    b = ingest_salesforce(planted_dir, tmp_path / "b", roles=roles, tz="Europe/Berlin", as_of=AS_OF)
    _accounting_holds(b)
    task_a, task_b = a["objects"]["Task"], b["objects"]["Task"]
    assert task_b["source_rows"] == task_a["source_rows"] + 3
    rejected = task_b["tables"]["activities"]["rejected"]
    assert rejected.pop("malformed_row") == 3
    assert task_b["tables"]["activities"]["mapped"] == task_a["tables"]["activities"]["mapped"]
    assert rejected == task_a["tables"]["activities"]["rejected"]  # footers still footers
    opp = b["objects"]["Opportunity"]["tables"]["opportunities"]
    assert opp["rejected"]["malformed_row"] == 1
    _same_tables(tmp_path / "a", tmp_path / "b")
    q = _quarantined(tmp_path / "b", "Task")
    assert q[ROW].to_list() == sorted(tasks)
    assert q[MALFORMED].to_list() == [tasks[n].decode("cp1252") for n in sorted(tasks)]
    assert _quarantined(tmp_path / "b", "Opportunity")[ROW].to_list() == sorted(opps)


def test_hubspot_malformed_lines_are_quarantined_and_nothing_shifts(tmp_path: Path) -> None:
    roles = tmp_path / "roles.toml"
    roles.write_text(
        '[[rules]]\nmatch = "(?i)bdr"\nrole = "BDR"\n[[rules]]\nmatch = "(?i)\\\\bAE\\\\b"\nrole = "AE"\n'
    )
    clean = hubspot_export(tmp_path / "clean")
    planted_dir = hubspot_export(tmp_path / "planted")
    calls = next(planted_dir.glob("*calls*.csv"))
    planted = _plant(calls, {2: [b'"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15'], 3: [b"x,y"]})
    owners = _plant(planted_dir / "owners.csv", {2: [b"only-one-field"]})
    a = ingest_hubspot(clean, tmp_path / "a", roles=roles, as_of=AS_OF)
    b = ingest_hubspot(planted_dir, tmp_path / "b", roles=roles, as_of=AS_OF)
    _accounting_holds(b)
    _same_tables(tmp_path / "a", tmp_path / "b")
    entry = b["objects"][calls.stem]["tables"]["activities"]
    assert entry["rejected"]["malformed_row"] == 2
    assert entry["mapped"] == a["objects"][calls.stem]["tables"]["activities"]["mapped"]
    assert _quarantined(tmp_path / "b", calls.stem)[ROW].to_list() == sorted(planted)
    assert _quarantined(tmp_path / "b", "owners")[ROW].to_list() == sorted(owners)


MAPPING = """
[sources]
deals = { file = "deals.csv", delimiter = ";" }

[tables.reps]
file = "reps.csv"
[tables.reps.columns]
rep_id = "agent"
team = "office"
role = { value = "AE" }

[tables.opportunities]
sql = '''
SELECT id AS opportunity_id, agent AS owner_id, created AS created_at, stage,
       stage = 'Won' AS is_won, true AS is_closed FROM deals
'''
"""


def test_mapped_file_and_sql_sources_quarantine_malformed_lines(tmp_path: Path) -> None:
    def write(folder: Path) -> Path:
        folder.mkdir()
        (folder / "reps.csv").write_text("agent,office\nAnna,East\nBo,West\n")
        deals = ["id;agent;created;stage"] + [
            f"D{i};{'Anna' if i % 2 else 'Bo'};2026-07-{1 + i:02d};{'Won' if i % 3 else 'Lost'}"
            for i in range(9)
        ]
        (folder / "deals.csv").write_text("\n".join(deals) + "\n")
        (folder / "m.toml").write_text(MAPPING)
        return folder / "m.toml"

    a = ingest_mapped(write(tmp_path / "clean"), tmp_path / "a")
    mapping = write(tmp_path / "planted")
    reps = _plant(mapping.parent / "reps.csv", {2: [b"Cy,North,extra"]})
    deals = _plant(mapping.parent / "deals.csv", {4: [b"D99;Bo;2026-07-30"], 6: [b'D98;"Bo;x;y']})
    b = ingest_mapped(mapping, tmp_path / "b")
    _accounting_holds(b)
    assert b["tables"] == a["tables"] == {"reps": 2, "opportunities": 9}
    _same_tables(tmp_path / "a", tmp_path / "b")
    assert b["objects"]["reps"]["tables"]["reps"]["rejected"] == {"malformed_row": 1}
    assert b["objects"]["source_deals"]["source_rows"] == 11
    assert _quarantined(tmp_path / "b", "reps")[ROW].to_list() == sorted(reps)
    assert _quarantined(tmp_path / "b", "source_deals")[ROW].to_list() == sorted(deals)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Id;OwnerId;Subject\n1;2;3\n", "semicolon-separated"),
        (b"Id,OwnerId,Subject\r1,2,3\r", "old Mac line endings"),
    ],
)
def test_bad_shapes_still_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    folder = salesforce_export(tmp_path / "in")
    (folder / "Task.csv").write_bytes(content)
    status = main(["ingest", "salesforce", "--in", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and message in err[0] and "Task.csv" in err[0]
    assert not (tmp_path / "out").exists()
