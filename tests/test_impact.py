"""Change over time (issue 14): the changes table, `decision-stack impact`, planted effects recovered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from html_checks import page_loads

from analysis.canonical.validate import validate_dataset, write_validation
from analysis.cli import main
from analysis.impact.simulate import simulate_rollout
from analysis.ingest.mapped import ingest_mapped

REPS = "rep_id,role,team\nr1,BDR,East\nr2,AE,East\nr3,BDR,West\n"


def _write_tables(folder: Path, tables: dict[str, pl.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Held-out-style data: +20 % meetings, -27 % won per meeting in T1, +10 % trend everywhere."""
    base = tmp_path_factory.mktemp("rollout")
    tables = simulate_rollout(seed=11, n_teams=4, bdrs_per_team=20, placebo_team="T3")
    data = _write_tables(base / "data", tables)
    assert main(["impact", "--data", str(data), "--out", str(base / "out")]) == 0
    return pl.read_parquet(base / "out" / "impact.parquet")


def _row(impact: pl.DataFrame, change: str, metric: str) -> dict:
    rows = impact.filter((pl.col("change_id") == change) & (pl.col("metric") == metric))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_changes_rows_are_clean_or_quarantined_with_a_reason(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reps.csv").write_text(REPS)
    (folder / "changes.csv").write_text(
        "change_id,name,started_at,team,rep_id\n"
        "c1,AI assistant,2026-07-01,East,\n"
        "c1,AI assistant,2026-08-01T09:00:00+02:00,,r3\n"  # same change, one rep, later
        "c1,AI assistant,2026-07-01,East,\n"  # exact copy
        "c2,No scope,2026-07-01,,\n"
        "c3,Bad date,someday,East,\n"
        "c4,Unknown team,2026-07-01,North,\n"
        "c5,Unknown rep,2026-07-01,,r9\n"
        ",No id,2026-07-01,East,\n"
    )
    quality = write_validation(validate_dataset(folder), tmp_path / "out")
    changes = quality["tables"]["changes"]
    assert changes["input_rows"] == 8
    assert changes["clean_rows"] == 2
    assert changes["input_rows"] == changes["clean_rows"] + changes["quarantined_rows"]
    assert changes["reasons"] == {
        "duplicate": 1,
        "invalid_value": 1,
        "missing_required_value": 2,
        "unknown_rep": 1,
        "unparseable_value": 1,
    }
    clean = pl.read_parquet(tmp_path / "out" / "clean" / "changes.parquet")
    assert clean["started_at"].dt.hour().to_list() == [0, 7]  # offsets converted to UTC


def test_mapped_ingest_builds_a_changes_table(tmp_path: Path) -> None:
    (tmp_path / "team.csv").write_text("agent,office\nAnn,East\nBo,West\n")
    (tmp_path / "rollouts.csv").write_text("key,what,when,office\nR1,Sequencer,2026-07-01,East\n")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[tables.reps]\nfile = "team.csv"\n[tables.reps.columns]\nrep_id = "agent"\n'
        'team = "office"\nrole = { value = "BDR" }\n'
        '[tables.changes]\nfile = "rollouts.csv"\n[tables.changes.columns]\n'
        'change_id = "key"\nname = "what"\nstarted_at = "when"\nteam = "office"\n'
    )
    ingest_mapped(mapping, tmp_path / "out")
    quality = write_validation(validate_dataset(tmp_path / "out"), tmp_path / "check")
    assert quality["tables"]["changes"]["clean_rows"] == 1


def test_planted_rollout_is_recovered(rollout: pl.DataFrame) -> None:
    meetings = _row(rollout, "rollout", "meetings_booked_per_bdr_week")
    assert abs(meetings["effect_relative"] - 0.20) < 0.08
    assert meetings["ci_low"] > 0
    won = _row(rollout, "rollout", "won_per_meeting")
    assert won["ci_low"] <= -0.27 <= won["ci_high"]
    assert won["ci_high"] < 0
    assert meetings["n_treated"] == 20
    # T2 and T4, plus the placebo team until its own change starts (not yet treated)
    assert meetings["n_control"] == 60


def test_placebo_change_gives_intervals_containing_zero(rollout: pl.DataFrame) -> None:
    for metric in ("meetings_booked_per_bdr_week", "won_per_meeting"):
        row = _row(rollout, "placebo", metric)
        assert row["ci_low"] <= 0 <= row["ci_high"], (metric, row)


def test_naive_before_after_differs_from_the_estimate_by_the_common_trend(
    rollout: pl.DataFrame,
) -> None:
    row = _row(rollout, "rollout", "meetings_booked_per_bdr_week")
    naive = row["treated_after"] / row["treated_before"] - 1
    assert naive == pytest.approx(row["naive_relative"])
    assert naive > row["ci_high"]  # before/after alone overstates the effect
    trend = (1 + naive) / (1 + row["effect_relative"]) - 1
    assert trend == pytest.approx(0.10, abs=0.05)
    controls = row["control_after"] / row["control_before"] - 1
    assert controls == pytest.approx(0.10, abs=0.05)


