"""Fatigue: within rep-day verdicts. Planted steps are found, confounds and declines are not
mistaken for a threshold, and the sufficient-statistics fit equals a plain dummy regression."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from decisions_fixtures import synthetic_decisions

from analysis.decisions.fatigue import (
    _H0,
    CURVE_SCHEMA,
    FATIGUE_SCHEMA,
    N_HOURS,
    _day_categories,
    _partial,
    _rep_statistics,
    fatigue,
    fatigue_cells,
    fatigue_curve,
    fatigue_tables,
    quality_counts,
)
from analysis.sample.fatigue_scenarios import SCENARIOS, simulate_decisions

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
THRESHOLD_ONLY = [
    "threshold_estimate",
    "threshold_ci_low",
    "threshold_ci_high",
    "relative_drop",
    "quality_before",
    "quality_after",
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
        assert row["shape"] == "threshold" and row["significant"] is True
        assert abs(row["threshold_estimate"] - 45) <= 2, row
        assert row["threshold_ci_low"] <= 45 <= row["threshold_ci_high"]
        assert abs(row["relative_drop"] - 0.3) <= 0.05, row
        assert row["p_value"] < 0.01
        assert row["quality_after"] < row["quality_before"]
        assert row["ci_method"] == "rep_bootstrap"
        assert row["slope_per_10"] < 0  # the smooth model sees the drop too
    total = planted.select(pl.col("quality").is_not_null().sum()).collect().item()
    assert out.filter(pl.col("team") == "all")["n_decisions"].item() == total


def test_rep_adjustment_beats_the_confounded_raw_drop(planted):
    # heavier reps have lower baselines, so the raw before/after drop overstates fatigue
    row = fatigue(planted).filter(pl.col("team") == "all").row(0, named=True)
    assert row["raw_relative_drop"] > row["relative_drop"] + 0.05


def test_flat_quality_is_no_threshold_and_nulls_the_estimate():
    out = fatigue(synthetic_decisions(threshold=None, seed=1))
    assert out["reason"].null_count() == out.height
    assert (out["p_value"] > 0.05).all(), out
    assert not out["significant"].any()
    assert set(out["shape"]) == {"none"}
    for col in THRESHOLD_ONLY:
        assert out[col].null_count() == out.height, col
    assert out["slope_per_10"].null_count() == 0  # the slope is still reported


def test_too_little_data_gives_null_estimate_and_reason():
    thin = synthetic_decisions(n_reps=4, n_days=2, min_per_day=20, max_per_day=30, seed=3)
    out = fatigue(thin, min_decisions_after=200)
    assert out.height == 3
    assert out["threshold_estimate"].null_count() == 3
    assert out["p_value"].null_count() == 3
    assert out["relative_drop"].null_count() == 3
    assert set(out["shape"]) == {"none"}
    assert all("too few quality-bearing decisions" in r for r in out["reason"])
    assert (out["n_decisions"] > 0).all()


def test_no_quality_bearing_outcomes():
    none = synthetic_decisions(n_reps=4, n_days=3, quality_share=0.0, teams=("Solo",))
    out = fatigue(none)
    assert out["team"].to_list() == ["Solo", "all"]
    assert out["threshold_estimate"].null_count() == 2
    assert all(r.startswith("no quality-bearing decisions") for r in out["reason"])
    assert out["n_decisions"].to_list() == [0, 0]


def test_profile_intervals_when_asked_or_too_few_reps(planted):
    out = fatigue(planted, ci_method="profile")
    assert set(out["ci_method"]) == {"profile_wald"}
    for row in out.iter_rows(named=True):
        assert row["threshold_ci_low"] <= 45 <= row["threshold_ci_high"]
        assert row["slope_ci_low"] < row["slope_per_10"] < row["slope_ci_high"]
    few = simulate_decisions("step_large", n_reps=5, n_days=40, seed=2)
    assert set(fatigue(few)["ci_method"]) == {"profile_wald"}  # 5 reps < min_boot_reps


# ------------------------------------------------------------------ scenarios (one seed each)
def _all_row(name: str, *, seed: int = 3, **options) -> dict:
    data = simulate_decisions(name, n_reps=11, n_days=40, seed=seed, teams=("A", "B"))
    out = fatigue(data, **options)
    assert out["team"].to_list() == ["A", "B", "all"]
    return out.row(2, named=True)


NULLS = ["no_effect", "busy_day", "late_afternoon", "clock_decline", "mixed_slopes"]


@pytest.mark.parametrize("name", NULLS)
def test_null_scenarios_are_no_fatigue_verdict(name):
    assert SCENARIOS[name].null
    row = _all_row(name)
    assert row["shape"] == "none" and row["significant"] is False, row
    assert row["threshold_estimate"] is None and row["relative_drop"] is None
    assert row["hour_adjusted"] is True
    assert row["slope_ci_low"] < row["slope_ci_high"]


def test_a_smooth_clock_time_decline_is_not_a_decline_with_position():
    # quality falls 5 points an hour with the clock: within an hour, later decisions are
    # both later in the day's sequence and worse; the slope must not take that as fatigue
    data = simulate_decisions("clock_decline", n_reps=11, n_days=60, seed=4, clock_per_hour=-0.05)
    row = fatigue(data).row(0, named=True)
    assert row["shape"] == "none", row
    assert row["slope_ci_low"] < 0 < row["slope_ci_high"]
    assert abs(row["slope_per_10"]) < 0.01


def test_reps_that_tire_and_reps_that_freshen_widen_the_slope_interval():
    # same seed, same reps: +/- 3 points per 10 on alternate reps adds between-rep spread
    width = {}
    for name in ("no_effect", "mixed_slopes"):
        row = _all_row(name)
        width[name] = row["slope_ci_high"] - row["slope_ci_low"]
    assert width["mixed_slopes"] > 1.3 * width["no_effect"], width


def test_late_afternoon_needs_the_clock_hour():
    # the same data without local_hour: the clock-time dip reads as a decline with position
    data = simulate_decisions("late_afternoon", n_reps=11, n_days=40, seed=3).collect()
    with_hour = fatigue(data.lazy()).row(0, named=True)
    without = fatigue(data.drop("local_hour").lazy()).row(0, named=True)
    assert with_hour["shape"] == "none"
    assert without["hour_adjusted"] is False and without["shape"] != "none"


@pytest.mark.parametrize("name", ["gradual", "gradual_3", "gradual_4"])
def test_linear_decline_is_gradual_with_a_negative_slope(name):
    row = _all_row(name)
    assert row["shape"] == "gradual" and row["significant"] is False, row
    assert row["slope_ci_low"] < row["slope_per_10"] < row["slope_ci_high"] < 0
    # planted: -2 / -3 / -4 share points per 10 decisions; the interval covers it
    assert row["slope_ci_low"] <= SCENARIOS[name].slope_per_10 <= row["slope_ci_high"]
    assert row["threshold_estimate"] is None


@pytest.mark.parametrize("name", ["step_small", "step_medium", "step_large"])
def test_planted_steps_after_decision_38_are_thresholds_covering_38(name):
    row = _all_row(name)
    assert row["shape"] == "threshold" and row["significant"] is True, row
    # convention: the estimate is the last decision before the drop (after = seq > t)
    assert row["threshold_ci_low"] <= 38 <= row["threshold_ci_high"], row
    assert abs(row["relative_drop"] - SCENARIOS[name].drop) < 0.1, row


# ------------------------------------------------------------------ the fit itself
def test_sufficient_statistics_equal_a_dummy_regression():
    """The step's within rep-day, same-hour coefficient equals OLS with rep-day and hour dummies."""
    data = simulate_decisions("step_medium", n_reps=3, n_days=4, seed=5).collect()
    cells = fatigue_cells(data.lazy()).collect()
    cands = np.array([20, 38, 50])
    reps = _rep_statistics(cells, cands=cands, bin_width=5)
    n_small = _H0 + N_HOURS
    gram = reps.gram[:, :n_small, :n_small].sum(axis=0)
    hours = [h for h in range(_H0, n_small) if gram[h, h] > 1e-9]
    _, cxy, vx = _partial(gram, reps.cross.sum(axis=0), reps.step_var.sum(axis=0), hours)
    q = data.filter(pl.col("quality").is_not_null())
    strata = q.select(pl.struct("rep_id", "day").rank("dense")).to_series().to_numpy()
    hour = q["local_hour"].to_numpy()
    dummies = np.column_stack(
        [(strata == v).astype(float) for v in np.unique(strata)]
        + [(hour == h).astype(float) for h in np.unique(hour)[1:]]
    )
    for k, t in enumerate(cands):
        step = (q["seq_in_day"].to_numpy() > t).astype(float)
        fit = sm.OLS(
            q["quality"].cast(pl.Float64).to_numpy(), np.column_stack([dummies, step])
        ).fit()
        assert cxy[k] / vx[k] == pytest.approx(fit.params[-1], abs=1e-8)


