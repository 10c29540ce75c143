"""Skill gaps beyond noise: ratio interval, gap verdict, Jeffreys floor, deterministic bands."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
from outcomes_fixtures import Q3, frame, rep, skill_dataset

from analysis.metrics.skill_gaps import skill_gaps


def _team(records: dict[str, tuple[int, int]], *, team: str = "t", amounts=None) -> list[dict]:
    rows = []
    for owner, (closed, won) in records.items():
        for i in range(closed):
            rows.append(
                {
                    "opportunity_id": f"{team}-{owner}-{i}",
                    "owner_id": owner,
                    "created_at": datetime(2026, 5, 1, tzinfo=UTC),
                    "stage": "Closed Won" if i < won else "Closed Lost",
                    "is_closed": True,
                    "is_won": i < won,
                    "closed_at": date(2026, 8, 1),
                    "amount": None if amounts is None else amounts(i),
                    "segment": "smb",
                }
            )
    return rows


def _run(teams: dict[str, dict[str, tuple[int, int]]], **kw) -> pl.DataFrame:
    opps, reps = [], []
    for team, records in teams.items():
        opps += _team(records, team=team, amounts=kw.pop("amounts", None))
        reps += [rep(r, "AE", team) for r in records]
    return skill_gaps(frame("opportunities", opps), frame("reps", reps), period=Q3, **kw)


def _row(df: pl.DataFrame, rep_id: str) -> dict:
    return df.filter(pl.col("rep_id") == rep_id).row(0, named=True)


def test_zero_win_team_gets_jeffreys_intervals_and_null_ratio():
    out = _run({"t": {"a": (40, 0), "b": (12, 0), "c": (20, 0), "d": (15, 0)}})
    a = _row(out, "a")
    assert a["ci_high"] >= 0.03  # exact Clopper-Pearson 0/40 upper bound is 0.088
    assert a["ci_low"] < 1e-3
    assert out["prior_method"].unique().to_list() == ["jeffreys"]
    assert out["ratio_to_top"].null_count() == out.height
    assert out["ratio_ci_high"].null_count() == out.height
    verdicts = sorted(out["gap_verdict"].to_list())
    assert verdicts == ["no_evidence", "no_evidence", "no_evidence", "top"]


def test_all_win_team_lower_bound_below_estimate():
    out = _run({"t": {"a": (22, 22), "b": (15, 15), "c": (30, 30)}})
    a = _row(out, "a")
    assert a["ci_low"] < a["shrunk_win_rate"] < 1.0
    assert a["ci_low"] < 0.95  # not [0.999995, 1]
    assert "gap" not in out["gap_verdict"].to_list()


def test_planted_weak_ae_gets_gap_equal_ones_do_not():
    opps, reps = skill_dataset()
    out = skill_gaps(opps, reps, period=Q3)
    core = out.filter(pl.col("team") == "core")
    assert _row(core, "ae_top")["gap_verdict"] == "top"
    assert _row(core, "ae_top")["ratio_ci_low"] == 1.0
    # 0.30 vs 0.60 on 80 deals each: clearly below the top
    low = _row(core, "ae_low")
    assert low["gap_verdict"] == "gap" and low["ratio_ci_high"] < 1
    assert low["ratio_ci_low"] < low["ratio_to_top"] < low["ratio_ci_high"]
    # 0.55 vs 0.60: the interval reaches 1
    assert _row(core, "ae_mid3")["gap_verdict"] == "no_evidence"
    assert _row(core, "ae_lucky")["gap_verdict"] == "too_few"
    assert _row(core, "ae_open")["gap_verdict"] == "too_few"
    assert _row(core, "ae_open")["ratio_ci_low"] is None


def test_equal_reps_rarely_get_gap_fixed_seed():
    rng = np.random.default_rng(11)
    teams = {}
    for t in range(30):
        n = rng.integers(15, 61, size=6)
        k = rng.binomial(n, 0.3)
        teams[f"t{t:02d}"] = {f"t{t:02d}-r{i}": (int(n[i]), int(k[i])) for i in range(6)}
    out = _run(teams)
    non_top = out.filter(pl.col("gap_verdict") != "top")
    share_gap = (non_top["gap_verdict"] == "gap").mean()
    assert share_gap <= 0.10
    # the point ratios still look like big gaps: the verdict is what protects the reader
    assert non_top["ratio_to_top"].min() < 0.75


def test_tied_amounts_share_a_band_and_reruns_are_identical():
    amounts = lambda i: [1000.0, 1000.0, 1000.0, 5000.0][i % 4]  # noqa: E731
    records = {"a": (40, 14), "b": (36, 20), "c": (30, 9)}
    first = _run({"t": records}, amounts=amounts)
    opps = _team(records, amounts=amounts)
    reps = [rep(r, "AE", "t") for r in records]
    # the same rows in another order
    shuffled = pl.DataFrame(opps).sample(fraction=1.0, shuffle=True, seed=5).to_dicts()
    second = skill_gaps(frame("opportunities", shuffled), frame("reps", reps), period=Q3)
    assert first.equals(second)
