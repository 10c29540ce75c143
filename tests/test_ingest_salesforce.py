"""Salesforce ingest: every format quirk, exact row accounting, planted win rates."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_fixtures import (
    AS_OF,
    QUEUE,
    USERS,
    fifteen,
    opp_id,
    roles_file,
    salesforce_export,
    sfid,
)

from analysis.errors import BadInputError
from analysis.ingest.common import read_csv_text, sf_id
from analysis.ingest.salesforce import ingest_salesforce


@pytest.fixture(scope="module")
def sf(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("sf")
    export = salesforce_export(root / "export")
    out = root / "out"
    report = ingest_salesforce(export, out, roles=roles_file(root), tz="Europe/Berlin", as_of=None)
    return out, report


def _accounting_holds(report: dict) -> None:
    for name, obj in report["objects"].items():
        source = obj.get("source_rows", obj.get("source_cells"))
        for table, entry in obj["tables"].items():
            assert entry["mapped"] + sum(entry["rejected"].values()) == source, (name, table)


def test_accounting_is_exact_for_every_object(sf):
    out, report = sf
    _accounting_holds(report)
    objects = report["objects"]
    assert objects["Task"]["source_rows"] == 11  # 7 tasks + blank line + 3 report-footer lines
    assert objects["Task"]["tables"]["activities"] == {
        "mapped": 5,
        "rejected": {"blank_line": 1, "deleted": 1, "queue_owner": 1, "report_footer": 3},
    }
    assert objects["Event"]["tables"]["activities"] == {
        "mapped": 9,
        "rejected": {"child_event": 2, "out_of_office": 1, "queue_owner": 1},
    }
    assert objects["Event"]["tables"]["meetings"] == {
        "mapped": 8,
        "rejected": {
            "child_event": 2,
            "not_booked_by_bdr": 1,
            "out_of_office": 1,
            "queue_owner": 1,
        },
    }
    assert objects["Opportunity"]["tables"]["opportunities"] == {
        "mapped": 43,
        "rejected": {"deleted": 1},
    }
    assert objects["OpportunityHistory"]["tables"]["stage_history"] == {
        "mapped": 83,
        "rejected": {"deleted": 1, "non_stage_change": 40},
    }
    assert objects["User"]["tables"]["reps"] == {"mapped": 3, "rejected": {"non_standard_user": 1}}
    assert report["unused_files"] == {"Lead.csv": 1}
    on_disk = json.loads((out / "ingest.json").read_text())
    assert on_disk["tables"] == report["tables"]


def test_source_quarantine_keeps_rows_with_reasons(sf):
    out, _ = sf
    events = pl.read_parquet(out / "quarantine" / "source_Event.parquet")
    assert sorted(events["reason"].to_list()) == [
        "child_event",
        "child_event",
        "out_of_office",
        "queue_owner",
    ]
    tasks = pl.read_parquet(out / "quarantine" / "source_Task.parquet")
    assert tasks.filter(pl.col("reason") == "queue_owner")["ownerid"].to_list() == [QUEUE]
    assert tasks.height == 6  # deleted + queue + blank + 3 footer lines


def test_planted_ae_win_rates_are_recovered(sf):
    out, _ = sf
    opps = pl.read_parquet(out / "opportunities.parquet")
    rates = dict(
        opps.filter("is_closed").group_by("owner_id").agg(pl.col("is_won").mean()).iter_rows()
    )
    assert rates == {USERS["AE1"]: 0.75, USERS["AE2"]: 0.25}
    assert opps["opportunity_id"].str.len_chars().unique().to_list() == [
        18
    ]  # 15-char ids converted
    assert opps.filter(pl.col("opportunity_id") == opp_id(4))["owner_id"].item() == USERS["AE1"]
    lost = opps.filter(~pl.col("is_won") & pl.col("is_closed"))
    assert set(lost["lost_reason"].to_list()) == {"Price"}
    assert (
        opps.filter(pl.col("stage") == "Negotiation/Review")["closed_at"].null_count() == 3
    )  # open: no close
    assert (
        str(opps.filter(pl.col("opportunity_id") == opp_id(1))["closed_at"].item()) == "2026-07-22"
    )
    assert opps["spine_situation"].drop_nulls().unique().to_list() == ["Growing team"]
    sourced = opps.filter(pl.col("sourced_by").is_not_null())["opportunity_id"].sort().to_list()
    assert sourced == sorted(opp_id(k) for k in range(1, 7))


def test_task_types_times_and_outcomes(sf):
    out, _ = sf
    acts = pl.read_parquet(out / "activities.parquet").sort("activity_id")
    tasks = acts.filter(pl.col("activity_id").str.starts_with("00T"))
    assert tasks["activity_type"].to_list() == ["call", "email", "call", "task", "call"]
    assert tasks["outcome"].to_list()[:3] == ["voicemail", "completed", "connected"]
    assert tasks["notes"][0] == "Réunion prévue"  # Windows-1252 decoded
    assert (
        tasks["occurred_at"][0].isoformat() == "2026-07-02T10:05:00+00:00"
    )  # CompletedDateTime wins
    assert tasks["lead_id"][1] == "00Q000000000001AAA"
    assert tasks["opportunity_id"].to_list()[0] == opp_id(1)
    assert tasks["duration_s"].to_list()[0] == 120.0


def test_events_become_meetings_with_heuristic_status(sf):
    out, _ = sf
    meetings = pl.read_parquet(out / "meetings.parquet")
    assert meetings["booked_by"].unique().to_list() == [
        USERS["BDR1"]
    ]  # 15-char creator id converted
    counts = dict(meetings.group_by("status").len().iter_rows())
    assert counts == {"held": 6, "scheduled": 1, "canceled": 1}
    acts = pl.read_parquet(out / "activities.parquet")
    all_day = acts.filter(pl.col("activity_id") == "00U000000000014AAA")
    assert (
        all_day["occurred_at"].item().isoformat() == "2026-08-19T22:00:00+00:00"
    )  # ActivityDate, Berlin midnight
    assert all_day["activity_type"].item() == "meeting"
    assert acts.filter(pl.col("activity_type") == "meeting")["duration_s"].min() == 1800.0


def test_stage_history_collapses_non_stage_rows(sf):
    out, _ = sf
    history = pl.read_parquet(out / "stage_history.parquet")
    first = history.filter(pl.col("opportunity_id") == opp_id(1)).sort("entered_at")
    assert first["stage"].to_list() == ["Prospecting", "Closed Won"]
    assert (
        first["entered_at"][0].isoformat() == "2026-07-02T09:00:00+00:00"
    )  # the first of the collapsed rows


def test_reps_from_user_role_and_roles_file(sf):
    out, report = sf
    reps = pl.read_parquet(out / "reps.parquet").sort("rep_id")
    assert dict(zip(reps["rep_id"], reps["role"], strict=True)) == {
        USERS["BDR1"]: "BDR",
        USERS["AE1"]: "AE",
        USERS["AE2"]: "AE",
    }
    assert set(reps["team"]) == {"EMEA"}
    assert reps.filter(pl.col("rep_id") == USERS["BDR1"])["name"].item() == "Bea Dahl"
    assert report["warnings"] == []


def test_validation_runs_after_ingest(sf):
    out, report = sf
    quality = json.loads((out / "quality.json").read_text())
    assert quality["tables"]["opportunities"]["clean_rows"] == 43
    assert report["validation"]["activities"]["quarantined_rows"] == 0
    assert (out / "quarantine" / "activities.parquet").exists()


def test_missing_user_csv_derives_reps_with_warning(tmp_path):
    export = salesforce_export(tmp_path / "export", with_users=False)
    report = ingest_salesforce(export, tmp_path / "out", as_of=AS_OF)
    reps = pl.read_parquet(tmp_path / "out" / "reps.parquet")
    assert dict(zip(reps["rep_id"], reps["role"], strict=True)) == {
        USERS["BDR1"]: "BDR",
        USERS["AE1"]: "AE",
        USERS["AE2"]: "AE",
    }
    assert len(report["warnings"]) == 1 and "User.csv missing: 3 rep(s)" in report["warnings"][0]
    assert QUEUE not in reps["rep_id"].to_list()


def test_guessed_roles_are_warned_without_roles_file(tmp_path):
    export = salesforce_export(tmp_path / "export")
    report = ingest_salesforce(export, tmp_path / "out")
    assert "3 user(s) got a guessed role" in report["warnings"][0]
    reps = pl.read_parquet(tmp_path / "out" / "reps.parquet")
    assert reps.filter(pl.col("rep_id") == USERS["AE2"])["team"].item() == "EMEA Account Executive"


def test_bad_roles_file_fails_without_writing(tmp_path):
    export = salesforce_export(tmp_path / "export")
    bad = tmp_path / "roles.toml"
    bad.write_text('[[rules]]\nmatch = "(unclosed"\nrole = "BDR"\n')
    with pytest.raises(BadInputError, match=r"roles\.toml"):
        ingest_salesforce(export, tmp_path / "out", roles=bad)
    assert not (tmp_path / "out").exists()


def test_fifteen_to_eighteen_matches_independent_checksum():
    ids = ["0050000000000Bd", "00E0000000000Ae", "001xZ7aBcDeFgHi", "a0B5g00000ZzYyX"]
    got = pl.select(sf_id(pl.lit(pl.Series(ids)))).to_series().to_list()
    assert got == [sfid(i) for i in ids]
    assert pl.select(sf_id(pl.lit(fifteen(USERS["AE2"])))).item() == USERS["AE2"]


def test_cp1252_and_utf8_bom_are_read(tmp_path):
    cp = tmp_path / "a.csv"
    cp.write_bytes('"Id","Subject"\r\n"1","Café ñ"\r\n'.encode("cp1252"))
    bom = tmp_path / "b.csv"
    bom.write_bytes('\ufeff"Id","Subject"\r\n"1","Café ñ"\r\n'.encode("utf-8"))
    for path in (cp, bom):
        frame = read_csv_text(path).collect()
        assert frame.columns == ["_source_row", "Id", "Subject"]
        assert frame["Subject"].item() == "Café ñ"


def test_demo_org_style_export_loses_nothing(tmp_path):
    """Like the 2018 Developer-Edition Data Export: two history rows per opportunity, no User.csv."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(
        '"Id","IsDeleted","StageName","CloseDate","IsClosed","IsWon","OwnerId","CreatedDate","CampaignId"\n'
        '"0064600000J5S5TAAV","0","Qualification","2018-08-22 00:00:00","0","0","00546000001l1cJAAQ","2018-10-13 17:16:45","000000000000000AAA"\n'
        '"0064600000J5S5VAAV","0","Closed Won","2018-07-06 00:00:00","1","1","00546000001l1cJAAQ","2018-10-13 17:16:45","000000000000000AAA"\n'
    )
    (export / "OpportunityHistory.csv").write_text(
        '"Id","OpportunityId","CreatedDate","StageName","IsDeleted"\n'
        + "".join(
            f'"008000000000{k}","{o}","2018-10-13 17:16:45","{s}","0"\n'
            for k, (o, s) in enumerate(
                [("0064600000J5S5TAAV", "Qualification")] * 2
                + [("0064600000J5S5VAAV", "Closed Won")] * 2
            )
        )
    )
    (export / "Event.csv").write_text('"Id","OwnerId","ActivityDateTime","IsChild"\n')
    report = ingest_salesforce(export, tmp_path / "out")
    _accounting_holds(report)
    assert report["tables"] == {
        "reps": 1,
        "activities": 0,
        "meetings": 0,
        "opportunities": 2,
        "stage_history": 2,
    }
    assert not (
        tmp_path / "out" / "activities.parquet"
    ).exists()  # an empty source is not a table of zeros
    assert report["validation"]["opportunities"]["quarantined_rows"] == 0


