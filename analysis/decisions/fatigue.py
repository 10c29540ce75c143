"""Decision fatigue: does decision quality drop after the n-th decision of the day, and where?

Model (per team, and for all teams pooled). Only decisions whose outcome is in the
taxonomy's ``[quality]`` lists take part. For a candidate threshold ``t`` the quality of a
rep's decision is modelled as a binomial GLM with logit link::

    logit P(positive) = alpha_rep + beta * [seq_in_day > t]

The rep fixed effects ``alpha_rep`` control for baseline: heavier reps may simply be
better or worse, so the step ``beta`` is estimated within rep. The breakpoint is the
candidate with the highest log-likelihood (profile likelihood).

Efficiency: decisions are aggregated lazily to counts per ``(team, rep_id, seq_in_day)``
and that small table is collected once. For each ``t`` the data collapse to two cells per
rep (before, after), so a fit has ``2 * n_reps`` rows. The profile over all candidates is
computed with a vectorised Newton solver for exactly this model (same maximum-likelihood
estimates as statsmodels); the reported model at the chosen threshold is refitted with
``statsmodels`` ``GLM(Binomial)`` on the counts (for groups of up to
``statsmodels_max_reps`` reps; above that the dense fixed-effects design is slow and the
identical Newton estimate and its Fisher-information standard error are reported;
``fit_engine`` says which).

Inference.
* ``p_value``: likelihood-ratio test of the step against the rep-only model. Searching
  over ``t`` makes the naive chi-square p-value far too small, so it is corrected with
  Davies' (1987) upper bound for a parameter present only under the alternative
  (``P(chi2_1 > M) + V exp(-M/2) / sqrt(2 pi)``, ``V`` the total variation of the signed
  root statistic over the candidates), capped by a Bonferroni bound over the candidates.
  Both are conservative: a flat dataset does not come out significant.
* Threshold interval (``ci_method``): ``"profile"`` (default) keeps every candidate with
  ``2 (ll_max - ll(t)) <= chi2_1(1 - alpha)``; ``"bootstrap"`` resamples reps with
  replacement ``n_boot`` times (a cluster bootstrap: the aggregated counts keep reps but
  not days) and takes the percentile interval of the re-estimated threshold.
* ``quality_before`` / ``quality_after`` are the raw positive rates on either side of the
  estimate; ``relative_drop`` is model-based: ``1 - p_after / p_before``, where both are
  the model's predicted rates averaged over reps weighted by their decisions (so a change
  in which reps reach high counts does not pose as fatigue). ``raw_relative_drop`` is the
  unadjusted ``(before - after) / before``.

Where the data cannot support a fit the row has null estimates and a ``reason``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from analysis.decisions.exprs import quality_rate, wilson_bounds

#: Default candidate thresholds (decisions into the day).
DEFAULT_CANDIDATES = tuple(range(10, 91))

FATIGUE_SCHEMA = pl.Schema(
    {
        "team": pl.String,
        "threshold_estimate": pl.Int64,
        "threshold_ci_low": pl.Int64,
        "threshold_ci_high": pl.Int64,
        "quality_before": pl.Float64,
        "quality_after": pl.Float64,
        "relative_drop": pl.Float64,
        "p_value": pl.Float64,
        "n_decisions": pl.Int64,
        "n_after": pl.Int64,
        "n_reps": pl.Int64,
        "significant": pl.Boolean,
        "raw_relative_drop": pl.Float64,
        "model_quality_before": pl.Float64,
        "model_quality_after": pl.Float64,
        "step_log_odds": pl.Float64,
        "step_log_odds_se": pl.Float64,
        "lr_statistic": pl.Float64,
        "naive_p_value": pl.Float64,
        "candidates_tested": pl.Int64,
        "ci_method": pl.String,
        "fit_engine": pl.String,
        "reason": pl.String,
    }
)


def quality_counts(decisions: pl.LazyFrame) -> pl.LazyFrame:
    """Quality-bearing decisions aggregated to ``team, rep_id, seq_in_day, n, positives``.

    Every team with decisions appears (with ``n = 0`` if none bear quality).

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 3, "rep_id": ["r"] * 3, "seq_in_day": [1, 1, 2],
    ...                   "quality": [True, False, None]})
    >>> quality_counts(d).collect().rows()
    [('A', 'r', 1, 2, 1), ('A', 'r', 2, 0, 0)]
    """
    return (
        decisions.group_by("team", "rep_id", "seq_in_day")
        .agg(
            n=pl.col("quality").is_not_null().sum().cast(pl.Int64),
            positives=pl.col("quality").sum().cast(pl.Int64),
        )
        .sort("team", "rep_id", "seq_in_day")
    )


def fatigue(
    decisions: pl.LazyFrame,
    *,
    candidates: Sequence[int] | None = None,
    min_decisions_after: int = 200,
    alpha: float = 0.05,
    n_boot: int = 200,
    seed: int = 0,
    ci_method: str = "profile",
    statsmodels_max_reps: int = 250,
) -> pl.DataFrame:
    """Estimate where (and whether) decision quality drops with ``seq_in_day``.

    Parameters
    ----------
    decisions
        The ``decisions`` table (needs ``team, rep_id, seq_in_day, quality``).
    candidates
        Thresholds ``t`` to try (``after = seq_in_day > t``); default 10..90. Only those
        with at least ``min_decisions_after`` quality-bearing decisions on each side
        are tried.
    min_decisions_after
        Evidence floor (a heuristic) for a candidate.
    alpha
        1 - confidence level of the threshold interval; ``significant`` is ``p < alpha``.
    n_boot, seed
        Replicates and seed of the rep bootstrap (``ci_method="bootstrap"``).
    ci_method
        ``"profile"`` (profile-likelihood set) or ``"bootstrap"`` (percentile interval,
        reps resampled).
    statsmodels_max_reps
        Refit the chosen model with statsmodels when a group has at most this many
        reps; above it the dense fixed-effects design gets slow, and the Newton fit
        (the same maximum-likelihood estimate and standard error) is reported.
        ``fit_engine`` says which.

    Returns
    -------
    pl.DataFrame
        One row per team (sorted) and a last row ``team = "all"``; columns in
        :data:`FATIGUE_SCHEMA`. See the module docstring for the method. The one
        ``collect()`` is of the aggregated counts (reps x decisions-per-day rows).

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 4, "rep_id": ["r"] * 4,
    ...                   "seq_in_day": [1, 2, 3, 4], "quality": [True, False, True, None]})
    >>> fatigue(d).select("team", "threshold_estimate", "reason").rows()[0]
    ('A', None, 'too few quality-bearing decisions past any candidate threshold (need 200)')
    """
    if ci_method not in ("profile", "bootstrap"):
        raise ValueError(f"ci_method must be 'profile' or 'bootstrap', not {ci_method!r}")
    cands = sorted({int(t) for t in (DEFAULT_CANDIDATES if candidates is None else candidates)})
    counts = quality_counts(decisions).collect()
    teams = sorted(counts["team"].unique().drop_nulls().to_list())
    groups = [(team, counts.filter(pl.col("team") == team)) for team in teams]
    groups.append(("all", counts))
    rng = np.random.default_rng(seed)
    rows = [
        _fit_group(
            team,
            cells,
            cands=cands,
            min_after=min_decisions_after,
            alpha=alpha,
            n_boot=n_boot,
            rng=rng,
            ci_method=ci_method,
            sm_max_reps=statsmodels_max_reps,
        )
        for team, cells in groups
    ]
    return pl.DataFrame(rows, schema=FATIGUE_SCHEMA, orient="row")


def _empty_row(team: str, reason: str, *, n: int, n_reps: int, ci_method: str) -> tuple:
    values = dict.fromkeys(FATIGUE_SCHEMA.names())
    values.update(team=team, n_decisions=n, n_reps=n_reps, reason=reason, ci_method=ci_method)
    values["candidates_tested"] = 0
    return tuple(values.values())


def _fit_group(
    team: str,
    cells: pl.DataFrame,
    *,
    cands: list[int],
    min_after: int,
    alpha: float,
    n_boot: int,
    rng: np.random.Generator,
    ci_method: str,
    sm_max_reps: int = 250,
) -> tuple:
    cells = cells.filter(pl.col("n") > 0)
    total = int(cells["n"].sum()) if cells.height else 0
    if total == 0:
        return _empty_row(
            team,
            "no quality-bearing decisions (no outcome in the taxonomy's [quality] lists)",
            n=0,
            n_reps=0,
            ci_method=ci_method,
        )
    # Reps whose outcomes are all positive or all negative carry no information on the
    # within-rep step (their fixed effect absorbs everything), so they are left out.
    per_rep = cells.group_by("rep_id").agg(pl.col("n").sum(), pl.col("positives").sum())
    informative = per_rep.filter((pl.col("positives") > 0) & (pl.col("positives") < pl.col("n")))
    cells = cells.join(informative.select("rep_id"), on="rep_id", how="semi")
    n_used = int(cells["n"].sum()) if cells.height else 0
    if informative.height == 0:
        return _empty_row(
            team,
            "no rep has both positive and negative outcomes",
            n=n_used,
            n_reps=0,
            ci_method=ci_method,
        )

    _, rep_idx = np.unique(cells["rep_id"].to_numpy(), return_inverse=True)
    n_reps = int(rep_idx.max()) + 1
    seq = cells["seq_in_day"].to_numpy()
    n = cells["n"].to_numpy().astype(float)
    y = cells["positives"].to_numpy().astype(float)

    # Per candidate and rep: decisions/positives after t (K x R), by cumulative sums.
    t_arr = np.asarray(cands)
    after_mask = seq[None, :] > t_arr[:, None]  # K x cells
    na = np.zeros((len(cands), n_reps))
    ya = np.zeros((len(cands), n_reps))
    for k in range(len(cands)):  # K is small (candidates), not rows
        na[k] = np.bincount(rep_idx, weights=n * after_mask[k], minlength=n_reps)
        ya[k] = np.bincount(rep_idx, weights=y * after_mask[k], minlength=n_reps)
    n_rep = np.bincount(rep_idx, weights=n, minlength=n_reps)
    y_rep = np.bincount(rep_idx, weights=y, minlength=n_reps)
    nb, yb = n_rep[None, :] - na, y_rep[None, :] - ya
    ok = (na.sum(axis=1) >= min_after) & (nb.sum(axis=1) >= min_after)
    if not ok.any():
        return _empty_row(
            team,
            f"too few quality-bearing decisions past any candidate threshold (need {min_after})",
            n=n_used,
            n_reps=n_reps,
            ci_method=ci_method,
        )
    t_ok = t_arr[ok]
    yb, nb, ya, na = yb[ok], nb[ok], ya[ok], na[ok]

    a_hat, b_hat, ll = _fit_step(yb, nb, ya, na)
    p0 = y_rep / n_rep
    ll0 = float(np.sum(y_rep * np.log(p0) + (n_rep - y_rep) * np.log1p(-p0)))
    lr = np.maximum(2.0 * (ll - ll0), 0.0)
    best = int(np.argmax(ll))
    t_hat = int(t_ok[best])
    lr_max = float(lr[best])

    naive_p = float(stats.chi2.sf(lr_max, 1))
    signed = np.sign(b_hat) * np.sqrt(lr)
    variation = float(np.abs(np.diff(signed)).sum())
    davies = naive_p + variation * math.exp(-lr_max / 2.0) / math.sqrt(2.0 * math.pi)
    p_value = min(1.0, davies, naive_p * len(t_ok))

    if ci_method == "profile":
        crit = float(stats.chi2.ppf(1.0 - alpha, 1))
        inside = t_ok[2.0 * (ll[best] - ll) <= crit]
        ci_low, ci_high = int(inside.min()), int(inside.max())
    else:
        ci_low, ci_high = _bootstrap_ci(yb, nb, ya, na, t_ok, alpha=alpha, n_boot=n_boot, rng=rng)

    # The reported model at the estimated threshold, fitted with statsmodels on counts.
    beta, alphas = float(b_hat[best]), a_hat[best]
    se = _step_se(nb[best], na[best], alphas, beta)
    engine = "newton"
    if n_reps <= sm_max_reps:
        sm_beta, sm_se, sm_alpha = _statsmodels_step(
            yb[best], nb[best], ya[best], na[best], start=np.r_[alphas, beta]
        )
        if sm_beta is not None and sm_alpha is not None:
            beta, se, alphas, engine = sm_beta, sm_se, sm_alpha, "statsmodels"
    w = n_rep / n_rep.sum()
    model_before = float(np.sum(w * _expit(alphas)))
    model_after = float(np.sum(w * _expit(alphas + beta)))
    before_n, after_n = float(nb[best].sum()), float(na[best].sum())
    q_before = float(yb[best].sum() / before_n)
    q_after = float(ya[best].sum() / after_n)
    return (
        team,
        t_hat,
        ci_low,
        ci_high,
        q_before,
        q_after,
        (model_before - model_after) / model_before,
        p_value,
        n_used,
        int(after_n),
        n_reps,
        p_value < alpha,
        (q_before - q_after) / q_before if q_before > 0 else None,
        model_before,
        model_after,
        beta,
        se,
        lr_max,
        naive_p,
        len(t_ok),
        ci_method,
        engine,
        None,
    )


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _log_expit(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _fit_step(
    yb: np.ndarray, nb: np.ndarray, ya: np.ndarray, na: np.ndarray, *, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum likelihood of ``logit p = alpha_rep + beta * after`` for many fits at once.

    Arrays are ``(..., R)`` (any leading batch shape: candidates, bootstrap replicates).
    Newton's method on the exact Hessian, whose arrow shape (rep effects only meet
    ``beta``) is solved by a Schur complement, so a step costs O(R). Returns
    ``alpha (..., R), beta (...), log-likelihood (...)`` (Bernoulli, no binomial
    coefficients, so values are comparable across thresholds).
    """
    n = nb + na
    a = np.log((yb + ya + 0.5) / (n - yb - ya + 0.5))
    b = np.zeros(a.shape[:-1])
    for _ in range(max_iter):
        mb = _expit(a)
        ma = _expit(a + b[..., None])
        wb, wa = nb * mb * (1 - mb), na * ma * (1 - ma)
        g_a = yb - nb * mb + ya - na * ma
        g_b = (ya - na * ma).sum(axis=-1)
        h_aa = np.maximum(wb + wa, 1e-12)
        schur = np.maximum(wa.sum(axis=-1) - (wa**2 / h_aa).sum(axis=-1), 1e-12)
        d_b = (g_b - (wa * g_a / h_aa).sum(axis=-1)) / schur
        d_a = (g_a - wa * d_b[..., None]) / h_aa
        d_b = np.clip(d_b, -2.0, 2.0)
        d_a = np.clip(d_a, -2.0, 2.0)
        a, b = a + d_a, b + d_b
        if max(np.abs(d_a).max(initial=0.0), np.abs(d_b).max(initial=0.0)) < 1e-9:
            break
    ab = a + b[..., None]
    ll = (
        yb * _log_expit(a)
        + (nb - yb) * _log_expit(-a)
        + ya * _log_expit(ab)
        + (na - ya) * _log_expit(-ab)
    ).sum(axis=-1)
    return a, b, ll


