"""How every number in a report is written: one module, used by tables, sections and plots.

Shares as whole percentages, counts with thousands separators, an estimate with its
interval as ``31% (24–39%)``, ``too few`` where the evidence is below the floor, and
``—`` for null (no evidence, never 0).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "NULL",
    "TOO_FEW",
    "fmt_count",
    "fmt_interval",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "is_missing",
]

#: shown where there is no evidence (null), never 0
NULL = "—"
#: shown where the evidence is below the floor (e.g. fewer closed deals than --min-deals)
TOO_FEW = "too few"


def is_missing(x: Any) -> bool:
    """True for ``None`` and NaN (polars nulls arrive as ``None``).

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing("a")
    (True, True, False, False)
    """
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        try:  # pandas NA/NaT, if a caller still passes pandas values
            import pandas as pd

            return bool(pd.isna(x))
        except (ImportError, TypeError, ValueError):
            return False


def _pct_number(x: Any, digits: int) -> str:
    value = float(x) * 100
    if abs(value) < 0.5 * 10**-digits:  # no "-0%" from floating-point dust
        value = 0.0
    return f"{value:.{digits}f}"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """A share (0-1) as a percentage; null as ``—``.

    Examples
    --------
    >>> fmt_pct(0.314), fmt_pct(None), fmt_pct(0.0), fmt_pct(0.0512, 1)
    ('31%', '—', '0%', '5.1%')
    """
    return NULL if is_missing(x) else f"{_pct_number(x, digits)}%"


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; null as ``—``.

    Examples
    --------
    >>> fmt_num(3.14159), fmt_num(float("nan")), fmt_num(1234.5, 0)
    ('3.1', '—', '1,234')
    """
    return NULL if is_missing(x) else f"{float(x):,.{digits}f}"


def fmt_count(x: Any) -> str:
    """An integer count with thousands separators; null as ``—``.

    Examples
    --------
    >>> fmt_count(12345), fmt_count(None), fmt_count(0)
    ('12,345', '—', '0')
    """
    return NULL if is_missing(x) else f"{int(x):,}"


def fmt_p(x: Any) -> str:
    """A p-value with three significant digits; null as ``—``.

    Examples
    --------
    >>> fmt_p(0.012345), fmt_p(None)
    ('0.0123', '—')
    """
    return NULL if is_missing(x) else f"{float(x):.3g}"


def fmt_interval(est: Any, low: Any, high: Any, *, pct: bool = True, digits: int = 0) -> str:
    """``31% (24–39%)``; the estimate alone when the interval is missing; null as ``—``.

    Examples
    --------
    >>> fmt_interval(0.31, 0.24, 0.39)
    '31% (24–39%)'
    >>> fmt_interval(44.0, 38.0, 51.0, pct=False)
    '44 (38–51)'
    >>> fmt_interval(None, 0.1, 0.2), fmt_interval(0.5, None, None)
    ('—', '50%')
    """
    if is_missing(est):
        return NULL
    if pct:
        e = fmt_pct(est, digits)
        if is_missing(low) or is_missing(high):
            return e
        return f"{e} ({_pct_number(low, digits)}–{_pct_number(high, digits)}%)"
    e = fmt_num(est, digits)
    if is_missing(low) or is_missing(high):
        return e
    return f"{e} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"