def test_metrics_run_on_the_ingested_export_and_recover_the_skill_gap(sf, tmp_path):
    # Arrange: the ingested canonical folder from the module fixture
    out, _ = sf
    metrics = tmp_path / "metrics"

    # Act: the same metrics command a user runs next
    from analysis.cli import main

    status = main(
        [
            "metrics",
            "--data",
            str(out),
            "--out",
            str(metrics),
            "--quarter",
            "2026Q3",
            "--min-deals",
            "2",
            "--quiet",
        ]
    )

    # Assert: the planted 0.75 / 0.25 AEs come through with the raw rates intact
    assert status == 0
    gaps = pl.read_parquet(metrics / "skill_gaps.parquet")
    raw = dict(gaps.filter(pl.col("closed") > 0).select("rep_id", "win_rate").iter_rows())
    assert raw == {USERS["AE1"]: 0.75, USERS["AE2"]: 0.25}
    weak = gaps.filter(pl.col("rep_id") == USERS["AE2"]).row(0, named=True)
    assert weak["ratio_to_top"] < 1.0
    assert weak["evidence"] == "sufficient"
    quality = json.loads((metrics / "quality.json").read_text())
    for table, stats in quality["tables"].items():
        assert stats["input_rows"] == stats["clean_rows"] + stats["quarantined_rows"], table