def _bootstrap_ci(
    yb: np.ndarray,
    nb: np.ndarray,
    ya: np.ndarray,
    na: np.ndarray,
    t_ok: np.ndarray,
    *,
    alpha: float,
    n_boot: int,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """Percentile interval of the threshold over ``n_boot`` resamples of reps."""
    n_reps = yb.shape[1]
    estimates = []
    chunk = max(1, 2_000_000 // max(1, yb.size))  # bound memory: replicates per batch
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, n_reps, size=(size, n_reps))
        sel = (slice(None), idx)  # K x B x R -> move B first below
        byb, bnb = yb[sel].transpose(1, 0, 2), nb[sel].transpose(1, 0, 2)
        bya, bna = ya[sel].transpose(1, 0, 2), na[sel].transpose(1, 0, 2)
        _, _, ll = _fit_step(byb, bnb, bya, bna)
        # a candidate without data after it in a replicate cannot be chosen
        ll = np.where(bna.sum(axis=-1) > 0, ll, -np.inf)
        estimates.append(t_ok[np.argmax(ll, axis=1)])
    est = np.concatenate(estimates)
    low, high = np.quantile(est, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return int(low), int(high)


def _step_se(nb: np.ndarray, na: np.ndarray, a: np.ndarray, b: float) -> float:
    """Standard error of ``beta``: the Schur complement of the Fisher information."""
    mb, ma = _expit(a), _expit(a + b)
    wb, wa = nb * mb * (1 - mb), na * ma * (1 - ma)
    schur = wa.sum() - (wa**2 / np.maximum(wb + wa, 1e-12)).sum()
    return float(1.0 / math.sqrt(schur)) if schur > 0 else float("nan")


def _statsmodels_step(
    yb: np.ndarray,
    nb: np.ndarray,
    ya: np.ndarray,
    na: np.ndarray,
    *,
    start: np.ndarray | None = None,
) -> tuple[float | None, float | None, np.ndarray | None]:
    """Refit the chosen step model with statsmodels ``GLM(Binomial)`` on the 2R cells."""
    import statsmodels.api as sm

    n_reps = yb.shape[0]
    rep = np.concatenate([np.arange(n_reps), np.arange(n_reps)])
    after = np.concatenate([np.zeros(n_reps), np.ones(n_reps)])
    succ = np.concatenate([yb, ya])
    trials = np.concatenate([nb, na])
    keep = trials > 0
    exog = np.zeros((int(keep.sum()), n_reps + 1))
    exog[np.arange(exog.shape[0]), rep[keep]] = 1.0
    exog[:, -1] = after[keep]
    endog = np.column_stack([succ[keep], trials[keep] - succ[keep]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit(start_params=start)
    except Exception:  # pragma: no cover - numerical failure: keep the Newton estimate
        return None, None, None
    params = np.asarray(res.params)
    return float(params[-1]), float(np.asarray(res.bse)[-1]), params[:-1]


def fatigue_curve(decisions: pl.LazyFrame, *, bin_width: int = 5) -> pl.LazyFrame:
    """Quality rate by ``seq_in_day`` bin, per team and ``all``, for the report plot.

    Returns ``team, seq_from, seq_to, n, positives, quality_rate, ci_low, ci_high``
    (Wilson 95%) for quality-bearing decisions, sorted by team (``all`` last), ``seq_from``.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A"] * 3, "rep_id": ["r"] * 3, "seq_in_day": [1, 2, 6],
    ...                   "quality": [True, False, True]})
    >>> fatigue_curve(d).collect().select("team", "seq_from", "n", "quality_rate").rows()
    [('A', 1, 2, 0.5), ('A', 6, 1, 1.0), ('all', 1, 2, 0.5), ('all', 6, 1, 1.0)]
    """
    binned = decisions.filter(pl.col("quality").is_not_null()).select(
        "team",
        pl.col("quality"),
        seq_from=((pl.col("seq_in_day") - 1) // bin_width * bin_width + 1).cast(pl.Int64),
    )
    aggs = [
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("quality").sum().cast(pl.Int64).alias("positives"),
    ]
    per_team = binned.group_by("team", "seq_from").agg(aggs)
    overall = binned.group_by("seq_from").agg(aggs).with_columns(team=pl.lit("all"))
    return (
        pl.concat([per_team, overall], how="diagonal")
        .with_columns(
            seq_to=pl.col("seq_from") + (bin_width - 1),
            quality_rate=quality_rate("positives", "n"),
        )
        .with_columns(*wilson_bounds("positives", "n"))
        .select("team", "seq_from", "seq_to", "n", "positives", "quality_rate", "ci_low", "ci_high")
        .sort(pl.col("team") == "all", "team", "seq_from")
    )
