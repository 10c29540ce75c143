"""Same inputs, same as-of: byte-identical tables (CONTRACT 5.1), on the two-quarter sample.

It covers the tables the tie-heavy determinism test does not reach: stage history
(stage durations, stalled deals) and the quarter-over-quarter trend.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from analysis.cli import main
from analysis.sample.generate import generate_sample


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))
    }


def test_two_metrics_runs_with_the_same_as_of_write_identical_tables(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_sample(data, seed=3, scale=0.25, previous_quarter=True)
    runs = []
    for i in (1, 2):
        out = tmp_path / f"m{i}"
        args = ["metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3"]
        assert main([*args, "--as-of", "2026-10-02T00:00:00Z", "--quiet"]) == 0
        runs.append(_digests(out))
    assert {"stage_durations.parquet", "team_trend.parquet", "fatigue.parquet"} <= set(runs[0])
    assert runs[0] == runs[1]
