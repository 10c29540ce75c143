"""``--as-of``: resolved from the data by default, recorded in run.json, used for censoring."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from outcomes_fixtures import Q3, Q3_END, frame, handoff_dataset, rep

from analysis.cli import main
from analysis.errors import BadInputError
from analysis.metrics.handoffs import handoffs
from analysis.periods import data_as_of, parse_as_of, resolve_as_of


def test_data_as_of_is_latest_timestamp_of_any_table():
    acts = frame("activities", [{"activity_id": "a", "rep_id": "r", "activity_type": "call",
                                 "occurred_at": datetime(2026, 9, 30, 17, tzinfo=UTC)}])  # fmt: skip
    meetings = frame("meetings", [{"meeting_id": "m", "booked_by": "r", "status": "held",
                                   "booked_at": datetime(2026, 10, 1, 9, tzinfo=UTC)}])  # fmt: skip
    opps = frame("opportunities", [{"opportunity_id": "o", "owner_id": "r", "stage": "won",
                                    "created_at": datetime(2026, 8, 1, tzinfo=UTC),
                                    "is_closed": True, "is_won": True,
                                    "closed_at": date(2026, 10, 3)}])  # fmt: skip
    now = datetime(2026, 12, 1, tzinfo=UTC)
    tables = {"activities": acts, "meetings": meetings}
    assert data_as_of(tables, now=now) == datetime(2026, 10, 1, 9, tzinfo=UTC)
    tables["opportunities"] = opps
    assert data_as_of(tables, now=now) == datetime(2026, 10, 3, tzinfo=UTC)
    # never later than now: a future close date in the data does not move as-of past now
    assert data_as_of(tables, now=datetime(2026, 10, 2, tzinfo=UTC)) == datetime(
        2026, 10, 2, tzinfo=UTC
    )
    assert resolve_as_of(tables, now=now)[1] == "data"
    flagged = resolve_as_of(tables, flag="2026-10-01T12:00:00+02:00", now=now)
    assert flagged == (datetime(2026, 10, 1, 10, tzinfo=UTC), "flag")


def test_parse_as_of_rejects_garbage():
    with pytest.raises(BadInputError, match="--as-of"):
        parse_as_of("last tuesday")
    assert parse_as_of("2026-10-01T00:00:00Z") == datetime(2026, 10, 1, tzinfo=UTC)


def _tiny_dataset(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reps.csv").write_text("rep_id,role,team\nb,BDR,t\na,AE,t\n")
    (root / "meetings.csv").write_text(
        "meeting_id,booked_by,owner_id,booked_at,status,lead_id\n"
        "m1,b,a,2026-09-30T08:00:00Z,held,L1\n"
        "m2,b,a,2026-07-10T08:00:00Z,held,L2\n"
    )
    (root / "activities.csv").write_text(
        "activity_id,rep_id,occurred_at,activity_type,lead_id\n"
        "x1,a,2026-10-01T20:00:00Z,call,L1\n"
        "x2,a,2026-07-10T10:00:00Z,call,L2\n"
    )
    return root


def test_cli_records_as_of_and_source(tmp_path: Path):
    data = _tiny_dataset(tmp_path / "data")
    assert main(["metrics", "--data", str(data), "--out", str(tmp_path / "m1"),
                 "--quarter", "2026Q3", "--quiet"]) == 0  # fmt: skip
    run = json.loads((tmp_path / "m1" / "run.json").read_text())
    assert run["as_of_source"] == "data"
    assert datetime.fromisoformat(run["as_of"]) == datetime(2026, 10, 1, 20, tzinfo=UTC)
    assert run["outcome_horizon_days"] == 60
    h = pl.read_parquet(tmp_path / "m1" / "handoffs.parquet").sort("meeting_id")
    # m1 touched after the period end but before as-of: a real latency (36 h)
    assert h["latency_hours"].to_list() == [36.0, 2.0]

    assert main(["metrics", "--data", str(data), "--out", str(tmp_path / "m2"),
                 "--quarter", "2026Q3", "--quiet", "--as-of", "2026-09-30T20:00:00",
                 "--outcome-horizon-days", "30"]) == 0  # fmt: skip
    run = json.loads((tmp_path / "m2" / "run.json").read_text())
    assert run["as_of_source"] == "flag"
    assert run["as_of"] == "2026-09-30T20:00:00+00:00"
    assert run["outcome_horizon_days"] == 30
    h = pl.read_parquet(tmp_path / "m2" / "handoffs.parquet").sort("meeting_id")
    # at the earlier snapshot m1 was untouched for 12 h: censored, not a miss
    assert h["first_ae_touch_at"].to_list()[0] is None
    assert h["within_24h"].to_list() == [None, True]


def test_cli_bad_as_of_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = _tiny_dataset(tmp_path / "data")
    code = main(["metrics", "--data", str(data), "--out", str(tmp_path / "m"),
                 "--quarter", "2026Q3", "--as-of", "soon"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--as-of" in err[0]
    assert not (tmp_path / "m").exists()


def test_handoffs_censor_at_as_of_not_period_end():
    meetings, acts, reps, _ = handoff_dataset()
    # exported 20 h after the period end: edge10 (booked 10 h before the end, untouched)
    # has waited 30 h: a miss, no longer censored
    late = handoffs(meetings, acts, period=Q3, reps=reps, as_of=Q3_END + timedelta(hours=20))
    got = dict(late.select("meeting_id", "within_24h").collect().iter_rows())
    assert got["edge10"] is False
    # exported mid-period: meetings booked later do not exist yet, and a meeting booked
    # 6 h before the export with no touch is censored
    mid = datetime(2026, 8, 4, 15, tzinfo=UTC)  # h2 booked 2026-08-04 09:00
    out = handoffs(meetings, acts, period=Q3, reps=reps, as_of=mid).collect()
    assert out["booked_at"].max() <= mid
    row = out.filter(pl.col("meeting_id") == "h2").row(0, named=True)
    assert (row["first_ae_touch_at"], row["within_24h"], row["censored"]) == (None, None, True)
    # a touch after as-of is not in the snapshot
    h1 = out.filter(pl.col("meeting_id") == "h1").row(0, named=True)
    assert h1["latency_hours"] == pytest.approx(2.5)


def test_reps_only_dataset_as_of_is_now(tmp_path: Path):
    reps = frame("reps", [rep("a", "AE", "t")])
    before = datetime.now(UTC)
    moment, source = resolve_as_of({"reps": reps})
    assert source == "data" and before <= moment <= datetime.now(UTC)


def test_same_as_of_gives_identical_tables_on_tie_heavy_shuffled_data(tmp_path: Path):
    import numpy as np

    from analysis.sample.rep_scenarios import bdr_teams, skill_gap_teams

    rng = np.random.default_rng(8)
    opps, reps, _ = skill_gap_teams(rng, teams=3, reps_per_team=4)
    opps = opps.with_columns(  # a handful of amounts: many ties
        amount=(pl.col("opportunity_id").hash(1) % 3).cast(pl.Float64) * 1000.0
    )
    batch = bdr_teams(rng, teams=2, bdrs_per_team=4)
    tables = {
        "reps": pl.concat([reps, batch.reps]).collect(),
        "opportunities": pl.concat([opps, batch.opportunities], how="diagonal_relaxed").collect(),
        "meetings": batch.meetings.collect(),
    }
    outs = []
    for k, seed in enumerate((None, 3)):
        data = tmp_path / f"data{k}"
        data.mkdir()
        for name, df in tables.items():
            rows = df if seed is None else df.sample(fraction=1.0, shuffle=True, seed=seed)
            rows.write_parquet(data / f"{name}.parquet")
        out = tmp_path / f"out{k}"
        args = ["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3",
                "--quiet", "--as-of", "2026-10-03T00:00:00Z"]  # fmt: skip
        assert main(args) == 0
        outs.append(out)
    names = sorted(p.name for p in outs[0].glob("*.parquet"))
    assert {"skill_gaps.parquet", "bdr_funnel.parquet"} <= set(names)
    for name in names:
        assert pl.read_parquet(outs[0] / name).equals(pl.read_parquet(outs[1] / name)), name
