"""Thin wrappers over statsmodels / scipy that take and return polars objects.

Everything here works on *small, already aggregated* count tables (one row per rep,
or per rep x deal-mix cell). The metric modules aggregate lazily to counts first,
collect the count table, and only then call these helpers: nothing is fitted row by row.

Conventions
-----------
* A proportion with ``trials == 0`` has no evidence: its estimate and interval are
  null, never 0.
* Intervals are two-sided with level ``1 - alpha``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize, special
from scipy import stats as sps

__all__ = [
    "BetaPrior",
    "adjust_pvalues",
    "beta_posterior",
    "beta_posteriors",
    "binomial_glm_standardized",
    "fit_beta_binomial_prior",
    "glm_standardized_codes",
    "jeffreys_floor",
    "km_cumulative_share",
    "km_grid",
    "km_shares",
    "logrank_grid",
    "wilson_interval",
]

ArrayLike = pl.Series | np.ndarray | Sequence[float] | Sequence[int]


def _as_float(values: ArrayLike) -> np.ndarray:
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    return np.asarray(values, dtype=float)


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, *, alpha: float = 0.05
) -> pl.DataFrame:
    """Wilson score interval, vectorised through statsmodels ``proportion_confint``.

    Rows with ``trials == 0`` (or a null count) get null bounds. ``successes`` is
    clipped to ``[0, trials]`` so a data oddity cannot produce an invalid interval.

    Returns
    -------
    pl.DataFrame
        Columns ``ci_low`` and ``ci_high`` (Float64), one row per input element.

    Examples
    --------
    >>> wilson_interval([3, 0], [10, 0])["ci_low"].round(4).to_list()
    [0.1078, None]
    """
    k = _as_float(successes)
    n = _as_float(trials)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    if ok.any():
        from statsmodels.stats.proportion import proportion_confint

        kk = np.clip(k[ok], 0, n[ok])
        lo, hi = proportion_confint(kk, n[ok], alpha=alpha, method="wilson")
        low[ok] = np.clip(lo, 0.0, 1.0)
        high[ok] = np.clip(hi, 0.0, 1.0)
    return pl.DataFrame(
        {
            "ci_low": pl.Series(low, dtype=pl.Float64, nan_to_null=True),
            "ci_high": pl.Series(high, dtype=pl.Float64, nan_to_null=True),
        }
    )


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(``a``, ``b``) prior for a binomial rate.

    ``method`` says how it was obtained: ``"mle"`` (beta-binomial marginal
    likelihood), ``"mle_capped"`` (the MLE strength hit ``max_strength``: the reps look
    no more different than chance, so shrinkage is strong but bounded) or ``"weak"``
    (too few groups to estimate a spread; a weak prior centred on the pooled rate).
    """

    a: float
    b: float
    method: str
    n_groups: int

    @property
    def mean(self) -> float:
        """Prior mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    @property
    def strength(self) -> float:
        """Prior strength ``a + b`` (its weight in pseudo-trials)."""
        return self.a + self.b


def fit_beta_binomial_prior(
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    min_groups: int = 3,
    weak_strength: float = 2.0,
    min_strength: float = 0.5,
    max_strength: float = 200.0,
) -> BetaPrior:
    """Empirical-Bayes Beta prior from per-group (per-rep) binomial counts.

    Maximises the beta-binomial marginal likelihood over the prior mean and strength
    ``a + b`` (scipy L-BFGS-B, started at the method-of-moments estimate). Groups with
    no trials carry no information and are ignored.

    Robustness (all heuristics, keyword parameters):

    * fewer than ``min_groups`` groups with trials, or no success (or no failure) at
      all -> a *weak* prior: mean = pooled
      rate (with a +0.5/+1 continuity correction), strength ``weak_strength``
      (2 pseudo-trials): the data dominate every posterior;
    * when reps vary no more than binomial noise, the MLE strength runs to infinity
      (complete pooling). It is capped at ``max_strength`` pseudo-trials
      (``method="mle_capped"``), so a rep with many deals still moves off the mean.

    Examples
    --------
    >>> p = fit_beta_binomial_prior([5, 50, 20], [100, 100, 100])
    >>> p.method, round(p.mean, 2)
    ('mle', 0.25)
    >>> fit_beta_binomial_prior([1], [3]).method
    'weak'
    """
    k = _as_float(successes)
    n = _as_float(trials)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    k = np.clip(k[ok], 0, n[ok])
    n = n[ok]
    groups = int(ok.sum())
    pooled = (k.sum() + 0.5) / (n.sum() + 1.0)
    if groups < min_groups or k.sum() in (0.0, n.sum()):
        # too few groups, or every trial lost (or won): the spread is not identified
        return BetaPrior(
            float(pooled * weak_strength), float((1 - pooled) * weak_strength), "weak", groups
        )

    eps = 1e-3
    mu0 = float(np.clip(k.sum() / n.sum(), eps, 1 - eps))
    rates = k / n
    var = float(np.var(rates, ddof=1)) if groups > 1 else 0.0
    # starting point, method of moments: between-rep variance = observed - binomial noise
    excess = var - mu0 * (1 - mu0) * float(np.mean(1.0 / n))
    s0 = mu0 * (1 - mu0) / excess - 1 if excess > 0 else max_strength
    s0 = float(np.clip(s0, min_strength, max_strength))

    def nll(theta: np.ndarray) -> float:
        mu = special.expit(theta[0])
        s = math.exp(theta[1])
        a, b = mu * s, (1 - mu) * s
        return -float(np.sum(special.betaln(k + a, n - k + b) - special.betaln(a, b)))

    lo_logit, hi_logit = special.logit(eps), special.logit(1 - eps)
    res = optimize.minimize(
        nll,
        x0=np.array([special.logit(mu0), math.log(s0)]),
        method="L-BFGS-B",
        bounds=[(lo_logit, hi_logit), (math.log(min_strength), math.log(max_strength))],
    )
    theta = (
        res.x if res.success and np.all(np.isfinite(res.x)) else [special.logit(mu0), math.log(s0)]
    )
    mu = float(special.expit(theta[0]))
    s = float(math.exp(theta[1]))
    capped = s >= max_strength * (1 - 1e-6)
    return BetaPrior(mu * s, (1 - mu) * s, "mle_capped" if capped else "mle", groups)


def jeffreys_floor(prior: BetaPrior, successes: ArrayLike, trials: ArrayLike) -> BetaPrior:
    """A prior no more confident at the edges than Jeffreys' Beta(0.5, 0.5).

    Where the group has no success at all (or no failure at all) the spread and the
    mean are not identified: the prior becomes Jeffreys itself (``method="jeffreys"``),
    so a 0/40 rep gets the exact-like interval [0, ~0.06], not [0, 0.002]. Otherwise
    each of ``a`` and ``b`` is raised to at least 0.5 (``method`` gets ``+floor`` when
    that binds), so a near-0 or near-1 team prior cannot pin a rep's interval to 0 or 1.

    Examples
    --------
    >>> p = jeffreys_floor(BetaPrior(0.01, 1.99, "weak", 4), [0, 0, 0, 0], [40, 12, 20, 15])
    >>> (p.a, p.b, p.method)
    (0.5, 0.5, 'jeffreys')
    >>> jeffreys_floor(BetaPrior(0.2, 9.8, "mle_capped", 5), [1, 2], [30, 40]).a
    0.5
    """
    k = _as_float(successes)
    n = _as_float(trials)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    total, wins = float(n[ok].sum()), float(np.clip(k[ok], 0, n[ok]).sum())
    if total > 0 and wins in (0.0, total):
        return BetaPrior(0.5, 0.5, "jeffreys", prior.n_groups)
    a, b = max(prior.a, 0.5), max(prior.b, 0.5)
    method = prior.method if (a, b) == (prior.a, prior.b) else f"{prior.method}+floor"
    return BetaPrior(a, b, method, prior.n_groups)


def beta_posterior(
    successes: ArrayLike,
    trials: ArrayLike,
    prior: BetaPrior,
    *,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Posterior mean and equal-tailed interval of ``Beta(a + k, b + n - k)``.

    Rows with ``trials == 0`` get nulls (no evidence about *this* rep; the prior
    mean would only restate the team).

    Returns
    -------
    pl.DataFrame
        Columns ``shrunk``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> prior = BetaPrior(2.0, 2.0, "weak", 1)
    >>> beta_posterior([8, 0], [8, 0], prior)["shrunk"].to_list()
    [0.8333333333333334, None]
    """
    return beta_posteriors(successes, trials, prior.a, prior.b, alpha=alpha)


