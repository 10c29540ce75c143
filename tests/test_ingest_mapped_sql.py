"""ingest mapped with [sources] and sql tables: an Olist-style SDR -> closer funnel in one file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis.cli import main
from analysis.errors import BadInputError
from analysis.ingest.mapped import ingest_mapped

#: planted closed deals per SDR (the SDR -> closer split of the Olist funnel)
PLANTED_WON = {"sdr_a": 9, "sdr_b": 4, "sdr_c": 1}
CLOSERS = ("sr_x", "sr_y")

FUNNEL_MAPPING = """
[sources]
leads = "leads.csv"
deals = "deals-*.csv"          # monthly exports, stacked

[tables.reps]
sql = '''
SELECT DISTINCT 'sdr-' || sdr_id AS rep_id, 'BDR' AS role, 'Funnel' AS team FROM deals
UNION
SELECT DISTINCT 'sr-' || sr_id AS rep_id, 'AE' AS role, 'Funnel' AS team FROM deals
'''

[tables.meetings]
sql = '''
SELECT l.mql_id AS meeting_id, 'sdr-' || d.sdr_id AS booked_by, 'sr-' || d.sr_id AS owner_id,
       l.first_contact_date AS booked_at, 'held' AS status, l.mql_id AS lead_id,
       d.mql_id AS opportunity_id
FROM leads l JOIN deals d ON l.mql_id = d.mql_id
'''
format = "%Y-%m-%d"

[tables.opportunities]
sql = '''
SELECT d.mql_id AS opportunity_id, 'sr-' || d.sr_id AS owner_id, 'sdr-' || d.sdr_id AS sourced_by,
       l.first_contact_date AS created_at, 'Closed Won' AS stage, true AS is_closed,
       true AS is_won, LEFT(d.won_date, 10) AS closed_at,
       d.declared_monthly_revenue AS amount, UPPER(l.origin) AS lead_source,
       d.business_segment AS segment
FROM deals d LEFT JOIN leads l ON l.mql_id = d.mql_id
'''
format = "%Y-%m-%d"
"""


def _hex(*parts: object) -> str:
    return hashlib.md5("-".join(map(str, parts)).encode()).hexdigest()


def _funnel(folder: Path, *, seed: int = 3) -> Path:
    """Olist-shaped files: 120 marketing-qualified leads, closed deals in two monthly files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    leads = pl.DataFrame(
        {
            "mql_id": [_hex("mql", i) for i in range(120)],
            "first_contact_date": [f"2018-0{1 + i % 3}-{1 + i % 28:02d}" for i in range(120)],
            "landing_page_id": [_hex("page", i % 7) for i in range(120)],
            "origin": rng.choice(["organic_search", "paid_search", "social"], 120).tolist(),
        }
    )
    leads.write_csv(folder / "leads.csv")
    rows = []
    deal = 0
    for sdr, n in PLANTED_WON.items():
        for k in range(n):
            rows.append(
                {
                    "mql_id": leads["mql_id"][deal * 5],
                    "seller_id": _hex("seller", deal),
                    "sdr_id": sdr,
                    "sr_id": CLOSERS[k % 2],
                    "won_date": f"2018-0{4 + deal % 2}-{1 + deal:02d} 10:{deal:02d}:00",
                    "business_segment": "pet" if deal % 2 else "car_accessories",
                    "declared_monthly_revenue": "0.0",
                }
            )
            deal += 1
    deals = pl.DataFrame(rows)
    half = deals.height // 2
    deals.head(half).write_csv(folder / "deals-2018-04.csv")
    deals.tail(deals.height - half).write_csv(folder / "deals-2018-05.csv")
    mapping = folder / "funnel.toml"
    mapping.write_text(FUNNEL_MAPPING)
    return mapping


