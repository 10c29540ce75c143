"""HubSpot ingest: label headers, owner names, durations, meeting outcomes, stage dates."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_fixtures import AS_OF, hubspot_export

from analysis.ingest.hubspot import ingest_hubspot


@pytest.fixture(scope="module")
def hs(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("hs")
    roles = root / "roles.toml"
    roles.write_text(
        '[[rules]]\nmatch = "(?i)bdr"\nrole = "BDR"\n[[rules]]\nmatch = "(?i)\\\\bAE\\\\b"\nrole = "AE"\n'
    )
    report = ingest_hubspot(hubspot_export(root / "export"), root / "out", roles=roles, as_of=AS_OF)
    return root / "out", report


def test_accounting_and_tables(hs):
    _, report = hs
    for name, obj in report["objects"].items():
        source = obj.get("source_rows", obj.get("source_cells"))
        for table, entry in obj["tables"].items():
            assert entry["mapped"] + sum(entry["rejected"].values()) == source, (name, table)
    assert report["tables"] == {
        "reps": 3,
        "activities": 13,
        "meetings": 4,
        "opportunities": 41,
        "stage_history": 101,
    }
    stage = report["objects"]["hubspot-crm-exports-all-deals-2026-09-30_date_entered"]
    assert stage["source_cells"] == 101
    meetings = report["objects"]["hubspot-crm-exports-all-meetings-2026-09-30"]["tables"][
        "meetings"
    ]
    assert meetings == {"mapped": 4, "rejected": {"not_booked_by_bdr": 1}}


def test_owner_names_and_emails_resolve_to_ids(hs):
    out, report = hs
    calls = (
        pl.read_parquet(out / "activities.parquet")
        .filter(pl.col("activity_type") == "call")
        .sort("activity_id")
    )
    assert calls["rep_id"].to_list() == ["101", "101", "101", "Ghost Rep"]
    assert any("Ghost Rep" in w for w in report["warnings"])
    quality = json.loads((out / "quality.json").read_text())
    assert quality["tables"]["activities"]["reasons"] == {"unknown_rep": 1}


def test_call_duration_ms_and_outcomes(hs):
    out, _ = hs
    calls = (
        pl.read_parquet(out / "activities.parquet")
        .filter(pl.col("activity_type") == "call")
        .sort("activity_id")
    )
    assert calls["duration_s"].to_list() == [125.0, 15.0, 30.0, 0.0]
    assert calls["outcome"].to_list() == ["connected", "no_answer", "voicemail", "busy"]
    assert calls["opportunity_id"].to_list()[0] == "900000000001"


def test_meeting_outcome_becomes_status(hs):
    out, _ = hs
    meetings = pl.read_parquet(out / "meetings.parquet").sort("meeting_id")
    assert meetings["status"].to_list() == ["held", "no_show", "canceled", "scheduled"]
    assert set(meetings["booked_by"]) == {"101"} and set(meetings["owner_id"]) == {"201"}


def test_planted_win_rates_and_stage_history(hs):
    out, _ = hs
    opps = pl.read_parquet(out / "opportunities.parquet")
    rates = dict(
        opps.filter("is_closed").group_by("owner_id").agg(pl.col("is_won").mean()).iter_rows()
    )
    assert rates == {"201": 0.75, "202": 0.25}
    history = pl.read_parquet(out / "stage_history.parquet")
    assert dict(history.group_by("stage").len().iter_rows()) == {
        "Appointment scheduled": 41,
        "Qualified to buy": 20,
        "Closed won": 20,
        "Closed lost": 20,
    }


def test_without_owners_reps_are_derived_from_names(tmp_path):
    export = hubspot_export(tmp_path / "export")
    (export / "owners.csv").unlink()
    report = ingest_hubspot(export, tmp_path / "out", as_of=AS_OF)
    reps = pl.read_parquet(tmp_path / "out" / "reps.parquet")
    assert "owners.csv missing" in report["warnings"][0]
    assert dict(zip(reps["rep_id"], reps["role"], strict=True))["Ada Eng"] == "AE"
    assert dict(zip(reps["rep_id"], reps["role"], strict=True))["Bea Dahl"] == "BDR"
