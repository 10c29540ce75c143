"""The contract end to end on the sample organisation: every planted effect is recovered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analysis.cli import main

CONTRACT_COLUMNS = {
    "decisions": [
        "activity_id",
        "rep_id",
        "team",
        "day",
        "seq_in_day",
        "decision",
        "decision_class",
        "rule_id",
    ],
    "decision_load": [
        "rep_id",
        "team",
        "day",
        "decisions",
        "pattern_recognition",
        "judgment",
        "unclassified",
        "over_threshold",
    ],
    "fatigue": [
        "team",
        "threshold_estimate",
        "threshold_ci_low",
        "threshold_ci_high",
        "quality_before",
        "quality_after",
        "relative_drop",
        "p_value",
        "n_decisions",
        "shape",
        "slope_per_10",
        "slope_ci_low",
        "slope_ci_high",
        "significant",
        "ci_method",
    ],
    "bdr_funnel": [
        "rep_id",
        "team",
        "meetings_booked",
        "meetings_held",
        "opportunities",
        "won",
        "won_per_meeting",
        "ci_low",
        "ci_high",
        "team_median_won_per_meeting",
        "flag",
    ],
    "skill_gaps": [
        "rep_id",
        "team",
        "role",
        "closed",
        "won",
        "win_rate",
        "shrunk_win_rate",
        "ci_low",
        "ci_high",
        "top_performer_rate",
        "ratio_to_top",
        "evidence",
    ],
    "hygiene": ["team", "rep_id", "score", "trusted"],
    "handoffs": [
        "meeting_id",
        "bdr_id",
        "ae_id",
        "booked_at",
        "first_ae_touch_at",
        "latency_hours",
        "within_24h",
    ],
}


def _table(metrics: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(metrics / f"{name}.parquet")


def test_every_contract_table_has_its_columns(sample_metrics: Path) -> None:
    for name, columns in CONTRACT_COLUMNS.items():
        frame = _table(sample_metrics, name)
        assert frame.height > 0, name
        missing = [c for c in columns if c not in frame.columns]
        assert not missing, f"{name} lacks {missing}"


def test_quality_accounts_for_every_planted_dirty_row(
    sample_metrics: Path, planted: dict[str, Any]
) -> None:
    quality = json.loads((sample_metrics / "quality.json").read_text())
    for table, reasons in planted["dirty_rows"].items():
        stats = quality["tables"][table]
        assert stats["reasons"] == reasons, table
        assert stats["input_rows"] == planted["input_rows"][table]
        assert stats["clean_rows"] == planted["clean_rows"][table]
        assert stats["input_rows"] == stats["clean_rows"] + stats["quarantined_rows"]
        quarantine = pl.read_parquet(sample_metrics / "quarantine" / f"{table}.parquet")
        assert quarantine.height == stats["quarantined_rows"]
    assert quality["unavailable"] == {}


def test_decisions_cover_the_period_by_local_day(
    sample_metrics: Path, planted: dict[str, Any]
) -> None:
    decisions = _table(sample_metrics, "decisions")
    assert decisions.height == planted["decisions"]["activities_in_period"]
    assert decisions["day"].min().isoformat() >= "2026-07-01"
    assert decisions["day"].max().isoformat() <= "2026-09-30"
    assert decisions["activity_id"].is_unique().all()
    load = _table(sample_metrics, "decision_load")
    assert load["decisions"].sum() == decisions.height
    assert load.height == planted["decisions"]["rep_days"]
    assert int(load["over_threshold"].sum()) == planted["decisions"]["rep_days_over_threshold"]
    # seq_in_day is 1..n within each rep and local day
    check = decisions.group_by("rep_id", "day").agg(
        n=pl.len(), mx=pl.col("seq_in_day").max(), mn=pl.col("seq_in_day").min()
    )
    assert (check["n"] == check["mx"]).all() and (check["mn"] == 1).all()


def test_fatigue_threshold_and_drop_are_recovered(
    sample_metrics: Path, planted: dict[str, Any]
) -> None:
    fatigue = _table(sample_metrics, "fatigue")
    assert set(fatigue["team"]) == {*planted["teams"], "all"}
    truth = planted["fatigue"]
    step_rows = fatigue.filter(pl.col("team").is_in([*truth["teams"], "all"]))
    for row in step_rows.iter_rows(named=True):
        assert row["shape"] == "threshold" and row["significant"] is True, row
        assert abs(row["threshold_estimate"] - truth["threshold"]) <= 2, row
        assert row["threshold_ci_low"] <= truth["threshold"] <= row["threshold_ci_high"], row
        assert row["p_value"] < 0.01
        if row["team"] != "all":  # the all row mixes in the team without a step
            assert abs(row["relative_drop"] - truth["relative_drop"]) <= 0.1, row
    # busy days and late afternoons are worse in the confound team, but it has no step
    confound = fatigue.filter(pl.col("team") == truth["confound"]["team"]).row(0, named=True)
    assert confound["shape"] != "threshold" and confound["significant"] is False, confound
    assert confound["threshold_estimate"] is None and confound["relative_drop"] is None
    curve = _table(sample_metrics, "fatigue_curve")
    assert curve["adjusted_quality"].drop_nulls().len() > 0
    # the confound team's adjusted curve is flat like its verdict (its raw curve falls)
    team = curve.filter(pl.col("team") == truth["confound"]["team"])
    early = team.filter(pl.col("seq_to") <= 20)
    later = team.filter(pl.col("seq_from").is_between(41, 76))
    assert early["quality_rate"].mean() - later["quality_rate"].mean() > 0.05
    assert abs(early["adjusted_quality"].mean() - later["adjusted_quality"].mean()) < 0.05


def test_weak_bdr_is_flagged_and_no_other(sample_metrics: Path, planted: dict[str, Any]) -> None:
    funnel = _table(sample_metrics, "bdr_funnel")
    flagged = funnel.filter(pl.col("flag"))["rep_id"].to_list()
    assert flagged == [planted["weak_bdr"]["rep_id"]]


def test_skill_gap_ratio_and_evidence(sample_metrics: Path, planted: dict[str, Any]) -> None:
    gaps = _table(sample_metrics, "skill_gaps")
    gap = planted["skill_gap"]

    def row(rep: str) -> dict[str, Any]:
        return gaps.filter(pl.col("rep_id") == rep).row(0, named=True)

    assert row(gap["weak_ae"])["ratio_to_top"] == pytest.approx(gap["true_ratio"], abs=0.1)
    assert row(gap["top_ae"])["ratio_to_top"] == pytest.approx(1.0)
    too_few = row(gap["too_few_ae"])
    assert too_few["evidence"] == "too_few" and too_few["win_rate"] == 1.0
    assert too_few["shrunk_win_rate"] != too_few["top_performer_rate"]
    open_only = row(gap["open_only_ae"])
    assert open_only["closed"] == 0 and open_only["win_rate"] is None


def test_dirty_team_is_untrusted_and_others_trusted(
    sample_metrics: Path, planted: dict[str, Any]
) -> None:
    teams = _table(sample_metrics, "hygiene").filter(pl.col("rep_id").is_null())
    trusted = dict(zip(teams["team"], teams["trusted"], strict=True))
    assert trusted.pop(planted["dirty_team"]) is False
    assert all(trusted.values())
    funnel = _table(sample_metrics, "bdr_funnel")
    assert (
        funnel.filter(pl.col("team") == planted["dirty_team"])["data_trusted"].to_list()
        == [False] * 5
    )


def test_handoff_shares_match_the_planted_latencies(
    sample_metrics: Path, planted: dict[str, Any]
) -> None:
    handoffs = _table(sample_metrics, "handoffs")
    # The planted meetings censored at the period end were still untouched when the data
    # was exported (as-of, days later): the SLA elapsed, so they are misses, not censored.
    late = handoffs.filter(pl.col("meeting_id").is_in(planted["handoffs"]["censored_meeting_ids"]))
    assert late.height == len(planted["handoffs"]["censored_meeting_ids"]) >= 3
    assert late["within_24h"].to_list() == [False] * late.height
    assert handoffs["within_24h"].null_count() == 0
    share = handoffs.group_by("team").agg(pl.col("within_24h").mean()).sort("team")
    for team, value in share.iter_rows():
        t = planted["handoffs"]["teams"][team]
        at_as_of = t["within_24h_true"] / (
            t["within_24h_true"] + t["within_24h_false"] + t["censored"]
        )
        assert value == pytest.approx(at_as_of, abs=0.02)
    slow = planted["handoffs"]["slow_team"]
    assert share.filter(pl.col("team") == slow)["within_24h"].item() < 0.25


def test_metrics_are_deterministic(sample_dir: Path, sample_metrics: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert (
        main(
            [
                "metrics",
                "--data",
                str(sample_dir),
                "--out",
                str(out),
                "--quarter",
                "2026Q3",
                "--quiet",
            ]
        )
        == 0
    )
    for name in CONTRACT_COLUMNS:
        assert _table(out, name).equals(_table(sample_metrics, name)), name


def test_missing_optional_tables_are_unavailable_not_zero(sample_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("reps.csv", "activities.csv"):
        (data / name).write_bytes((sample_dir / name).read_bytes())
    out = tmp_path / "out"
    assert (
        main(["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3", "--quiet"])
        == 0
    )
    quality = json.loads((out / "quality.json").read_text())
    assert quality["unavailable"] == {
        "bdr_funnel": ["meetings", "opportunities"],
        "handoffs": ["meetings"],
        "handoff_summary": ["meetings"],
        "skill_gaps": ["opportunities"],
        **{
            name: ["opportunities", "stage_history"]
            for name in (
                "stage_durations",
                "stage_conversion",
                "stage_survival",
                "stalled_deals",
                "pipeline_exceptions",
                "stage_hygiene",
            )
        },
    }
    for name in ("bdr_funnel", "handoffs", "skill_gaps", "stage_durations", "stalled_deals"):
        assert not (out / f"{name}.parquet").exists()
    assert (out / "decisions.parquet").exists() and (out / "hygiene.parquet").exists()


def test_sample_data_cli_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            main(["sample-data", "--out", str(tmp_path / name), "--seed", "3", "--scale", "0.1"])
            == 0
        )
    for file in sorted((tmp_path / "a").iterdir()):
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes(), file.name


def test_bad_taxonomy_is_exit_2_and_writes_nothing(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taxonomy = tmp_path / "bad.toml"
    taxonomy.write_text(
        '[classes]\npattern_recognition = ["sequencing"]\njudgment = []\n[quality]\npositive = []\nnegative = []\n[[rules]]\nid = "x"\ndecision = "astrology"\nactivity_type = ["call"]\n'
    )
    out = tmp_path / "out"
    status = main(
        [
            "metrics",
            "--data",
            str(sample_dir),
            "--out",
            str(out),
            "--quarter",
            "2026Q3",
            "--taxonomy",
            str(taxonomy),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "bad.toml" in err
    assert not out.exists()


def test_hygiene_components_without_any_data_are_not_scored(
    sample_dir: Path, tmp_path: Path
) -> None:
    # Arrange: an export that never carried lost reasons or SPINE fields
    data = tmp_path / "data"
    data.mkdir()
    (data / "reps.csv").write_bytes((sample_dir / "reps.csv").read_bytes())
    opps = pl.read_csv(sample_dir / "opportunities.csv", infer_schema=False)
    opps.drop("lost_reason", *[c for c in opps.columns if c.startswith("spine_")]).write_csv(
        data / "opportunities.csv"
    )
    out = tmp_path / "out"

    # Act
    assert (
        main(["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3", "--quiet"])
        == 0
    )

    # Assert: null components (no evidence), never 0, and a warning that says so
    teams = _table(out, "hygiene").filter(pl.col("rep_id").is_null())
    assert teams["lost_with_reason"].null_count() == teams.height
    assert teams["spine_complete"].null_count() == teams.height
    assert (teams["n_components"] == 1).all()
    warnings = json.loads((out / "quality.json").read_text())["warnings"]
    assert any("lost_with_reason" in w and "spine_complete" in w for w in warnings)


def test_metrics_refuses_to_replace_its_own_inputs(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "reps.csv").write_bytes((sample_dir / "reps.csv").read_bytes())
    for out in (data, tmp_path):
        status = main(
            ["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3", "--quiet"]
        )
        assert status == 2
        assert "must not be the data folder" in capsys.readouterr().err
    assert (data / "reps.csv").exists()
