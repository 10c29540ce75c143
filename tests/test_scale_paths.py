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
    data = tmp_path / "data"
    generate_sample(data, seed=5, scale=0.2, previous_quarter=False)
    args = ["--data", str(data), "--quarter", "2026Q3", "--as-of", "2026-10-02T00:00:00Z"]

    assert main(["metrics", *args, "--out", str(tmp_path / "one"), "--quiet"]) == 0
    monkeypatch.setattr(materialize, "ROWS_PER_PART", 2_000)  # dozens of rep partitions
    assert main(["metrics", *args, "--out", str(tmp_path / "many"), "--quiet"]) == 0

    one, many = _tables(tmp_path / "one"), _tables(tmp_path / "many")
    assert one.keys() == many.keys()
    for name in one:
        assert one[name].equals(many[name]), name
    for out in ("one", "many"):
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