def test_impact_tables_have_the_contract_columns(rollout: pl.DataFrame, tmp_path: Path) -> None:
    from analysis import registry
    from analysis.impact.run import IMPACT_COLUMNS, WEEKLY_COLUMNS

    assert registry.check_frame("impact", rollout.schema) == []
    assert list(registry.get("impact_weekly").schema()) == list(WEEKLY_COLUMNS)

    assert set(IMPACT_COLUMNS) <= set(rollout.columns)
    assert rollout.filter(pl.col("change_id") == "rollout").height >= 4
    assert rollout["pre_trend_p_value"].drop_nulls().len() > 0
    assert (rollout["method"].str.contains("fixed effects")).all()
    assert len(WEEKLY_COLUMNS) == 6


def test_event_study_weeks_and_pre_trend(tmp_path: Path) -> None:
    tables = simulate_rollout(seed=5, n_teams=3, bdrs_per_team=6)
    data = _write_tables(tmp_path / "data", tables)
    out = tmp_path / "out"
    code = main(["impact", "--data", str(data), "--out", str(out), "--change", "rollout"])
    assert code == 0
    weekly = pl.read_parquet(out / "impact_weekly.parquet").filter(
        pl.col("metric") == "meetings_booked_per_bdr_week"
    )
    assert weekly["week"].min() == -13
    assert weekly.filter(pl.col("week") == -1)["estimate"].to_list() == [0.0]
    after = weekly.filter(pl.col("week") >= 0)["estimate"].mean()
    before = weekly.filter(pl.col("week") < -1)["estimate"].mean()
    assert after > before + 0.1
    run = json.loads((out / "run.json").read_text())
    assert run["as_of_source"] == "data"
    assert run["changes"] == ["rollout"]


def test_impact_without_changes_table_exits_2(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reps.csv").write_text(REPS)
    assert main(["impact", "--data", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "changes" in err[0]
    assert not (tmp_path / "out").exists()


def test_unknown_change_id_exits_2(tmp_path: Path, capsys) -> None:
    tables = simulate_rollout(seed=1, n_teams=2, bdrs_per_team=2)
    data = _write_tables(tmp_path / "data", tables)
    code = main(["impact", "--data", str(data), "--out", str(tmp_path / "o"), "--change", "nope"])
    assert code == 2
    assert "nope" in capsys.readouterr().err


def test_impact_report_per_change_through_papermill(tmp_path: Path) -> None:
    tables = simulate_rollout(seed=2, n_teams=3, bdrs_per_team=4)
    tables["changes"] = tables["changes"].with_columns(name=pl.lit("<b>AI</b> & co"))
    data = _write_tables(tmp_path / "data", tables)
    reports = tmp_path / "reports"
    args = [
        "impact",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--reports",
        str(reports),
    ]
    assert main(args) == 0
    page = (reports / "impact" / "rollout.html").read_text()
    assert "&lt;b&gt;AI&lt;/b&gt; &amp; co" in page and "<b>AI</b>" not in page
    assert "meetings booked per BDR-week" in page and "data:image/png" in page
    assert 'href="rollout.html"' in (reports / "impact" / "index.html").read_text()
    for html in sorted((reports / "impact").glob("*.html")):  # offline-safe pages
        loads = page_loads(html.read_text())
        assert loads.external == [] and loads.scripts == 0, html.name
        assert all(src.startswith("data:image/png;base64,") for src in loads.images)
    assert page_loads(page).images and page_loads(page).tables >= 1


def _links(page: Path) -> list[str]:
    return re.findall(r'href="([^"]*)"', page.read_text())


def test_quarter_index_and_impact_index_link_each_other(tmp_path: Path) -> None:
    """``impact --reports R`` beside ``report --out R``: each index links the other,
    relatively, whichever ran second; names are escaped."""
    from analysis.outputs import check_output_dir
    from analysis.reports.runner import write_index

    tables = simulate_rollout(seed=2, n_teams=2, bdrs_per_team=3)
    tables["changes"] = tables["changes"].with_columns(name=pl.lit("<b>AI</b> & co"))
    data = _write_tables(tmp_path / "data", tables)
    reports = tmp_path / "reports"
    run = {"period": {"start": "2026-07-01", "end": "2026-10-01"}}
    (reports / "2026Q2").mkdir(parents=True)
    write_index(reports / "2026Q2", [], run=run, label="2026Q2")
    (reports / "2026Q2" / "reports.json").write_text("{}")
    out = ["impact", "--data", str(data), "--out", str(tmp_path / "o"), "--reports", str(reports)]
    assert main(out) == 0
    impact_index = reports / "impact" / "index.html"
    assert "../2026Q2/index.html" in _links(impact_index)  # the quarter written before
    check_output_dir(reports, kind="reports")  # `report --out reports` still accepts it
    quarter = reports / "2026Q3"
    quarter.mkdir()
    write_index(quarter, [], run=run, label="2026Q3")
    links = _links(quarter / "index.html")
    assert "../impact/index.html" in links and "../impact/rollout.html" in links
    for link in links:  # every relative link resolves to a written page
        assert (quarter / link).resolve().is_file(), link
    page = (quarter / "index.html").read_text()
    assert "&lt;b&gt;AI&lt;/b&gt; &amp; co" in page and "<b>AI</b>" not in page
    assert page_loads(page).external == []
    # a quarter index written with no impact reports beside it has no such section
    lone = tmp_path / "lone" / "2026Q3"
    lone.mkdir(parents=True)
    write_index(lone, [], run=run, label="2026Q3")
    assert "impact" not in (lone / "index.html").read_text().lower()