def test_quality_counts_cells_and_curve_add_up(planted):
    counts = quality_counts(planted).collect()
    total = planted.select(pl.col("quality").is_not_null().sum()).collect().item()
    assert counts["n"].sum() == total
    assert fatigue_cells(planted).collect()["n"].sum() == total
    curve = fatigue_curve(planted, bin_width=10).collect()
    assert curve.schema == CURVE_SCHEMA
    everyone = curve.filter(pl.col("team") == "all")
    assert everyone["n"].sum() == total
    assert everyone["seq_from"].to_list()[:3] == [1, 11, 21]
    assert curve.filter(pl.col("team") != "all")["n"].sum() == total
    early = everyone.filter(pl.col("seq_to") <= 40)
    late = everyone.filter(pl.col("seq_from") > 50)
    assert early["positives"].sum() / early["n"].sum() > late["positives"].sum() / late["n"].sum()


def test_adjusted_curve_is_flat_where_the_raw_curve_is_confounded():
    # busy days are worse and late afternoons are worse: the raw curve falls with position,
    # the within rep-day curve does not
    data = simulate_decisions(
        "no_effect", n_reps=11, n_days=60, seed=4, day_logit=-0.3, late_logit=-0.6
    )
    tables = fatigue_tables(data)
    assert tables.fatigue.row(0, named=True)["shape"] == "none"
    curve = tables.curve.filter((pl.col("team") == "all") & (pl.col("n") >= 300))
    first, last = curve.row(0, named=True), curve.row(-1, named=True)
    assert first["quality_rate"] - last["quality_rate"] > 0.05  # raw: falls
    assert abs(first["adjusted_quality"] - last["adjusted_quality"]) < 0.05  # adjusted: flat


