"""The statsmodels wrappers and the shared metric expressions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analysis.metrics import exprs
from analysis.metrics.stats import adjust_pvalues, fit_beta_binomial_prior, wilson_interval


def test_wilson_interval_matches_statsmodels_and_nulls_empty():
    k = [0, 3, 7, 12, 5]
    n = [0, 20, 7, 100, 9]
    out = wilson_interval(pl.Series(k), pl.Series(n), alpha=0.1)
    assert out.row(0) == (None, None)
    low, high = proportion_confint(np.array(k[1:]), np.array(n[1:]), alpha=0.1, method="wilson")
    np.testing.assert_allclose(out["ci_low"][1:].to_numpy(), low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["ci_high"][1:].to_numpy(), np.minimum(high, 1), atol=1e-12)


def test_wilson_expression_agrees_with_statsmodels():
    df = pl.DataFrame({"k": [0, 1, 3, 50, 9], "n": [0, 1, 20, 80, 9]})
    low, high = exprs.wilson_bounds("k", "n", alpha=0.05)
    got = df.select(low, high)
    assert got.row(0) == (None, None)
    ref = wilson_interval(df["k"], df["n"])
    np.testing.assert_allclose(
        got["ci_low"][1:].to_numpy(), ref["ci_low"][1:].to_numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        got["ci_high"][1:].to_numpy(), ref["ci_high"][1:].to_numpy(), atol=1e-12
    )


def test_rates_null_when_no_evidence_at_every_grain():
    df = pl.DataFrame(
        {
            "team": ["a", "a", "b"],
            "won": [1, 2, 0],
            "closed": [2, 2, 0],
            "meetings_booked": [4, 0, 0],
        }
    )
    per_rep = df.select(exprs.win_rate().alias("w"), exprs.won_per_meeting().alias("m"))
    assert per_rep["w"].to_list() == [0.5, 1.0, None]
    assert per_rep["m"].to_list() == [0.25, None, None]
    per_team = (
        df.group_by("team")
        .agg(pl.col("won", "closed").sum())
        .sort("team")
        .select(exprs.win_rate().alias("w"))
    )
    assert per_team["w"].to_list() == [0.75, None]


def test_adjust_pvalues_matches_multipletests():
    p = [0.01, 0.02, 0.2, None]
    got = adjust_pvalues(p)
    ref = multipletests([0.01, 0.02, 0.2], method="fdr_bh")[1]
    assert got[:3].to_list() == pytest.approx(list(ref))
    assert got[3] is None


def test_beta_prior_recovers_planted_spread():
    rng = np.random.default_rng(7)
    true = rng.beta(20, 30, size=60)  # mean 0.4, strength 50
    n = np.full(60, 200)
    k = rng.binomial(n, true)
    prior = fit_beta_binomial_prior(k, n)
    assert prior.method == "mle"
    assert prior.mean == pytest.approx(0.4, abs=0.03)
    assert 25 < prior.strength < 100
