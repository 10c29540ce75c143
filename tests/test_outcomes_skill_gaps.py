"""Skill gaps: planted 60 % AE, small samples, open-only reps, rank groups, deal mix."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from outcomes_fixtures import Q3, SKILL_CORE, frame, rep, skill_dataset
from scipy import stats as sps

from analysis.metrics.skill_gaps import skill_gaps
from analysis.metrics.stats import (
    BetaPrior,
    beta_posterior,
    binomial_glm_standardized,
    fit_beta_binomial_prior,
)


def _gaps(**kw) -> pl.DataFrame:
    opps, reps = skill_dataset()
    return skill_gaps(opps, reps, period=Q3, **kw)


def _row(df: pl.DataFrame, rep_id: str) -> dict:
    return df.filter(pl.col("rep_id") == rep_id).row(0, named=True)


def test_rows_are_owners_sorted_and_counts():
    out = _gaps()
    assert "bdr_x" not in out["rep_id"].to_list()  # owns nothing
    assert out.select("team", "role", "rep_id").rows() == sorted(
        out.select("team", "role", "rep_id").rows()
    )
    top = _row(out, "ae_top")
    # the 5 deals closed in Q2 are not counted
    assert (top["closed"], top["won"]) == (80, 48)
    assert top["win_rate"] == pytest.approx(0.6)


def test_planted_60_percent_rep_ratio_to_top():
    out = _gaps()
    weak = _row(out, "ae_weak")
    assert weak["evidence"] == "sufficient"
    assert weak["ratio_to_top"] == pytest.approx(0.6, abs=0.15)
    assert weak["raw_ratio_to_top"] == pytest.approx(0.6, abs=0.02)
    top = _row(out, "ae_top")
    assert top["is_top_performer"] is True
    assert top["ratio_to_top"] == 1.0
    assert weak["top_performer_rate"] == top["shrunk_win_rate"]
    # shrinkage pulls toward the team: the top is shrunk down, the weak rep up
    assert top["shrunk_win_rate"] < top["win_rate"]
    assert weak["shrunk_win_rate"] > weak["win_rate"]


def test_small_sample_rep_is_too_few_and_never_top():
    out = _gaps()
    lucky = _row(out, "ae_lucky")
    assert (lucky["closed"], lucky["won"], lucky["win_rate"]) == (3, 3, 1.0)
    assert lucky["evidence"] == "too_few"
    assert lucky["is_top_performer"] is False
    assert lucky["shrunk_win_rate"] < 0.75  # strongly shrunk
    assert out.filter(pl.col("is_top_performer") & (pl.col("team") == "core"))[
        "rep_id"
    ].to_list() == ["ae_top"]
    # even when it has the best shrunk rate, a too-few rep is not the top
    best = _gaps(min_deals=81).filter(pl.col("team") == "core")
    assert best["top_performer_rate"].null_count() == best.height
    assert not best["is_top_performer"].any()


def test_open_only_rep_has_null_rates_not_zero():
    out = _gaps()
    row = _row(out, "ae_open")
    assert (row["closed"], row["won"], row["open"]) == (0, 0, 4)
    for col in ("win_rate", "shrunk_win_rate", "ci_low", "ci_high", "ratio_to_top",
                "rank_group", "amount_weighted_win_rate", "adjusted_win_rate"):  # fmt: skip
        assert row[col] is None, col
    assert row["evidence"] == "too_few"


def test_rank_groups_tie_overlapping_intervals():
    out = _gaps().filter((pl.col("team") == "core") & (pl.col("closed") > 0))
    top = _row(out, "ae_top")
    for r in out.iter_rows(named=True):
        above = sum(o["ci_low"] > r["ci_high"] for o in out.iter_rows(named=True))
        assert r["rank_group"] == 1 + above
    # ae_top and ae_mid3 overlap: same rank group
    assert _row(out, "ae_mid3")["rank_group"] == top["rank_group"] == 1
    # the 30 % rep's interval lies below the top's: a lower group
    low = _row(out, "ae_low")
    assert low["ci_high"] < top["ci_low"]
    assert low["rank_group"] > 1


def test_posterior_interval_matches_beta_ppf():
    out = _gaps().filter(pl.col("team") == "core")
    reps_with = out.filter(pl.col("closed") > 0)
    # the default cap on the prior: min_deals (10) pseudo-deals
    prior = fit_beta_binomial_prior(reps_with["won"], reps_with["closed"], max_strength=10)
    row = _row(out, "ae_weak")
    a, b = prior.a + row["won"], prior.b + row["closed"] - row["won"]
    assert row["shrunk_win_rate"] == pytest.approx(a / (a + b))
    assert row["ci_low"] == pytest.approx(sps.beta.ppf(0.025, a, b))
    assert row["ci_high"] == pytest.approx(sps.beta.ppf(0.975, a, b))


def test_adjusted_glm_recovers_hard_segment_mix():
    out = _gaps().filter(pl.col("team") == "mix")
    hard, easy = _row(out, "ae_hard"), _row(out, "ae_easy")
    # raw: 25 % vs 55 %; same skill within every segment
    assert hard["win_rate"] == pytest.approx(0.25)
    assert hard["raw_ratio_to_top"] < 0.5
    assert hard["ratio_to_top"] < 0.6
    assert hard["adjusted_ratio_to_top"] == pytest.approx(1.0, abs=0.05)
    assert hard["adjusted_win_rate"] == pytest.approx(easy["adjusted_win_rate"], abs=0.02)
    assert hard["mix_note"] is not None and "deal mix explains" in hard["mix_note"]
    assert easy["mix_note"] is None  # the raw top stays level after adjustment
    assert hard["adjust_method"] == "glm"


def test_core_team_no_mix_note_when_mix_is_identical():
    out = _gaps().filter((pl.col("team") == "core") & (pl.col("evidence") == "sufficient"))
    assert out["mix_note"].null_count() == out.height
    # same mix for everyone: adjusted ratios equal raw ratios
    np.testing.assert_allclose(out["adjusted_ratio_to_top"], out["raw_ratio_to_top"], atol=0.02)


def test_amount_weighted_win_rate():
    opps = frame(
        "opportunities",
        [
            {"opportunity_id": f"o{i}", "owner_id": "a", "created_at": datetime(2026, 7, 1, tzinfo=UTC),
             "stage": "x", "is_closed": True, "is_won": won, "closed_at": date(2026, 8, 1),
             "amount": amt}
            for i, (won, amt) in enumerate([(True, 100.0), (False, 300.0), (True, None)])
        ],
    )  # fmt: skip
    out = skill_gaps(opps, frame("reps", [rep("a", "AE", "t")]), period=Q3)
    assert out["amount_weighted_win_rate"].to_list() == [0.25]
    assert out["win_rate"].to_list() == [pytest.approx(2 / 3)]


def test_separation_falls_back_to_ridge():
    cells = pl.DataFrame({"rep_id": ["a", "b", "c"], "won": [8, 3, 0], "closed": [10, 3, 4]})
    rates, method = binomial_glm_standardized(cells)
    assert method == "glm_ridge"
    got = dict(rates.iter_rows())
    assert 0.0 < got["c"] < got["a"] < got["b"] < 1.0


def test_beta_prior_robust_cases():
    assert fit_beta_binomial_prior([2, 1], [5, 5]).method == "weak"
    assert fit_beta_binomial_prior([0, 0, 0], [10, 10, 10]).method == "weak"
    same = fit_beta_binomial_prior([20] * 6, [40] * 6)
    assert same.method == "mle_capped"
    assert same.mean == pytest.approx(0.5, abs=1e-3)
    spread = fit_beta_binomial_prior([round(80 * r) for r in SKILL_CORE.values()], [80] * 6)
    assert spread.method == "mle"
    assert 5 < spread.strength < 200
    post = beta_posterior([0], [0], BetaPrior(1.0, 1.0, "weak", 0))
    assert post.row(0) == (None, None, None)


def test_adjusted_rates_equal_one_glm_per_group():
    """``skill_gaps`` codes every (team, role) at once and fits each on array slices; each
    group's adjusted rates and method are what ``binomial_glm_standardized`` gives on
    that group's cells alone (the reference)."""
    from analysis.metrics.skill_gaps import MIX_COVARIATES, _counts, _scoped

    rng = np.random.default_rng(11)
    reps, opps = [], []
    for team in ("t1", "t2", "t3"):
        for role in ("AE", "AM"):
            for i in range(int(rng.integers(2, 6))):
                rep_id = f"{team}-{role}-{i}"
                reps.append(rep(rep_id, role, team))
                skill = rng.uniform(0.2, 0.7)
                for j in range(int(rng.integers(3, 25))):
                    opps.append(
                        {"opportunity_id": f"{rep_id}-{j}", "owner_id": rep_id,
                         "created_at": datetime(2026, 7, 1, tzinfo=UTC), "stage": "x",
                         "is_closed": True, "is_won": bool(rng.random() < skill),
                         "closed_at": date(2026, 8, int(rng.integers(1, 28))),
                         "amount": float(rng.choice([100.0, 500.0, 2000.0])),
                         "segment": str(rng.choice(["smb", "mid", "ent"])),
                         "lead_source": str(rng.choice(["inbound", "outbound"]))}
                    )  # fmt: skip
    opps_lf, reps_lf = frame("opportunities", opps), frame("reps", reps)
    out = skill_gaps(opps_lf, reps_lf, period=Q3)
    _, cells = _counts(_scoped(opps_lf, reps_lf, Q3, None), 3)
    cells = cells.collect()
    checked = 0
    for (team, role), part in cells.group_by("team", "role"):
        ref, method = binomial_glm_standardized(part, covariates=list(MIX_COVARIATES))
        got = out.filter((pl.col("team") == team) & (pl.col("role") == role)).join(
            ref, on="rep_id", how="inner"
        )
        assert got.height == ref.height
        assert got["adjust_method"].unique().to_list() == [method]
        np.testing.assert_allclose(got["adjusted_win_rate"], got["adjusted_rate"], rtol=1e-12)
        checked += got.height
    assert checked >= 12
