"""The large-data paths (issue 16) give exactly the tables of the plain paths.

* ``write_decisions`` one rep partition at a time equals ``classify_activities``
  collected whole (ties, time zones, days outside the period, reps without activity);
* ``metrics`` keeps no second copy of the activities, and its accounting says where
  every clean activity went (in the period -> ``decisions``, or outside it);
* a run forced onto many rep partitions writes the same tables, value for value.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from decisions_fixtures import reps_frame, utc

from analysis import slices
from analysis.cli import main
from analysis.decisions import materialize
from analysis.decisions.classify import classify_activities
from analysis.decisions.materialize import rep_partitions, write_decisions
from analysis.decisions.taxonomy import load_taxonomy
from analysis.periods import Period
from analysis.sample.generate import generate_sample

Q3 = Period.quarter("2026Q3")


def _activities() -> pl.LazyFrame:
    rows = []
    for i, (rep, hour) in enumerate(
        [("la", 16), ("la", 16), ("la", 16), ("be", 8), ("be", 22), ("ny", 13), ("ny", 13)] * 3
    ):
        day = 1 + i % 3
        rows.append(
            {
                # ids out of order, and three activities of a rep at one instant: the
                # tie order is the activity_id order in every partitioning
                "activity_id": f"a{(37 * i) % 23:02d}-{i}",
                "rep_id": rep,
                "occurred_at": utc(2026, 7, day, hour, 0),
                "activity_type": ["call", "email", "meeting"][i % 3],
                "outcome": ["positive", "negative", None][i % 3],
                "subject": ["Discovery", "Follow-up", None][(i // 3) % 3],
            }
        )
    rows.append({**rows[0], "activity_id": "z-late", "occurred_at": utc(2026, 10, 1, 23)})
    rows.append({**rows[0], "activity_id": "z-early", "occurred_at": utc(2026, 6, 30, 1)})
    return pl.LazyFrame(rows).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))


REPS = reps_frame(
    [
        ("la", "West", "BDR", "America/Los_Angeles"),
        ("be", "Europe", "AE", "Europe/Berlin"),
        ("ny", "East", "AE", "America/New_York"),
        ("idle", "East", "BDR", "America/New_York"),
    ]
)


@pytest.mark.parametrize("rows_per_part", [1, 5, 1_000])
def test_partitioned_decisions_equal_the_single_plan(tmp_path: Path, rows_per_part: int) -> None:
    tax = load_taxonomy()
    expected = classify_activities(_activities(), REPS.lazy(), taxonomy=tax, period=Q3).collect()
    path = tmp_path / "decisions.parquet"

    n = write_decisions(
        _activities(), REPS.lazy(), path, taxonomy=tax, period=Q3, rows_per_part=rows_per_part
    )

    got = pl.read_parquet(path)
    assert n == got.height == expected.height == 21
    assert got.schema == expected.schema
    assert got.equals(expected)
    assert not list(tmp_path.glob(".*")), "scratch files are removed"


def test_partitioned_decisions_with_nothing_in_the_period(tmp_path: Path) -> None:
    acts = _activities().with_columns(pl.col("occurred_at").dt.offset_by("-1y"))
    path = tmp_path / "decisions.parquet"
    n = write_decisions(
        acts, REPS.lazy(), path, taxonomy=load_taxonomy(), period=Q3, rows_per_part=2
    )
    assert n == 0
    assert pl.read_parquet(path).columns[:4] == ["activity_id", "rep_id", "team", "role"]


def test_rep_partitions_never_split_a_rep_and_cover_every_rep() -> None:
    counts = pl.DataFrame({"_rep_rank": [3, 1, 2, 4, 5], "n": [7, 2, 2, 1, 9]})
    parts = rep_partitions(counts, rows_per_part=4)
    assert parts == [(1, 2), (3, 3), (4, 4), (5, 5)]
    covered = [r for first, last in parts for r in range(first, last + 1)]
    assert covered == [1, 2, 3, 4, 5]


def _tables(folder: Path) -> dict[str, pl.DataFrame]:
    return {p.name: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def test_metrics_without_an_activity_copy_and_with_many_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = tmp_path / "csv"
    generate_sample(csv, seed=5, scale=0.2, previous_quarter=False)
    data = tmp_path / "data"  # parquet, as a large export would be: read in row slices
    data.mkdir()
    for path in csv.glob("*.csv"):
        pl.read_csv(path, infer_schema=False).write_parquet(data / f"{path.stem}.parquet")
    args = ["--data", str(data), "--quarter", "2026Q3", "--as-of", "2026-10-02T00:00:00Z"]

    assert main(["metrics", *args, "--out", str(tmp_path / "one"), "--quiet"]) == 0
    monkeypatch.setattr(materialize, "ROWS_PER_PART", 2_000)  # dozens of rep partitions
    monkeypatch.setattr(slices, "SLICE_ROWS", 7_000)  # and input slices (duplicates across them)
    monkeypatch.setattr(slices, "CSV_SLICE_ROWS", 7_000)
    assert main(["metrics", *args, "--out", str(tmp_path / "many"), "--quiet"]) == 0
    csv_args = ["--data", str(csv), *args[2:], "--out", str(tmp_path / "csv_out"), "--quiet"]
    assert main(["metrics", *csv_args]) == 0  # a CSV input: the same tables

    one, many = _tables(tmp_path / "one"), _tables(tmp_path / "many")
    assert one.keys() == many.keys()
    for name in one:
        assert one[name].equals(many[name]), name
    q_one, q_many = (
        _tables(tmp_path / "one" / "quarantine"),
        _tables(tmp_path / "many" / "quarantine"),
    )
    assert q_one.keys() == q_many.keys()
    assert all(q_one[name].equals(q_many[name]) for name in q_one)
    from_csv = _tables(tmp_path / "csv_out")
    assert from_csv["decisions.parquet"].equals(one["decisions.parquet"])
    assert from_csv["fatigue.parquet"].equals(one["fatigue.parquet"])
    for out in ("one", "many", "csv_out"):
        folder = tmp_path / out
        assert not (folder / "clean" / "activities.parquet").exists()
        assert (folder / "clean" / "reps.parquet").exists()
        assert not (folder / "_work").exists()
        quality = json.loads((folder / "quality.json").read_text())["tables"]["activities"]
        decisions = pl.read_parquet(folder / "decisions.parquet")
        assert quality["in_period_rows"] == decisions.height
        assert quality["in_period_rows"] + quality["outside_period_rows"] == quality["clean_rows"]
        assert quality["clean_rows"] + quality["quarantined_rows"] == quality["input_rows"]
        quarantined = pl.read_parquet(folder / "quarantine" / "activities.parquet")
        own = quarantined.filter(~pl.col("reason").is_in(["duplicate", "duplicate_key"]))
        assert own.height > 0  # the sample plants bad rows
        # a row quarantined for its own values never reaches the decisions
        assert not decisions["activity_id"].is_in(own["activity_id"].drop_nulls().implode()).any()
        assert decisions["activity_id"].is_unique().all()


def test_fatigue_counted_a_group_of_reps_at_a_time_gives_the_same_tables() -> None:
    from polars.testing import assert_frame_equal

    from analysis.decisions.fatigue import fatigue_tables
    from analysis.sample.fatigue_scenarios import simulate_decisions

    plain = simulate_decisions("step_medium", n_reps=6, n_days=15, teams=("T1", "T2"), seed=4)
    # a few very long days (positions past SEQ_CAP are pooled into one cell per hour)
    long_days = plain.filter(pl.col("rep_id") == pl.col("rep_id").min()).with_columns(
        seq_in_day=pl.col("seq_in_day") * 4
    )
    decisions = pl.concat([plain.filter(pl.col("rep_id") != pl.col("rep_id").min()), long_days])
    assert decisions.select(pl.col("seq_in_day").max()).collect().item() > 200

    whole = fatigue_tables(decisions, cells_per_part=10**9)
    grouped = fatigue_tables(decisions, cells_per_part=500)  # one or two reps per group

    assert whole.fatigue["shape"].to_list() == grouped.fatigue["shape"].to_list()
    assert "threshold" in whole.fatigue["shape"].to_list()  # the planted step is found
    assert_frame_equal(whole.fatigue, grouped.fatigue, rel_tol=1e-9, abs_tol=1e-12)
    assert_frame_equal(whole.curve, grouped.curve, rel_tol=1e-9, abs_tol=1e-12)


def test_one_read_of_the_activities_gives_the_tables_of_one_read_per_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The activity feed (analysis/activity_pass.py) changes no table, quarantine or count."""
    from analysis import pipeline

    data = tmp_path / "csv"
    generate_sample(data, seed=11, scale=0.2, previous_quarter=False)
    args = ["--data", str(data), "--quarter", "2026Q3", "--quiet"]
    monkeypatch.setattr(slices, "SLICE_ROWS", 5_000)  # duplicates across fed slices
    monkeypatch.setattr(slices, "CSV_SLICE_ROWS", 5_000)  # (the sample is CSV)
    monkeypatch.setattr(pipeline, "SORT_ROWS", 3_000)  # decision rows sorted by rep ranges
    assert main(["metrics", *args, "--out", str(tmp_path / "fed")]) == 0
    monkeypatch.setattr(pipeline, "_feed_activities", lambda *a, **k: None)
    assert main(["metrics", *args, "--out", str(tmp_path / "plain")]) == 0

    fed, plain = tmp_path / "fed", tmp_path / "plain"
    for sub in ("", "quarantine"):
        got, expected = _tables(fed / sub), _tables(plain / sub)
        assert got.keys() == expected.keys()
        for name in expected:
            assert got[name].equals(expected[name]), name
    assert _tables(fed)["handoffs.parquet"]["first_ae_touch_at"].null_count() < len(
        _tables(fed)["handoffs.parquet"]
    )  # touches were found through the feed
    quality = [json.loads((f / "quality.json").read_text()) for f in (fed, plain)]
    assert quality[0] == quality[1]
    runs = [json.loads((f / "run.json").read_text()) for f in (fed, plain)]
    assert runs[0]["as_of"] == runs[1]["as_of"]  # the latest activity, seen while validating


