"""Decision metrics as ``pl.Expr`` factories: one definition for every grain.

The count factories work on the ``decisions`` table (one row per activity); the share
factories take count expressions, so the same definition serves a rep-day row
(``pl.col("judgment")``) and a rep summary (``pl.col("judgment").sum()``).

Examples
--------
>>> import polars as pl
>>> load = pl.DataFrame({"pattern_recognition": [3, 0], "judgment": [1, 0]})
>>> load.select(automatable_share()).to_series().to_list()
[0.75, None]
"""

from __future__ import annotations

import polars as pl

from analysis.decisions.taxonomy import UNCLASSIFIED

IntoCount = str | pl.Expr


def _col(value: IntoCount) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def class_count(decision_class: str) -> pl.Expr:
    """Number of decisions of one class (an aggregation over ``decisions`` rows).

    Examples
    --------
    >>> df = pl.DataFrame({"decision_class": ["judgment", "unclassified", "judgment"]})
    >>> df.select(class_count("judgment")).item()
    2
    """
    return (pl.col("decision_class") == decision_class).sum().cast(pl.Int64).alias(decision_class)


def classified_count() -> pl.Expr:
    """Number of decisions some rule classified.

    Examples
    --------
    >>> df = pl.DataFrame({"decision_class": ["judgment", "unclassified"]})
    >>> df.select(classified_count()).item()
    1
    """
    return (pl.col("decision_class") != UNCLASSIFIED).sum().cast(pl.Int64).alias("classified")


def share(part: IntoCount, whole: IntoCount) -> pl.Expr:
    """``part / whole``; null (no evidence), never 0, where ``whole`` is 0 or null.

    Examples
    --------
    >>> pl.DataFrame({"a": [1, 0], "b": [4, 0]}).select(share("a", "b")).to_series().to_list()
    [0.25, None]
    """
    from analysis.shared import ratio

    return ratio(_col(part), _col(whole))


def automatable_share(
    pattern: IntoCount = "pattern_recognition", judgment: IntoCount = "judgment"
) -> pl.Expr:
    """Pattern-recognition decisions (a machine could take them) / classified decisions.

    Unclassified decisions are left out of the denominator: their class is unknown.

    Examples
    --------
    >>> df = pl.DataFrame({"pattern_recognition": [1, 2], "judgment": [1, 2]})
    >>> df.select(automatable_share(pl.col("pattern_recognition").sum(), pl.col("judgment").sum())).item()
    0.5
    """
    p, j = _col(pattern), _col(judgment)
    return share(p, p + j).alias("automatable_share")


def judgment_share(
    pattern: IntoCount = "pattern_recognition", judgment: IntoCount = "judgment"
) -> pl.Expr:
    """Judgment decisions / classified decisions (``1 - automatable_share``); null if none.

    Examples
    --------
    >>> pl.DataFrame({"pattern_recognition": [3], "judgment": [1]}).select(judgment_share()).item()
    0.25
    """
    p, j = _col(pattern), _col(judgment)
    return share(j, p + j).alias("judgment_share")


def over_threshold(threshold: int, decisions: IntoCount = "decisions") -> pl.Expr:
    """True where a day's decisions exceed ``threshold`` (a heuristic, not a law).

    Examples
    --------
    >>> pl.DataFrame({"decisions": [45, 46]}).select(over_threshold(45)).to_series().to_list()
    [False, True]
    """
    return (_col(decisions) > threshold).alias("over_threshold")


def wilson_bounds(
    successes: IntoCount, n: IntoCount, *, alpha: float = 0.05, prefix: str = ""
) -> list[pl.Expr]:
    """Wilson score interval ``[low, high]`` for ``successes / n``; null where ``n`` is 0.

    The one Wilson interval (:func:`analysis.shared.wilson_bounds`, statsmodels
    underneath), named ``<prefix>ci_low`` / ``<prefix>ci_high``.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [5], "n": [10]})
    >>> [round(v, 3) for v in df.select(wilson_bounds("k", "n")).row(0)]
    [0.237, 0.763]
    """
    from analysis.shared import wilson_bounds as shared

    low, high = shared(_col(successes), _col(n), alpha=alpha)
    return [low.alias(f"{prefix}ci_low"), high.alias(f"{prefix}ci_high")]


def quality_rate(positives: IntoCount = "positives", n: IntoCount = "n") -> pl.Expr:
    """Share of quality-bearing decisions with a positive outcome; null where ``n`` is 0.

    Examples
    --------
    >>> pl.DataFrame({"positives": [3], "n": [4]}).select(quality_rate()).item()
    0.75
    """
    return share(positives, n).alias("quality_rate")
