"""team_summary: one row per team, every figure equal to its defining table's (CONTRACT 5.6)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analysis.metrics.team_summary import team_summary
from analysis.periods import Period
from analysis.pipeline import run_metrics


def _read(out: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(out / f"{name}.parquet")


def test_one_row_per_team_with_the_contract_columns(sample_metrics: Path) -> None:
    summary = _read(sample_metrics, "team_summary")
    run = json.loads((sample_metrics / "run.json").read_text())
    assert summary["team"].to_list() == sorted(run["teams"])
    for column in (
        "team",
        "median_daily_decisions",
        "share_rep_days_over_threshold",
        "judgment_share",
        "automatable_share",
        "handoff_share_within_24h",
        "top_performer_rep_id",
        "flagged_bdrs",
        "hygiene_score",
        "trusted",
    ):
        assert column in summary.columns


def test_figures_equal_the_tables_that_define_them(sample_metrics: Path) -> None:
    summary = _read(sample_metrics, "team_summary").sort("team")
    threshold = json.loads((sample_metrics / "run.json").read_text())["thresholds"][
        "fatigue_threshold"
    ]
    load = (
        _read(sample_metrics, "decision_load")
        .group_by("team")
        .agg(
            auto=pl.col("pattern_recognition").sum()
            / (pl.col("pattern_recognition").sum() + pl.col("judgment").sum()),
            judg=pl.col("judgment").sum()
            / (pl.col("pattern_recognition").sum() + pl.col("judgment").sum()),
            median=pl.col("decisions").median(),
            over=(pl.col("decisions") > threshold).mean(),
        )
        .sort("team")
    )
    assert summary["automatable_share"].to_list() == pytest.approx(load["auto"].to_list())
    assert summary["judgment_share"].to_list() == pytest.approx(load["judg"].to_list())
    assert summary["median_daily_decisions"].to_list() == load["median"].to_list()
    assert summary["share_rep_days_over_threshold"].to_list() == pytest.approx(
        load["over"].to_list()
    )
    # the reconciled definition: pattern / classified, not pattern / all decisions
    assert (summary["automatable_share"] + summary["judgment_share"]).to_list() == pytest.approx(
        [1.0] * summary.height
    )
    hand = _read(sample_metrics, "handoff_summary").filter(pl.col("level") == "team").sort("team")
    assert summary["handoff_share_within_24h"].to_list() == hand["share_within_24h"].to_list()
    funnel = _read(sample_metrics, "bdr_funnel")
    flagged = funnel.group_by("team").agg(pl.col("flag").sum()).sort("team")
    assert summary["flagged_bdrs"].to_list() == flagged["flag"].to_list()
    hygiene = _read(sample_metrics, "hygiene").filter(pl.col("rep_id").is_null()).sort("team")
    assert summary["hygiene_score"].to_list() == hygiene["score"].to_list()
    assert summary["trusted"].to_list() == hygiene["trusted"].to_list()
    gaps = _read(sample_metrics, "skill_gaps")
    tops = set(gaps.filter(pl.col("is_top_performer"))["rep_id"])
    assert set(summary["top_performer_rep_id"].drop_nulls()) <= tops
    assert summary["top_performer_rep_id"].null_count() == 0


def test_missing_tables_leave_nulls_never_zeros(sample_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("reps", "opportunities"):
        (data / f"{name}.csv").write_bytes((sample_dir / f"{name}.csv").read_bytes())
    out = tmp_path / "out"
    run_metrics(data, out, period=Period.quarter("2026Q3"))
    summary = _read(out, "team_summary")
    assert summary.height == len(json.loads((out / "run.json").read_text())["teams"])
    for column in ("automatable_share", "flagged_bdrs", "handoff_share_within_24h"):
        assert summary[column].null_count() == summary.height, column
    assert summary["top_performer_rep_id"].null_count() < summary.height


def test_team_without_bdrs_has_null_flag_count_and_zero_when_none_flagged() -> None:
    reps = pl.LazyFrame({"rep_id": ["a", "b"], "team": ["T", "U"]})
    funnel = pl.LazyFrame({"rep_id": ["b1", "b2"], "team": ["T", "T"], "flag": [False, None]})
    load = pl.LazyFrame(
        {
            "rep_id": ["a"] * 3,
            "team": ["T"] * 3,
            "day": [date(2026, 7, d) for d in (1, 2, 3)],
            "decisions": [10, 50, 60],
            "pattern_recognition": [6, 30, 0],
            "judgment": [2, 10, 0],
        }
    )
    s = team_summary(reps, bdr_funnel=funnel, decision_load=load, fatigue_threshold=45).collect()
    t, u = s.row(0, named=True), s.row(1, named=True)
    assert (t["flagged_bdrs"], u["flagged_bdrs"]) == (0, None)
    assert t["automatable_share"] == pytest.approx(36 / 48)  # a day with only unclassified
    assert t["share_rep_days_over_threshold"] == pytest.approx(2 / 3)
    assert u["median_daily_decisions"] is None
