"""The intermediate layer: small pieces several metrics share, defined once.

dbt calls this layer "intermediate": below the output tables (``metrics``, ``decisions``),
above the canonical data. Everything here is a ``pl.Expr`` factory usable at any grain:

* :func:`ratio`: ``a / b``, null (no evidence), never 0 or infinite, when ``b`` is 0;
* :func:`wilson_bounds`: the one Wilson score interval, statsmodels underneath
  (:func:`analysis.metrics.stats.wilson_interval`), a lazy expression on top;
* :func:`evidence`: the "too few" floor labelling a count ``sufficient`` or ``too_few``;
* :func:`closed_in_period`: an opportunity whose win or loss falls in the period.

``analysis.metrics.exprs`` and ``analysis.decisions.exprs`` re-export these under their
historical names, so callers keep working.

Examples
--------
>>> df = pl.DataFrame({"k": [3, 0], "n": [10, 0]})
>>> df.select(ratio("k", "n").alias("r"), evidence("n", floor=5)).rows()
[(0.3, 'sufficient'), (None, 'too_few')]
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from analysis.periods import Period

__all__ = ["closed_in_period", "evidence", "ratio", "wilson_bounds"]

IntoExpr = str | pl.Expr


def _col(c: IntoExpr) -> pl.Expr:
    return pl.col(c) if isinstance(c, str) else c


def ratio(numerator: IntoExpr, denominator: IntoExpr) -> pl.Expr:
    """``numerator / denominator`` as Float64; null when the denominator is 0 or null.

    Examples
    --------
    >>> pl.DataFrame({"a": [1, 1], "b": [4, 0]}).select(ratio("a", "b"))["a"].to_list()
    [0.25, None]
    """
    den = _col(denominator)
    return (
        pl.when(den > 0)
        .then(_col(numerator).cast(pl.Float64) / den.cast(pl.Float64))
        .otherwise(None)
    )


def _wilson_batch(alpha: float, side: str) -> Callable[[pl.Series], pl.Series]:
    from analysis.metrics.stats import wilson_interval

    def batch(pairs: pl.Series) -> pl.Series:
        k, n = pairs.struct.field("k"), pairs.struct.field("n")
        return wilson_interval(k, n, alpha=alpha)[side]

    return batch


def wilson_bounds(
    successes: IntoExpr, trials: IntoExpr, *, alpha: float = 0.05
) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval as lazy expressions ``(ci_low, ci_high)``; null when trials == 0.

    Each bound runs statsmodels ``proportion_confint(method="wilson")`` on the column
    batch (elementwise, so it streams and works after any ``group_by``).

    Examples
    --------
    >>> lo, hi = wilson_bounds("k", "n")
    >>> pl.DataFrame({"k": [3, 0], "n": [10, 0]}).select(lo.round(4), hi.round(4)).rows()
    [(0.1078, 0.6032), (None, None)]
    """
    pairs = pl.struct(
        _col(successes).cast(pl.Float64).alias("k"), _col(trials).cast(pl.Float64).alias("n")
    )
    return tuple(  # type: ignore[return-value]
        pairs.map_batches(
            _wilson_batch(alpha, side), return_dtype=pl.Float64, is_elementwise=True
        ).alias(side)
        for side in ("ci_low", "ci_high")
    )


def evidence(count: IntoExpr, *, floor: int) -> pl.Expr:
    """``"sufficient"`` where ``count >= floor`` (a heuristic floor), else ``"too_few"``.

    Examples
    --------
    >>> pl.DataFrame({"closed": [12, 3, None]}).select(evidence("closed", floor=10))["evidence"].to_list()
    ['sufficient', 'too_few', 'too_few']
    """
    return (
        pl.when(_col(count).fill_null(0) >= floor)
        .then(pl.lit("sufficient"))
        .otherwise(pl.lit("too_few"))
        .alias("evidence")
    )


def closed_in_period(period: Period) -> pl.Expr:
    """True for an opportunity whose win or loss (``closed_at``) falls in the period.

    Examples
    --------
    >>> from datetime import date
    >>> df = pl.DataFrame({"is_closed": [True, True, False],
    ...                    "closed_at": [date(2026, 7, 5), date(2026, 10, 1), None]})
    >>> df.select(closed_in_period(Period.quarter("2026Q3")))["is_closed"].to_list()
    [True, False, False]
    """
    from analysis.metrics._common import date_in_period

    return pl.col("is_closed") & date_in_period("closed_at", period)