def _fed(activities: pl.LazyFrame) -> pl.DataFrame:
    """Activities as the feed gets them: a row number and every feed column."""
    from analysis.activity_pass import FEED_COLUMNS

    missing = [c for c in FEED_COLUMNS if c not in activities.collect_schema().names()]
    return (
        activities.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)
        .with_row_index("__row")
        .collect()
    )


@pytest.mark.parametrize("sort_parts", [1, 3])
def test_fed_decisions_spilled_to_disk_equal_those_kept_in_memory(
    tmp_path: Path, sort_parts: int
) -> None:
    """More activities than one partition: the feed writes each range's rows to disk."""
    from analysis.activity_pass import ActivityFeed

    acts = _fed(_activities())
    written = {}
    for name, spill in (("memory", None), ("disk", tmp_path / "spill")):
        feed = ActivityFeed(
            period=Q3,
            reps=REPS,
            meetings=None,
            taxonomy=load_taxonomy(),
            decisions=True,
            sort_parts=sort_parts,
            spill=spill,
        )
        for offset in range(0, acts.height, 4):  # slices of 4 rows
            feed(acts.slice(offset, 4))
        assert feed.decision_rows_kept and feed.narrow_empty is not None
        path = tmp_path / f"{name}.parquet"
        n = feed.write_decisions(path)
        written[name] = pl.read_parquet(path)
        assert n == written[name].height
    expected = classify_activities(
        _activities(), REPS.lazy(), taxonomy=load_taxonomy(), period=Q3
    ).collect()
    assert written["disk"].equals(written["memory"])
    assert written["disk"].equals(expected)
    assert not list((tmp_path / "spill").glob("*.parquet")), "spilled rows are removed once read"


