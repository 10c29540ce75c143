"""ingest mapped: the CONTRACT's TOML mapping, value maps, date formats and mapping errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analysis.errors import BadInputError
from analysis.ingest.mapped import ingest_mapped

CONTRACT_MAPPING = """
[tables.reps]
file = "sales_teams.csv"
[tables.reps.columns]
rep_id = "sales_agent"
team = "regional_office"
role = { value = "AE" }
[tables.opportunities]
file = "sales_pipeline.csv"
format = "%m/%d/%Y"
[tables.opportunities.columns]
opportunity_id = "opportunity_id"
owner_id = "sales_agent"
created_at = "engage_date"
stage = { column = "deal_stage", map = { Won = "Closed Won", Lost = "Closed Lost" } }
is_closed = { column = "deal_stage", in = ["Won", "Lost"] }
is_won = { column = "deal_stage", in = ["Won"] }
closed_at = "close_date"
amount = "close_value"
"""


def _maven_like(folder: Path) -> Path:
    """Maven-CRM-shaped files: names as rep ids, Excel-style M/D/YYYY dates, a Prospecting row with no dates."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\r\nAnna,Dustin,Central\r\nBo,Dustin,West\r\n"
    )
    rows = [
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"
    ]
    for i in range(10):  # Anna wins 8 of 10, Bo 2 of 10
        rows.append(
            f"A{i},Anna,GTX,Acme,{'Won' if i < 8 else 'Lost'},1/{i + 1}/2017,3/{i + 1}/2017,{100 * i}"
        )
        rows.append(
            f"B{i},Bo,GTX,Acme,{'Won' if i < 2 else 'Lost'},1/{i + 1}/2017,3/{i + 1}/2017,0"
        )
    rows.append("P1,Bo,GTX,,Prospecting,,,")
    (folder / "sales_pipeline.csv").write_text("\r\n".join(rows) + "\r\n")
    mapping = folder / "mapping.toml"
    mapping.write_text(CONTRACT_MAPPING)
    return mapping


def test_contract_mapping_builds_tables_and_recovers_win_rates(tmp_path):
    report = ingest_mapped(_maven_like(tmp_path / "in"), tmp_path / "out")
    assert report["tables"] == {"reps": 2, "opportunities": 21}
    entry = report["objects"]["opportunities"]
    assert entry["source_rows"] == 21 and entry["tables"]["opportunities"]["mapped"] == 21
    # the Prospecting row has no created_at: the validator quarantines it, nothing is dropped silently
    assert report["validation"]["opportunities"] == {
        "clean_rows": 20,
        "quarantined_rows": 1,
        "reasons": {"missing_required_value": 1},
    }
    clean = pl.read_parquet(tmp_path / "out" / "clean" / "opportunities.parquet")
    rates = dict(
        clean.filter("is_closed").group_by("owner_id").agg(pl.col("is_won").mean()).iter_rows()
    )
    assert rates == {"Anna": 0.8, "Bo": 0.2}
    assert set(clean["stage"]) == {"Closed Won", "Closed Lost"}
    assert (
        clean.filter(pl.col("opportunity_id") == "A2")["closed_at"].item().isoformat()
        == "2017-03-03"
    )


def test_column_level_format_and_iso_dates(tmp_path):
    mapping = _maven_like(tmp_path / "in")
    text = CONTRACT_MAPPING.replace('format = "%m/%d/%Y"\n', "").replace(
        'closed_at = "close_date"', 'closed_at = { column = "close_date", format = "%m/%d/%Y" }'
    )
    mapping.write_text(text)
    report = ingest_mapped(mapping, tmp_path / "out")
    # engage_date has no format now: M/D/YYYY is unparseable for the validator, and says so
    assert report["validation"]["opportunities"]["reasons"] == {
        "unparseable_value": 20,
        "missing_required_value": 1,
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("[tables.reps]", "[tables.repz]", 1).replace(
                "[tables.reps.columns]", "[tables.repz.columns]"
            ),
            "unknown table 'repz'",
        ),
        (
            lambda t: t.replace('team = "regional_office"', 'squad = "regional_office"'),
            "column squad: unknown column of reps",
        ),
        (lambda t: t.replace('file = "sales_teams.csv"\n', ""), "needs file"),
        (
            lambda t: t.replace('team = "regional_office"', 'team = "office"'),
            "column office: [tables.reps] source column 'office' is not in sales_teams.csv",
        ),
        (lambda t: t + "\n[tables.reps\n", "bad TOML"),
        (lambda t: t.replace('"sales_teams.csv"', '"nope.csv"'), "file 'nope.csv' not found"),
    ],
)
def test_mapping_errors_are_one_line_naming_the_file(tmp_path, edit, message):
    mapping = _maven_like(tmp_path / "in")
    mapping.write_text(edit(CONTRACT_MAPPING))
    with pytest.raises(BadInputError) as err:
        ingest_mapped(mapping, tmp_path / "out")
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(mapping)) and message in text
    assert not (tmp_path / "out").exists()