def beta_posteriors(
    successes: ArrayLike,
    trials: ArrayLike,
    prior_a: float | np.ndarray,
    prior_b: float | np.ndarray,
    *,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """:func:`beta_posterior` with a prior per row (``prior_a``, ``prior_b`` arrays), so
    many groups, each with its own fitted prior, are computed in one call.

    Examples
    --------
    >>> beta_posteriors([8, 1], [8, 2], np.array([2.0, 1.0]), np.array([2.0, 1.0]))[
    ...     "shrunk"].to_list()
    [0.8333333333333334, 0.5]
    """
    k = _as_float(successes)
    n = _as_float(trials)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    k = np.where(ok, np.clip(np.nan_to_num(k), 0, np.nan_to_num(n)), 0.0)
    n = np.where(ok, n, 0.0)
    a = prior_a + k
    b = prior_b + n - k
    mean = np.where(ok, a / (a + b), np.nan)
    low = np.where(ok, sps.beta.ppf(alpha / 2, a, b), np.nan)
    high = np.where(ok, sps.beta.ppf(1 - alpha / 2, a, b), np.nan)
    return pl.DataFrame(
        {
            "shrunk": pl.Series(mean, dtype=pl.Float64, nan_to_null=True),
            "ci_low": pl.Series(low, dtype=pl.Float64, nan_to_null=True),
            "ci_high": pl.Series(high, dtype=pl.Float64, nan_to_null=True),
        }
    )


def km_cumulative_share(
    times: np.ndarray, events: np.ndarray, weights: np.ndarray, *, at: float, alpha: float = 0.05
) -> dict[str, float | None]:
    """Kaplan-Meier (statsmodels ``SurvfuncRight``) share with the event by time ``at``.

    ``times`` are event or censoring times (censoring: the follow-up until as-of),
    ``events`` 1/0, ``weights`` frequency weights (rows are aggregated counts). Returns
    ``share = 1 - S(at)``, its interval ``low``/``high`` and the KM ``median`` time.
    The share is null when the curve is not identified at ``at`` (everyone censored
    before it); the median is null when the curve never falls to one half. The
    interval is Wilson on the decided rows when nothing is censored before ``at`` (KM
    is then that proportion), otherwise the log-log transformed Greenwood interval.

    Examples
    --------
    >>> out = km_cumulative_share(np.array([2.0, 30.0, 5.0]), np.array([1, 0, 0]),
    ...     np.ones(3), at=24.0)
    >>> round(out["share"], 3), out["median"]
    (0.333, None)
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    empty: dict[str, float | None] = {"share": None, "low": None, "high": None, "median": None}
    if weights.sum() <= 0:
        return empty
    censored_early = (events == 0) & (times < at)
    decided = (events == 1) & (times <= at) | (times >= at)
    n_decided = float(weights[decided].sum())
    n_within = float(weights[(events == 1) & (times <= at)].sum())
    sf = SurvfuncRight(times, events, freq_weights=weights)
    median = float(sf.quantile(0.5)) if len(sf.surv_times) else float("nan")
    out = dict(empty, median=median if np.isfinite(median) else None)
    i = int(np.searchsorted(sf.surv_times, at, side="right")) - 1
    surv = 1.0 if i < 0 else float(sf.surv_prob[i])
    if times.max() < at and surv > 0:
        return out  # nobody followed up to the SLA yet: unknown, not 0
    out["share"] = 1.0 - surv
    if not censored_early[weights > 0].any() or surv in (0.0, 1.0):
        ci = wilson_interval([n_within], [n_decided], alpha=alpha).row(0)
        out["low"], out["high"] = ci
        return out
    se = float(sf.surv_prob_se[i])
    z = float(sps.norm.ppf(1 - alpha / 2))
    log_s = math.log(surv)
    half = z * se / (surv * abs(log_s))
    s_low = math.exp(-math.exp(math.log(-log_s) - half))  # upper bound of S
    s_high = math.exp(-math.exp(math.log(-log_s) + half))  # lower bound of S
    out["low"], out["high"] = 1.0 - s_low, 1.0 - s_high
    return out


def km_grid(
    times: np.ndarray,
    events: np.ndarray,
    weights: np.ndarray,
    *,
    at: float,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """:func:`km_cumulative_share` for many groups at once, on a grid of times.

    Row ``g`` of the 2-D arrays is one group: ``times[g]`` ascending (a 1-D ``times`` is
    shared by every row), ``events[g, t]`` the weight of events at that time and
    ``weights[g, t]`` the weight of all rows there (events + censored). Positions with
    zero weight (padding, or times where the group has no row) are ignored. The
    arithmetic is statsmodels ``SurvfuncRight``'s (with frequency weights) step by step:
    a zero-weight position adds exactly 0 to every running sum, so each row equals a
    ``SurvfuncRight`` fit on that group's rows alone (``tests/test_outcomes_stats.py``
    checks it to 1e-9 on random data). Returns arrays ``share``, ``low``, ``high``,
    ``median`` (NaN where :func:`km_cumulative_share` gives None).

    Examples
    --------
    >>> out = km_grid(np.array([2.0, 5.0, 30.0]), np.array([[1, 0, 0]]),
    ...     np.array([[1, 1, 1]]), at=24.0)
    >>> round(float(out["share"][0]), 3), float(out["median"][0])
    (0.333, nan)
    """
    d = np.asarray(events, dtype=float)
    w = np.asarray(weights, dtype=float)
    if d.ndim == 1:
        d, w = d[None, :], w[None, :]
    t = np.broadcast_to(np.asarray(times, dtype=float), d.shape)
    groups, width = d.shape
    rows = np.arange(groups)
    present = w > 0
    event = d > 0
    # risk set just before each time: the reverse cumulative sum of the weights
    n = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(event, 1 - d / n, 1.0)
        tiny = event & (term < 1e-16)
        term[tiny] = 1e-16
        sp = np.exp(np.cumsum(np.log(term), axis=1))
        sp[tiny] = 0.0
        se = np.sqrt(np.cumsum(np.where(event, d / (n * n), 0.0), axis=1))  # Tsiatis
    nan = np.full(groups, np.nan)

    # the last event time at or before `at` (searchsorted(surv_times, at, "right") - 1)
    upto = event & (t <= at)
    has = upto.any(axis=1)
    i = width - 1 - np.argmax(upto[:, ::-1], axis=1) if width else np.zeros(groups, int)
    surv = np.where(has, sp[rows, i] if width else 1.0, 1.0)
    se_at = np.where(has, se[rows, i] if width else np.nan, np.nan)
    # the median: the first event time with S < 0.5
    below = event & (sp < 0.5)
    median = np.where(below.any(axis=1), t[rows, np.argmax(below, axis=1)] if width else nan, nan)

    total = w.sum(axis=1)
    t_max = np.where(present, t, -np.inf).max(axis=1, initial=-np.inf)
    known = (total > 0) & ~((t_max < at) & (surv > 0))
    share = np.where(known, 1.0 - surv, np.nan)
    censored_early = (present & (w - d > 0) & (t < at)).any(axis=1)
    n_within = np.where(event & (t <= at), d, 0.0).sum(axis=1)
    n_decided = np.where(t < at, d, 0.0).sum(axis=1) + np.where(t >= at, w, 0.0).sum(axis=1)
    wilson = wilson_interval(n_within, n_decided, alpha=alpha)
    z = float(sps.norm.ppf(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        half = z * se_at / (surv * np.abs(log_s))
        s_low = np.exp(-np.exp(np.log(-log_s) - half))  # upper bound of S
        s_high = np.exp(-np.exp(np.log(-log_s) + half))  # lower bound of S
    use_wilson = ~censored_early | (surv == 0.0) | (surv == 1.0)
    low = np.where(use_wilson, wilson["ci_low"].to_numpy(), 1.0 - s_low)
    high = np.where(use_wilson, wilson["ci_high"].to_numpy(), 1.0 - s_high)
    return {
        "share": share,
        "low": np.where(known, low, np.nan),
        "high": np.where(known, high, np.nan),
        "median": np.where(total > 0, median, np.nan),
    }


def km_shares(
    group: np.ndarray,
    times: np.ndarray,
    events: np.ndarray,
    weights: np.ndarray,
    *,
    n_groups: int,
    at: float,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """:func:`km_grid` from rows: ``group`` codes ``0 .. n_groups - 1`` per row.

    Rows are counted by (group, time) and laid out one group per grid row (each group's
    own times, padded with zero weight), so every group gets what
    :func:`km_cumulative_share` gives on its rows alone. Rows with a NaN time are ignored.

    Examples
    --------
    >>> out = km_shares(np.array([0, 0, 1]), np.array([2.0, 30.0, 5.0]),
    ...     np.array([1, 0, 1]), np.ones(3), n_groups=2, at=24.0)
    >>> out["share"].tolist()
    [0.5, 1.0]
    """
    group = np.asarray(group, dtype=np.int64)
    times = np.asarray(times, dtype=float)
    ok = np.isfinite(times)
    group, times = group[ok], times[ok]
    ev = np.asarray(events, dtype=float)[ok]
    w = np.asarray(weights, dtype=float)[ok]
    order = np.lexsort((times, group))
    group, times, ev, w = group[order], times[order], ev[order], w[order]
    new = np.ones(len(times), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (times[1:] != times[:-1])
    cell = np.cumsum(new) - 1
    n_cells = int(cell[-1]) + 1 if len(cell) else 0
    c_group, c_time = group[new], times[new]
    c_d = np.bincount(cell, weights=ev * w, minlength=n_cells)
    c_w = np.bincount(cell, weights=w, minlength=n_cells)
    start = np.searchsorted(c_group, np.arange(n_groups), side="left")
    pos = np.arange(n_cells) - start[c_group]
    width = int(pos.max()) + 1 if n_cells else 0
    grid_t = np.full((n_groups, width), np.inf)
    grid_d = np.zeros((n_groups, width))
    grid_w = np.zeros((n_groups, width))
    grid_t[c_group, pos], grid_d[c_group, pos], grid_w[c_group, pos] = c_time, c_d, c_w
    return km_grid(grid_t, grid_d, grid_w, at=at, alpha=alpha)


def logrank_grid(
    events_a: np.ndarray,
    weights_a: np.ndarray,
    events_b: np.ndarray,
    weights_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-group log-rank tests (statsmodels ``survdiff``'s arithmetic) for many pairs.

    Row ``g`` compares group ``a`` (the tested rows) with group ``b`` (the rest): event
    and total weights per time of a grid of ascending times shared by both, as in
    :func:`km_grid` (the times themselves do not enter a log-rank test, only their order).
    Returns ``(observed - expected events of a, two-sided p)``; p is NaN where
    ``survdiff`` would fail (zero variance). ``tests/test_outcomes_stats.py`` checks it
    against ``survdiff`` on random data.

    Examples
    --------
    >>> a, b = np.array([[1, 1, 0, 0]]), np.array([[0, 0, 1, 1]])  # one event per time
    >>> oe, p = logrank_grid(a, a, b, b)
    >>> round(float(p[0]), 4)
    0.0896
    """
    d_a = np.atleast_2d(np.asarray(events_a, dtype=float))
    d_b = np.atleast_2d(np.asarray(events_b, dtype=float))
    n_a = np.cumsum(np.atleast_2d(np.asarray(weights_a, dtype=float))[:, ::-1], axis=1)[:, ::-1]
    n_b = np.cumsum(np.atleast_2d(np.asarray(weights_b, dtype=float))[:, ::-1], axis=1)[:, ::-1]
    obs = d_b + d_a
    n_tot = n_b + n_a
    r = n_a / np.clip(n_tot, 1e-10, np.inf)
    oe = d_a - r * obs
    var = r * (1 - r) * (obs * (n_tot - obs) / np.clip(n_tot - 1, 1e-10, np.inf))
    at_risk = n_tot > 1
    oe_sum = np.where(at_risk, oe, 0.0).sum(axis=1)
    var_sum = np.where(at_risk, var, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chisq = oe_sum * (oe_sum / var_sum)
    p = 1 - sps.chi2.cdf(chisq, 1)
    return oe_sum, np.where(var_sum == 0, np.nan, p)


def adjust_pvalues(pvalues: ArrayLike, *, method: str = "fdr_bh") -> pl.Series:
    """Multiple-testing adjustment via statsmodels ``multipletests``; nulls stay null.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, None], method="bonferroni").to_list()
    [0.02, 0.08, None]
    """
    if not isinstance(pvalues, pl.Series):
        pvalues = pl.Series(list(pvalues), dtype=pl.Float64, strict=False)
    p = _as_float(pvalues)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(p[ok], method=method)[1]
    return pl.Series("p_adjusted", out, dtype=pl.Float64, nan_to_null=True)


def _codes(column: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (sorted levels, null -> "unknown") for a categorical column."""
    values = column.cast(pl.String).fill_null("unknown")
    levels = sorted(values.unique().to_list())
    lookup = {v: i for i, v in enumerate(levels)}
    return np.array([lookup[v] for v in values.to_list()], dtype=np.int64), levels


def _dummies(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Treatment coding: one column per level except the first."""
    out = np.zeros((codes.shape[0], max(n_levels - 1, 0)))
    for j in range(1, n_levels):
        out[:, j - 1] = codes == j
    return out


def binomial_glm_standardized(
    cells: pl.DataFrame,
    *,
    unit: str = "rep_id",
    covariates: Sequence[str] = (),
    successes: str = "won",
    trials: str = "closed",
    ridge: float = 1e-3,
    max_abs_coef: float = 12.0,
) -> tuple[pl.DataFrame, str]:
    """Fit ``logit P(win) ~ unit + covariates`` on aggregated counts and standardise.

    ``cells`` holds one row per (unit, covariate levels) with success and trial
    counts. The model is a statsmodels binomial GLM on the two-column
    (successes, failures) response, i.e. fitted on counts, not rows. Each unit's
    *adjusted rate* is its predicted win rate averaged over the pooled covariate mix of
    all cells (weights = trials): "this rep, on the team's average deal mix".

    Covariates with a single level are dropped. On perfect separation (detected as
    exploding coefficients, ``|coef| > max_abs_coef``: statsmodels' own
    ``PerfectSeparationWarning`` also fires on harmless saturated fits), a convergence
    warning or a failed fit, it refits with a small
    L2 penalty (``ridge``, intercept unpenalised) through ``fit_regularized`` and reports
    method ``"glm_ridge"``; otherwise ``"glm"``.

    Returns
    -------
    (pl.DataFrame, str)
        Columns ``unit`` and ``adjusted_rate``; the fit method.

    Examples
    --------
    >>> cells = pl.DataFrame({"rep_id": ["a", "a", "b", "b"], "seg": ["x", "y", "x", "y"],
    ...                       "won": [8, 2, 4, 1], "closed": [10, 10, 5, 5]})
    >>> out, method = binomial_glm_standardized(cells, covariates=["seg"])
    >>> method, out["adjusted_rate"].round(2).to_list()
    ('glm', [0.5, 0.5])
    """
    cells = cells.filter(pl.col(trials) > 0)
    unit_codes, unit_levels = _codes(cells[unit])
    cov_codes = []
    for cov in covariates:
        codes, levels = _codes(cells[cov])
        if len(levels) > 1:
            cov_codes.append((codes, len(levels)))
    rates, method = glm_standardized_codes(
        unit_codes,
        len(unit_levels),
        cov_codes,
        cells[successes].cast(pl.Float64).to_numpy(),
        cells[trials].cast(pl.Float64).to_numpy(),
        ridge=ridge,
        max_abs_coef=max_abs_coef,
    )
    out = pl.DataFrame(
        {unit: unit_levels, "adjusted_rate": rates},
        schema={unit: pl.String, "adjusted_rate": pl.Float64},
    )
    return out, method


def glm_standardized_codes(
    unit_codes: np.ndarray,
    n_units: int,
    covariates: Sequence[tuple[np.ndarray, int]],
    successes: np.ndarray,
    trials: np.ndarray,
    *,
    ridge: float = 1e-3,
    max_abs_coef: float = 12.0,
) -> tuple[list[float], str]:
    """:func:`binomial_glm_standardized` on integer codes (``0 ..`` levels - 1, levels in
    sorted order; a covariate is ``(codes, n_levels)`` with at least two levels), one
    row per cell with ``trials > 0``: the adjusted rate per unit code and the method.

    Lets a caller code every group of a large table at once and fit each group on
    array slices, with the same design, fits and arithmetic.

    Examples
    --------
    >>> rates, method = glm_standardized_codes(np.array([0, 0, 1, 1]), 2,
    ...     [(np.array([0, 1, 0, 1]), 2)], np.array([8.0, 2, 4, 1]), np.array([10.0, 10, 5, 5]))
    >>> method, [round(r, 2) for r in rates]
    ('glm', [0.5, 0.5])
    """
    # the GLM module itself, not statsmodels.api (which imports ~0.5 s of unrelated modules)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError

    rows = len(unit_codes)
    blocks = [np.ones((rows, 1)), _dummies(unit_codes, n_units)]
    blocks += [_dummies(codes, n_levels) for codes, n_levels in covariates]
    x = np.hstack(blocks)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    endog = np.column_stack([k, n - k])
    model = GLM(endog, x, family=families.Binomial())

    method = "glm"
    params: np.ndarray | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit()
            params = np.asarray(res.params)
            bad = (
                not res.converged
                or not np.all(np.isfinite(params))
                or np.max(np.abs(params)) > max_abs_coef
                or any(issubclass(w.category, ConvergenceWarning) for w in caught)
            )
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError):
            bad = True
    if bad:
        method = "glm_ridge"
        penalty = np.full(x.shape[1], ridge)
        penalty[0] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = np.asarray(
                model.fit_regularized(method="elastic_net", alpha=penalty, L1_wt=0.0).params
            )

    # the pooled mix: covariate cells (sorted by their levels) with their total trials
    if covariates:
        combos = np.column_stack([codes for codes, _ in covariates])
        order = np.lexsort(combos.T[::-1])
        combos, n_sorted = combos[order], n[order]
        new = np.ones(rows, dtype=bool)
        new[1:] = np.any(combos[1:] != combos[:-1], axis=1)
        mix_codes = combos[new]
        weights = np.add.reduceat(n_sorted, np.flatnonzero(new)) if rows else np.zeros(0)
        mix_x = np.hstack(
            [_dummies(mix_codes[:, j], levels) for j, (_, levels) in enumerate(covariates)]
        )
    else:
        mix_x = np.zeros((1, 0))
        weights = np.ones(1)
    rates = []
    for u in range(n_units):
        unit_x = np.zeros((mix_x.shape[0], max(n_units - 1, 0)))
        if u > 0:
            unit_x[:, u - 1] = 1.0
        design = np.hstack([np.ones((mix_x.shape[0], 1)), unit_x, mix_x])
        p = special.expit(design @ params)
        rates.append(float(np.sum(weights * p) / np.sum(weights)))
    return rates, method
