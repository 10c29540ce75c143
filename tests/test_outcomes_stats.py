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


def _rows_of(na: np.ndarray, da: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand per-time (rows, events) counts into row-level (time, event) arrays."""
    times, events = [], []
    for t, (n_t, d_t) in enumerate(zip(na, da, strict=True)):
        times += [float(t)] * int(n_t)
        events += [1] * int(d_t) + [0] * int(n_t - d_t)
    return np.array(times), np.array(events, dtype=np.int64)


def test_km_shares_equal_survfuncright_per_group_on_random_data():
    """The vectorised KM (every group at once) is SurvfuncRight fitted group by group:
    ``km_cumulative_share`` (one SurvfuncRight per call) is the reference."""
    from analysis.metrics.stats import km_cumulative_share, km_shares

    rng = np.random.default_rng(20261201)
    checked = 0
    for _ in range(200):
        n_groups = int(rng.integers(1, 6))
        rows = int(rng.integers(1, 60))
        group = rng.integers(0, n_groups, rows)
        step = float(rng.choice([0.5, 1.0, 3.0]))
        times = rng.choice(np.arange(0, 40, step), rows)
        events = rng.integers(0, 2, rows) * int(rng.random() < 0.9)
        weights = rng.integers(1, 5, rows).astype(float)
        at = float(rng.choice([0.0, 5.0, 20.0, 24.0, 50.0]))
        got = km_shares(group, times, events, weights, n_groups=n_groups, at=at, alpha=0.1)
        for g in range(n_groups):
            mine = group == g
            ref = km_cumulative_share(times[mine], events[mine], weights[mine], at=at, alpha=0.1)
            for key in ("share", "low", "high", "median"):
                value = got[key][g]
                if ref[key] is None:
                    assert np.isnan(value), (key, ref, value)
                else:
                    assert value == pytest.approx(ref[key], rel=1e-9, abs=1e-12), (key, ref)
                    checked += 1
    assert checked > 500  # most groups have a share, an interval and a median


def test_logrank_grid_equals_survdiff_on_random_data():
    from statsmodels.duration.survfunc import survdiff

    from analysis.metrics.stats import logrank_grid

    rng = np.random.default_rng(7)
    tested = 0
    for _ in range(300):
        width = 12
        na = rng.integers(0, 4, width) * (rng.random(width) < 0.6)
        nb = rng.integers(0, 6, width) * (rng.random(width) < 0.6)
        da = np.minimum(na, rng.integers(0, 3, width))
        db = np.minimum(nb, rng.integers(0, 3, width))
        if na.sum() == 0 or nb.sum() == 0 or da.sum() + db.sum() == 0:
            continue
        ta, ea = _rows_of(na, da)
        tb, eb = _rows_of(nb, db)
        group = np.r_[np.ones(len(ta), dtype=np.int64), np.zeros(len(tb), dtype=np.int64)]
        try:
            _, p_ref = survdiff(np.r_[ta, tb], np.r_[ea, eb], group)
        except np.linalg.LinAlgError:
            p_ref = np.nan
        _, p = logrank_grid(da[None, :], na[None, :], db[None, :], nb[None, :])
        if np.isnan(p_ref):
            assert np.isnan(p[0])
        else:
            assert p[0] == pytest.approx(p_ref, rel=1e-9, abs=1e-12)
            tested += 1
    assert tested > 100
