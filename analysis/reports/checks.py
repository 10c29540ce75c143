"""Checks on what the metrics can and cannot say, turned into report warnings."""

from __future__ import annotations

import polars as pl

__all__ = ["amount_warning"]


def amount_warning(skill_gaps: pl.DataFrame | None) -> str | None:
    """A warning when deal amounts cannot separate won from lost deals, else ``None``.

    When every rep who lost a deal still has an amount-weighted win rate of 100%, the
    lost deals carry no amount (0 or missing, as in exports that only price won deals):
    the amount-weighted rate is then 1.0 for everyone and amount bands in the deal-mix
    adjustment leak the outcome.

    Examples
    --------
    >>> gaps = pl.DataFrame({"closed": [10, 8], "won": [4, 8],
    ...                      "amount_weighted_win_rate": [1.0, 1.0]})
    >>> amount_warning(gaps).startswith("⚠ **Deal amounts cannot separate")
    True
    >>> amount_warning(gaps.with_columns(amount_weighted_win_rate=pl.lit(0.4))) is None
    True
    """
    if skill_gaps is None or skill_gaps.height == 0:
        return None
    needed = {"closed", "won", "amount_weighted_win_rate"}
    if not needed <= set(skill_gaps.columns):
        return None
    with_losses = skill_gaps.filter(
        (pl.col("closed") > pl.col("won")) & pl.col("amount_weighted_win_rate").is_not_null()
    )
    if with_losses.height == 0:
        return None
    if (with_losses["amount_weighted_win_rate"] >= 1.0 - 1e-12).all():
        return (
            "⚠ **Deal amounts cannot separate won from lost deals**: every rep who lost a deal "
            "still has an amount-weighted win rate of 100%, so lost deals carry no amount "
            "(0 or missing). Read the count-based win rates; the amount-weighted rate and the "
            "deal-mix adjustment's amount bands say nothing here."
        )
    return None