def test_adjusted_curve_shows_the_planted_step(planted):
    curve = fatigue_tables(planted, n_boot=0).curve.filter(pl.col("team") == "all")
    before = curve.filter(pl.col("seq_to") <= 45)["adjusted_quality"].mean()
    after = curve.filter(pl.col("seq_from").is_between(46, 70))["adjusted_quality"].mean()
    assert after / before == pytest.approx(0.7, abs=0.05)


def test_registry_lists_the_fatigue_columns_as_written():
    from analysis import registry

    fat = registry.TABLES["fatigue"].columns
    assert [c for c in fat if c != "data_trusted"] == FATIGUE_SCHEMA.names()
    assert list(registry.TABLES["fatigue_curve"].columns) == CURVE_SCHEMA.names()
    assert "local_hour" in registry.TABLES["decisions"].columns


def test_row_order_of_the_decisions_does_not_change_the_tables():
    # the decisions table is usually in rep-day order (the sort is then skipped); any
    # other order is sorted first: the same tables either way
    from polars.testing import assert_frame_equal

    data = simulate_decisions("step_medium", n_reps=6, n_days=12, seed=8, teams=("A", "B"))
    ordered = data.collect().sort("team", "rep_id", "day", "seq_in_day")
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=1)
    assert not shuffled.equals(ordered)
    a, b = fatigue_tables(ordered.lazy()), fatigue_tables(shuffled.lazy())
    assert "threshold" in a.fatigue["shape"].to_list()
    assert_frame_equal(a.fatigue, b.fatigue, rel_tol=1e-9, abs_tol=1e-12)
    assert_frame_equal(a.curve, b.curve, rel_tol=1e-9, abs_tol=1e-12)


def test_day_category_counts_placed_directly_equal_the_coordinate_build():
    from scipy import sparse

    rng = np.random.default_rng(0)
    for _ in range(50):
        n, n_days = int(rng.integers(1, 60)), int(rng.integers(1, 6))
        day = np.sort(rng.integers(0, n_days, n))
        hour, bins = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for d in range(n_days):
            at = day == d
            hour[at] = np.sort(rng.integers(0, 25, at.sum()))
            bins[at] = 25 + np.sort(rng.integers(0, 31, at.sum()))
        w = rng.integers(1, 3, n).astype(float)
        plain = sparse.csr_matrix((np.r_[w, w], (np.r_[day, day], np.r_[hour, bins])), (n_days, 56))
        plain.sum_duplicates()
        direct = _day_categories(day, hour, bins, w, n_days=n_days, n_cat=56)  # in order
        assert np.array_equal(direct.indptr, plain.indptr)
        assert np.array_equal(direct.indices, plain.indices)
        assert np.array_equal(direct.data, plain.data)
        mixed = rng.permutation(n)  # out of order: built from coordinates
        other = _day_categories(
            day[mixed], hour[mixed], bins[mixed], w[mixed], n_days=n_days, n_cat=56
        )
        assert abs(other - plain).max() == 0
