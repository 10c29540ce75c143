"""Every report figure survives degenerate data: one rep, one day, constant values, all null."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from matplotlib.figure import Figure

from analysis.reports import plots
from analysis.reports.display import figure_png

NULL_F = pl.lit(None, pl.Float64)


def _load(decisions: list[int | None]) -> pl.DataFrame:
    n = len(decisions)
    return pl.DataFrame(
        {
            "rep_id": ["r1"] * n,
            "team": ["A"] * n,
            "decisions": pl.Series(decisions, dtype=pl.Int64),
            "pattern_recognition": pl.Series(decisions, dtype=pl.Int64),
            "judgment": [0] * n,
            "unclassified": [0] * n,
        }
    )


def _curve(values: list[float | None]) -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame(
        {
            "seq_from": list(range(1, 5 * n + 1, 5)),
            "n": [10] * n,
            "positives": [5] * n,
            "quality_rate": pl.Series(values, dtype=pl.Float64),
            "ci_low": pl.Series(values, dtype=pl.Float64),
            "ci_high": pl.Series(values, dtype=pl.Float64),
        }
    )


def _funnel(rate: float | None, n: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rep_id": [f"b{i}" for i in range(n)],
            "meetings_booked": [4] * n,
            "won": [0 if rate is None else 1] * n,
            "won_per_meeting": pl.Series([rate] * n, dtype=pl.Float64),
            "ci_low": pl.Series([rate] * n, dtype=pl.Float64),
            "ci_high": pl.Series([rate] * n, dtype=pl.Float64),
            "team_median_won_per_meeting": pl.Series([rate] * n, dtype=pl.Float64),
            "flag": pl.Series([None] * n, dtype=pl.Boolean),
        }
    )


def _handoffs(latency: list[float | None], within: list[bool | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "latency_hours": pl.Series(latency, dtype=pl.Float64),
            "within_24h": pl.Series(within, dtype=pl.Boolean),
        }
    )


def _gaps(rate: float | None, n: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rep_id": [f"a{i}" for i in range(n)],
            "role": ["AE"] * n,
            "closed": [0 if rate is None else 12] * n,
            "won": [0] * n,
            "win_rate": pl.Series([rate] * n, dtype=pl.Float64),
            "shrunk_win_rate": pl.Series([rate] * n, dtype=pl.Float64),
            "ci_low": pl.Series([rate] * n, dtype=pl.Float64),
            "ci_high": pl.Series([rate] * n, dtype=pl.Float64),
            "top_performer_rate": pl.Series([rate] * n, dtype=pl.Float64),
            "evidence": ["sufficient" if rate is not None else "too_few"] * n,
        }
    )


def _hygiene(value: float | None) -> pl.DataFrame:
    cols = ["stage_consistent", "lost_with_reason", "calls_with_notes"]
    return pl.DataFrame(
        {
            "team": ["A"],
            "rep_id": pl.Series([None], dtype=pl.String),
            "score": pl.Series([value], dtype=pl.Float64),
            **{c: pl.Series([value], dtype=pl.Float64) for c in cols},
        }
    )


CASES: dict[str, tuple[Callable[..., Figure], Any, dict[str, Any]]] = {
    "load one rep-day": (plots.load_distribution, _load([30]), {"threshold": 45}),
    "load constant": (plots.load_distribution, _load([30] * 20), {"threshold": 45}),
    "load constant above threshold": (plots.load_distribution, _load([90] * 5), {"threshold": 45}),
    "load zero": (plots.load_distribution, _load([0, 0]), {"threshold": 45}),
    "load all null": (plots.load_distribution, _load([None, None]), {"threshold": 45}),
    "load huge": (plots.load_distribution, _load([1, 10**6]), {"threshold": 45}),
    "mix one rep": (plots.decision_mix, _load([3]), {}),
    "mix all zero": (plots.decision_mix, _load([0]), {}),
    "mix all null": (plots.decision_mix, _load([None]), {}),
    "curve one bin": (plots.fatigue_curve, _curve([0.4]), {"threshold": 45}),
    "curve constant": (plots.fatigue_curve, _curve([0.0] * 4), {"threshold": 45}),
    "curve all null": (plots.fatigue_curve, _curve([None] * 3), {"threshold": 45}),
    "funnel one BDR": (plots.bdr_funnel, _funnel(0.25), {}),
    "funnel constant": (plots.bdr_funnel, _funnel(0.0, n=3), {}),
    "funnel all null": (plots.bdr_funnel, _funnel(None, n=2), {}),
    "handoffs one": (plots.handoff_latency, _handoffs([3.0], [True]), {}),
    "handoffs constant": (plots.handoff_latency, _handoffs([0.0] * 4, [True] * 4), {}),
    "handoffs never touched": (plots.handoff_latency, _handoffs([None] * 3, [False] * 3), {}),
    "handoffs all null": (plots.handoff_latency, _handoffs([None] * 3, [None] * 3), {}),
    "gaps one rep": (plots.skill_gap_forest, _gaps(0.5), {}),
    "gaps constant": (plots.skill_gap_forest, _gaps(0.0, n=3), {}),
    "gaps all null": (plots.skill_gap_forest, _gaps(None, n=2), {}),
    "hygiene constant": (plots.hygiene_components, _hygiene(1.0), {"threshold": 70}),
    "hygiene all null": (plots.hygiene_components, _hygiene(None), {"threshold": 70}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_figure_survives_degenerate_data(case: str) -> None:
    builder, frame, kwargs = CASES[case]
    fig = builder(frame, **kwargs)
    assert isinstance(fig, Figure)
    assert figure_png(fig)[:4] == b"\x89PNG"  # drawn completely, not only built


def test_uniform_team_histogram_has_its_bar() -> None:
    fig = plots.load_distribution(_load([30] * 20), threshold=45)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert max(heights) == 20
