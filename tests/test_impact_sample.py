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


def test_impact_tables_are_identical_across_runs_and_row_orders(two_quarters, tmp_path) -> None:
    """Determinism without a second full run: ``impact`` again over the first run's own
    validated tables (``clean/``), every table's rows shuffled, writes byte-identical
    ``impact``, ``impact_weekly`` and ``impact_changes``."""
    _, out = two_quarters
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for i, table in enumerate(sorted((out / "clean").glob("*.parquet"))):
        frame = pl.read_parquet(table)
        frame.sample(fraction=1.0, shuffle=True, seed=i).write_parquet(shuffled / table.name)
    assert pl.read_parquet(shuffled / "meetings.parquet").height > 1000
    again = tmp_path / "again"
    assert main(["impact", "--data", str(shuffled), "--out", str(again)]) == 0
    for name in ("impact", "impact_weekly", "impact_changes"):
        first, second = out / f"{name}.parquet", again / f"{name}.parquet"
        assert first.read_bytes() == second.read_bytes(), name
    assert pl.read_parquet(again / "impact.parquet").height > 0


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


def test_team_trend_compares_with_the_previous_quarter(two_quarters, tmp_path: Path) -> None:
    from analysis.reports.data import load_metrics
    from analysis.reports.trend import trend_section

    data, _ = two_quarters
    out = tmp_path / "m"
    assert main(["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3"]) == 0
    trend = pl.read_parquet(out / "team_trend.parquet")
    assert sorted(trend["team"].unique().to_list()) == [
        "APAC",
        "EMEA",
        "Enterprise East",
        "Mid-Market West",
    ]
    meetings = trend.filter(pl.col("metric") == "meetings_booked_per_bdr_week")
    by_team = dict(zip(meetings["team"], meetings["change"], strict=True))
    assert by_team["EMEA"] == pytest.approx(0.32, abs=0.12)  # +20 % change on a +10 % trend
    assert by_team["Enterprise East"] == pytest.approx(0.10, abs=0.08)
    emea = meetings.filter(pl.col("team") == "EMEA").row(0, named=True)
    assert emea["ci_low"] > 0 and emea["clear_change"]
    text = trend_section(load_metrics(out, team="Enterprise East"))[0]
    assert "Against the previous quarter" in text and "meetings booked per BDR-week" in text
    # one quarter only: an empty table and a warning, and the report says so
    single = tmp_path / "single"
    assert main(["metrics", "--data", str(data), "--out", str(single), "--quarter", "2026Q2"]) == 0
    assert pl.read_parquet(single / "team_trend.parquet").is_empty()
    quality = json.loads((single / "quality.json").read_text())
    assert any("team_trend is empty" in w for w in quality["warnings"])
    assert "does not cover" in trend_section(load_metrics(single, team="EMEA"))[0]
