"""Fatigue: a planted quality step must be recovered; flat or thin data must not be."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from decisions_fixtures import synthetic_decisions

from analysis.decisions.fatigue import (
    FATIGUE_SCHEMA,
    _fit_step,
    fatigue,
    fatigue_curve,
    quality_counts,
)

CONTRACT_COLUMNS = [
    "team",
    "threshold_estimate",
    "threshold_ci_low",
    "threshold_ci_high",
    "quality_before",
    "quality_after",
    "relative_drop",
    "p_value",
    "n_decisions",
]


@pytest.fixture(scope="module")
def planted() -> pl.LazyFrame:
    return synthetic_decisions(threshold=45, drop=0.3, seed=1).collect().lazy()


def test_planted_threshold_and_drop_are_recovered(planted):
    out = fatigue(planted)
    assert out.columns[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert out.schema == FATIGUE_SCHEMA
    assert out["team"].to_list() == ["Alpha", "Beta", "all"]
    for row in out.iter_rows(named=True):
        assert row["reason"] is None
        assert abs(row["threshold_estimate"] - 45) <= 5, row
        assert row["threshold_ci_low"] <= row["threshold_estimate"] <= row["threshold_ci_high"]
        assert abs(row["relative_drop"] - 0.3) <= 0.1, row
        assert row["p_value"] < 0.01
        assert row["significant"] is True
        assert row["quality_after"] < row["quality_before"]
    total = planted.select(pl.col("quality").is_not_null().sum()).collect().item()
    assert out.filter(pl.col("team") == "all")["n_decisions"].item() == total


def test_rep_adjustment_beats_the_confounded_raw_drop(planted):
    # heavier reps have lower baselines, so the raw before/after drop overstates fatigue
    row = fatigue(planted).filter(pl.col("team") == "all").row(0, named=True)
    assert row["raw_relative_drop"] > row["relative_drop"] + 0.05


def test_flat_quality_is_not_significant():
    flat = synthetic_decisions(threshold=None, seed=1)
    out = fatigue(flat)
    assert out["reason"].null_count() == out.height
    assert (out["p_value"] > 0.05).all(), out
    assert not out["significant"].any()


def test_too_little_data_gives_null_estimate_and_reason():
    thin = synthetic_decisions(n_reps=4, n_days=2, min_per_day=20, max_per_day=30, seed=3)
    out = fatigue(thin, min_decisions_after=200)
    assert out.height == 3
    assert out["threshold_estimate"].null_count() == 3
    assert out["p_value"].null_count() == 3
    assert out["relative_drop"].null_count() == 3
    assert all("too few quality-bearing decisions" in r for r in out["reason"])
    assert (out["n_decisions"] > 0).all()


def test_no_quality_bearing_outcomes():
    none = synthetic_decisions(n_reps=4, n_days=3, quality_share=0.0, teams=("Solo",))
    out = fatigue(none)
    assert out["team"].to_list() == ["Solo", "all"]
    assert out["threshold_estimate"].null_count() == 2
    assert all(r.startswith("no quality-bearing decisions") for r in out["reason"])
    assert out["n_decisions"].to_list() == [0, 0]


def test_bootstrap_interval_covers_the_planted_threshold(planted):
    out = fatigue(planted, ci_method="bootstrap", n_boot=40, seed=7)
    for row in out.iter_rows(named=True):
        assert row["ci_method"] == "bootstrap"
        assert row["threshold_ci_low"] <= 45 <= row["threshold_ci_high"]


def test_newton_fit_matches_statsmodels():
    rng = np.random.default_rng(0)
    r = 12
    nb = rng.integers(20, 60, r).astype(float)
    na = rng.integers(5, 30, r).astype(float)
    base = rng.uniform(0.3, 0.7, r)
    yb = rng.binomial(nb.astype(int), base).astype(float)
    ya = rng.binomial(na.astype(int), base * 0.7).astype(float)
    a, b, ll = _fit_step(yb[None], nb[None], ya[None], na[None])
    exog = np.zeros((2 * r, r + 1))
    exog[np.arange(2 * r), np.tile(np.arange(r), 2)] = 1
    exog[r:, -1] = 1
    endog = np.column_stack([np.r_[yb, ya], np.r_[nb - yb, na - ya]])
    res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit()
    assert b[0] == pytest.approx(res.params[-1], abs=1e-6)
    assert a[0] == pytest.approx(res.params[:-1], abs=1e-6)
    mu = res.mu
    y, n = endog[:, 0], endog.sum(axis=1)
    assert ll[0] == pytest.approx(np.sum(y * np.log(mu) + (n - y) * np.log1p(-mu)), abs=1e-6)


def test_quality_counts_and_curve_add_up(planted):
    counts = quality_counts(planted).collect()
    total = planted.select(pl.col("quality").is_not_null().sum()).collect().item()
    assert counts["n"].sum() == total
    curve = fatigue_curve(planted, bin_width=10).collect()
    everyone = curve.filter(pl.col("team") == "all")
    assert everyone["n"].sum() == total
    assert everyone["seq_from"].to_list()[:3] == [1, 11, 21]
    assert curve.filter(pl.col("team") != "all")["n"].sum() == total
    early = everyone.filter(pl.col("seq_to") <= 40)
    late = everyone.filter(pl.col("seq_from") > 50)
    assert early["positives"].sum() / early["n"].sum() > late["positives"].sum() / late["n"].sum()


def test_newton_and_statsmodels_engines_agree(planted):
    by_sm = fatigue(planted)
    by_newton = fatigue(planted, statsmodels_max_reps=0)
    assert set(by_sm["fit_engine"]) == {"statsmodels"}
    assert set(by_newton["fit_engine"]) == {"newton"}
    for col in ("step_log_odds", "step_log_odds_se", "relative_drop"):
        assert by_newton[col].to_list() == pytest.approx(by_sm[col].to_list(), rel=1e-5)
    assert by_newton["threshold_estimate"].to_list() == by_sm["threshold_estimate"].to_list()
