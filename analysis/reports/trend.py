"""The report's opening lines: each headline figure against the previous quarter (``team_trend``)."""

from __future__ import annotations

from typing import Any

from analysis.reports.data import MetricsBundle

__all__ = ["headline_lines", "trend_section"]


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def headline_lines(trend: Any) -> list[str]:
    """One markdown bullet per metric: previous -> current, the change and its interval.

    "no clear change" where the interval includes 0 (or there is none).

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"label": ["meetings booked per BDR-week"], "previous": [5.0],
    ...     "current": [6.0], "change": [0.2], "ci_low": [-0.05], "ci_high": [0.5]})
    >>> headline_lines(t)[0]
    '- meetings booked per BDR-week: 5 → 6, +20% [-5%, +50%]: **no clear change**'
    """
    lines = []
    for row in trend.iter_rows(named=True):
        if row["previous"] is None or row["current"] is None:
            lines.append(f"- {row['label']}: not enough data in one of the quarters")
            continue
        fmt = "{:.0%}" if row["current"] <= 1 and row["previous"] <= 1 else "{:,.3g}"
        values = f"{fmt.format(row['previous'])} → {fmt.format(row['current'])}"
        lo, hi = row["ci_low"], row["ci_high"]
        if lo is None or hi is None:
            lines.append(f"- {row['label']}: {values}: **no clear change** (no interval)")
            continue
        span = f"{_pct(row['change'])} [{_pct(lo)}, {_pct(hi)}]"
        verdict = "**no clear change**" if lo <= 0 <= hi else ("**up**" if lo > 0 else "**down**")
        lines.append(f"- {row['label']}: {values}, {span}: {verdict}")
    return lines


def trend_section(bundle: MetricsBundle) -> list[str]:
    """Markdown: this quarter against the previous one, or why there is no comparison."""
    trend = bundle.tables.get("team_trend")
    if trend is None or trend.is_empty():
        return [
            "*No comparison with the previous quarter: the data does not cover it.*",
        ]
    head = (
        "**Against the previous quarter** (change with its 95% interval; "
        "'no clear change' where the interval includes 0):"
    )
    return [head + "\n\n" + "\n".join(headline_lines(trend))]