def test_funnel_maps_in_one_file_and_won_counts_match_the_raw_files(tmp_path: Path) -> None:
    mapping = _funnel(tmp_path / "in")
    report = ingest_mapped(mapping, tmp_path / "out")
    n_deals = sum(PLANTED_WON.values())
    assert report["tables"] == {"reps": 5, "meetings": n_deals, "opportunities": n_deals}
    # reps taken DISTINCT from the deal rows: nothing quarantined as duplicate
    assert report["validation"]["reps"]["quarantined_rows"] == 0
    for table in ("meetings", "opportunities"):
        assert report["validation"][table]["quarantined_rows"] == 0, table
    # independent count on the raw files
    raw = pl.concat([pl.read_csv(p) for p in sorted((tmp_path / "in").glob("deals-*.csv"))])
    expected = {f"sdr-{k}": v for k, v in raw.group_by("sdr_id").len().iter_rows()}
    assert expected == {f"sdr-{k}": v for k, v in PLANTED_WON.items()}
    clean = tmp_path / "out" / "clean"
    opps = pl.read_parquet(clean / "opportunities.parquet")
    won = dict(opps.filter("is_won").group_by("sourced_by").len().iter_rows())
    assert won == expected
    meetings = pl.read_parquet(clean / "meetings.parquet")
    assert dict(meetings.group_by("booked_by").len().iter_rows()) == expected
    # each SQL column landed typed: dates parsed, string functions applied
    assert opps["closed_at"].dtype == pl.Date and opps["closed_at"].null_count() == 0
    assert set(opps["lead_source"]) <= {"ORGANIC_SEARCH", "PAID_SEARCH", "SOCIAL"}
    reps = pl.read_parquet(clean / "reps.parquet")
    assert sorted(reps["rep_id"]) == sorted(
        [*(f"sdr-{s}" for s in PLANTED_WON), *(f"sr-{s}" for s in CLOSERS)]
    )
    assert report["objects"]["source_deals"]["source_rows"] == n_deals


def test_sql_tables_are_deterministic(tmp_path: Path) -> None:
    mapping = _funnel(tmp_path / "in")
    ingest_mapped(mapping, tmp_path / "a")
    ingest_mapped(mapping, tmp_path / "b")
    for table in ("reps", "meetings", "opportunities"):
        a = pl.read_parquet(tmp_path / "a" / f"{table}.parquet")
        assert a.equals(pl.read_parquet(tmp_path / "b" / f"{table}.parquet")), table


def test_sql_and_file_tables_mix_in_one_mapping(tmp_path: Path) -> None:
    mapping = _funnel(tmp_path / "in")
    (tmp_path / "in" / "calls.csv").write_text(
        "id,who,at,kind\nc1,sdr_a,2018-01-03T10:00:00Z,call\nc2,sdr_b,2018-01-04T11:00:00Z,call\n"
    )
    mapping.write_text(
        FUNNEL_MAPPING
        + """
[tables.activities]
file = "calls.csv"
[tables.activities.columns]
activity_id = "id"
rep_id = { column = "who", map = { sdr_a = "sdr-sdr_a", sdr_b = "sdr-sdr_b" } }
occurred_at = "at"
activity_type = "kind"
"""
    )
    report = ingest_mapped(mapping, tmp_path / "out")
    assert report["tables"]["activities"] == 2
    assert report["validation"]["activities"]["quarantined_rows"] == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("AS segment", "AS vertical"),
            "column vertical: [tables.opportunities] sql result column 'vertical' is not a column",
        ),
        (lambda t: t.replace("FROM deals\nUNION", "FROM dealz\nUNION"), "[tables.reps] sql failed"),
        (lambda t: t.replace('deals = "deals-*.csv"', 'deals = "nope-*.csv"'), "no file matches"),
        (
            lambda t: t.replace("[tables.reps]\n", '[tables.reps]\nfile = "leads.csv"\n'),
            "[tables.reps] has sql and 'file'",
        ),
        (lambda t: t.replace("[sources]", "[sourcez]"), "unknown section [sourcez]"),
        (
            lambda t: t.replace("FROM deals\nUNION", "FROM read_csv('/etc/hosts')\nUNION"),
            "sql may only read the mapping's [sources], not read_csv(...)",
        ),
    ],
)
def test_sql_mapping_errors_are_one_line_naming_the_file(tmp_path: Path, edit, message) -> None:
    mapping = _funnel(tmp_path / "in")
    mapping.write_text(edit(FUNNEL_MAPPING))
    with pytest.raises(BadInputError) as err:
        ingest_mapped(mapping, tmp_path / "out")
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(mapping)) and message in text
    assert not (tmp_path / "out").exists()


def test_cli_ingests_the_funnel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = _funnel(tmp_path / "in")
    assert main(["ingest", "mapped", "--mapping", str(mapping), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "meetings.parquet").exists()
