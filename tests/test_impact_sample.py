"""The two-quarter sample: the planted rollout is recovered by `decision-stack impact`."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from analysis.cli import main


@pytest.fixture(scope="module")
def two_quarters(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("two_quarters")
    data, out = base / "data", base / "impact"
    assert main(["sample-data", "--out", str(data), "--seed", "7"]) == 0
    assert main(["impact", "--data", str(data), "--out", str(out)]) == 0
    return data, out


def _row(out: Path, change: str, metric: str) -> dict:
    impact = pl.read_parquet(out / "impact.parquet")
    return impact.filter((pl.col("change_id") == change) & (pl.col("metric") == metric)).row(
        0, named=True
    )


def test_sample_has_a_changes_table_and_two_quarters(two_quarters) -> None:
    data, _ = two_quarters
    planted = json.loads((data / "planted.json").read_text())["previous_quarter"]
    assert planted["previous_quarter"] == "2026Q2"
    changes = pl.read_csv(data / "changes.csv")
    assert sorted(changes["team"].to_list()) == ["APAC", "EMEA"]
    meetings = pl.read_csv(data / "meetings.csv")
    assert meetings["meeting_id"].str.starts_with("P").sum() > 1000


def test_poor_hygiene_team_more_volume_worse_conversion(two_quarters) -> None:
    _, out = two_quarters
    meetings = _row(out, "sequencer-emea", "meetings_booked_per_bdr_week")
    assert meetings["ci_low"] <= 0.20 <= meetings["ci_high"] and meetings["ci_low"] > 0
    won = _row(out, "sequencer-emea", "won_per_meeting")
    assert won["ci_low"] <= -0.27 <= won["ci_high"] and won["ci_high"] < 0


def test_good_hygiene_team_more_volume_same_conversion(two_quarters) -> None:
    _, out = two_quarters
    meetings = _row(out, "sequencer-apac", "meetings_booked_per_bdr_week")
    assert meetings["ci_low"] <= 0.20 <= meetings["ci_high"] and meetings["ci_low"] > 0
    won = _row(out, "sequencer-apac", "won_per_meeting")
    assert won["ci_low"] <= 0 <= won["ci_high"]


def test_the_trust_of_treated_teams_is_reported(two_quarters) -> None:
    _, out = two_quarters
    changes = pl.read_parquet(out / "impact_changes.parquet").sort("change_id")
    assert changes["trusted"].to_list() == [True, False]  # APAC clean, EMEA dirty