def test_fed_decisions_with_nothing_in_the_period(tmp_path: Path) -> None:
    from analysis.activity_pass import ActivityFeed

    acts = _fed(_activities().with_columns(pl.col("occurred_at").dt.offset_by("-1y")))
    feed = ActivityFeed(
        period=Q3, reps=REPS, meetings=None, taxonomy=load_taxonomy(), decisions=True,
        sort_parts=2, spill=tmp_path / "spill",
    )  # fmt: skip
    feed(acts)
    assert feed.narrow_empty is not None
    path = tmp_path / "decisions.parquet"
    n = feed.write_decisions(path)
    assert n == 0
    assert pl.read_parquet(path).columns[:4] == ["activity_id", "rep_id", "team", "role"]


def test_spilled_ranges_are_balanced_by_rows_where_busy_reps_sit_together(
    tmp_path: Path,
) -> None:
    """Equal numbers of reps per range would put every busy rep in one range."""
    from analysis.activity_pass import ActivityFeed, _ranges_of

    reps = reps_frame([(f"r{i:02d}", "T", "AE", "UTC") for i in range(16)])
    busy = {"r00", "r01", "r02", "r03"}  # the first reps in rep_id order do most of the work
    rows = [
        {
            "activity_id": f"{rep}-{k}",
            "rep_id": rep,
            "occurred_at": utc(2026, 7, 1 + k % 20, 9 + k % 8, k % 60),
            "activity_type": "call",
            "outcome": "positive",
            "subject": "Discovery",
        }
        for rep in [f"r{i:02d}" for i in range(16)]
        for k in range(40 if rep in busy else 2)
    ]
    acts = _fed(pl.LazyFrame(rows).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC")))
    feed = ActivityFeed(
        period=Q3, reps=reps, meetings=None, taxonomy=load_taxonomy(), decisions=True,
        sort_parts=4, spill=tmp_path / "spill",
    )  # fmt: skip
    for offset in range(0, acts.height, 50):
        feed(acts.slice(offset, 50))
    sizes = [frame.height for frame in feed.take_decision_rows()]
    assert sum(sizes) == acts.height == 184
    assert max(sizes) <= 2 * -(-acts.height // 4)  # by rep count: one range would hold 160
    assert _ranges_of([0, 0], parts=3) == [[0, 1]]  # no rows: one (empty) range
