"""Small helpers shared by the outcome metrics (period bounds, empty frames)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from analysis.errors import BadInputError
from analysis.periods import Period


def local_midnight_utc(day: date, tz: str) -> datetime:
    """The UTC instant of local midnight starting ``day`` in zone ``tz``.

    Examples
    --------
    >>> local_midnight_utc(date(2026, 7, 1), "America/New_York").isoformat()
    '2026-07-01T04:00:00+00:00'
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInputError(f"unknown time zone {tz!r}") from None
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_bounds(period: Period, tz: str = "UTC") -> tuple[datetime, datetime]:
    """``[start, end)`` of a period as UTC instants, the period's days being local to ``tz``.

    An instant is in the period iff its local date (in ``tz``) is in ``[start, end)``.

    Examples
    --------
    >>> s, e = period_bounds(Period.quarter("2026Q3"), "Europe/Paris")
    >>> s.isoformat(), e.isoformat()
    ('2026-06-30T22:00:00+00:00', '2026-09-30T22:00:00+00:00')
    """
    return local_midnight_utc(period.start, tz), local_midnight_utc(period.end, tz)


def in_window(column: str | pl.Expr, start: datetime, end: datetime) -> pl.Expr:
    """``start <= column < end`` for a UTC datetime column.

    Examples
    --------
    >>> s, e = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC)
    >>> df = pl.DataFrame({"t": [s, e]})
    >>> df.select(in_window("t", s, e))["t"].to_list()
    [True, False]
    """
    c = pl.col(column) if isinstance(column, str) else column
    return (c >= pl.lit(start).dt.cast_time_unit("us")) & (c < pl.lit(end).dt.cast_time_unit("us"))


def date_in_period(column: str | pl.Expr, period: Period) -> pl.Expr:
    """``period.start <= column < period.end`` for a Date column (null -> false).

    Examples
    --------
    >>> df = pl.DataFrame({"d": [date(2026, 7, 1), date(2026, 10, 1), None]})
    >>> df.select(date_in_period("d", Period.quarter("2026Q3")))["d"].to_list()
    [True, False, False]
    """
    c = pl.col(column) if isinstance(column, str) else column
    return ((c >= pl.lit(period.start)) & (c < pl.lit(period.end))).fill_null(False)
