"""ingest sql against a real PostgreSQL started by scripts/postgres.sh (never skipped)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import adbc_driver_postgresql.dbapi as pg
import polars as pl
import pytest
from ingest_fixtures import AS_OF, USERS, fivetran_tables, roles_file

from analysis.ingest.sql import ingest_sql

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"
SCHEMA = "salesforce"


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory) -> Iterator[str]:
    """Start a throwaway server; failing to install or start it FAILS the tests (no skip)."""
    state = tmp_path_factory.mktemp("pg") / "state"
    subprocess.run(["bash", str(SCRIPT), "install"], check=True, capture_output=True, text=True)
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(state)], capture_output=True, text=True
    )
    assert started.returncode == 0, f"PostgreSQL did not start: {started.stderr[-2000:]}"
    uri = started.stdout.strip().splitlines()[-1]
    try:
        with pg.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {SCHEMA}")
            conn.commit()
        for table, frame in fivetran_tables().items():
            frame.write_database(
                f'{SCHEMA}."{table}"', uri, engine="adbc", if_table_exists="replace"
            )
        yield uri
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(state)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def ingested(postgres_uri, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("sql")
    out = root / "out"
    report = ingest_sql(
        postgres_uri,
        out,
        schema=SCHEMA,
        start=date(2026, 7, 1),
        end=date(2026, 10, 1),
        roles=roles_file(root),
        as_of=AS_OF,
    )
    return out, report


def test_period_filter_is_pushed_down_and_counts_are_exact(ingested):
    _, report = ingested
    objects = report["objects"]
    # tasks: 3 in Q3 + 1 deleted by Fivetran + 1 on 06-30 (inside the one-day margin); June and November stay out
    assert objects["Task"]["source_rows"] == 5
    assert objects["Task"]["tables"]["activities"] == {
        "mapped": 4,
        "rejected": {"fivetran_deleted": 1},
    }
    assert objects["Event"]["tables"]["meetings"] == {"mapped": 2, "rejected": {}}
    assert objects["Opportunity"]["tables"]["opportunities"] == {"mapped": 9, "rejected": {}}
    assert objects["OpportunityHistory"]["tables"]["stage_history"] == {
        "mapped": 2,
        "rejected": {"non_stage_change": 1},
    }
    assert objects["OpportunityHistory"]["tables"]["close_date_changes"] == {
        "mapped": 2,
        "rejected": {"non_close_date_change": 1},
    }
    assert objects["User"]["tables"]["reps"] == {"mapped": 3, "rejected": {}}
    assert report["period"] == {"start": "2026-07-01", "end": "2026-10-01", "margin_days": 1}
    assert "test@127.0.0.1" not in objects["Task"]["location"]  # credentials are not echoed


def test_same_mapping_as_csv_path(ingested):
    out, _ = ingested
    opps = pl.read_parquet(out / "opportunities.parquet")
    rates = dict(
        opps.filter("is_closed").group_by("owner_id").agg(pl.col("is_won").mean()).iter_rows()
    )
    assert rates == {USERS["AE1"]: 0.75, USERS["AE2"]: 0.25}
    assert opps.filter(~pl.col("is_won") & pl.col("is_closed"))[
        "lost_reason"
    ].unique().to_list() == ["Price"]
    reps = pl.read_parquet(out / "reps.parquet")
    assert dict(zip(reps["rep_id"], reps["role"], strict=True))[USERS["BDR1"]] == "BDR"
    meetings = pl.read_parquet(out / "meetings.parquet")
    assert meetings["status"].to_list() == ["held", "held"]
    acts = pl.read_parquet(out / "activities.parquet").sort("occurred_at")
    assert acts.filter(pl.col("activity_type") == "call")["duration_s"].to_list()[:2] == [5.0, 60.0]
    assert acts["occurred_at"][0].isoformat() == "2026-06-30T23:00:00+00:00"
    assert (out / "quality.json").exists()
