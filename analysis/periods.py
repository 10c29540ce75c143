"""Reporting periods: quarters and explicit date ranges (end exclusive)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from analysis.config import DEFAULTS
from analysis.errors import BadInputError

if TYPE_CHECKING:
    import polars as pl

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A half-open date range ``[start, end)`` in local dates.

    Examples
    --------
    >>> Period.quarter("2026Q3")
    Period(start=datetime.date(2026, 7, 1), end=datetime.date(2026, 10, 1), label='2026Q3')
    """

    start: date
    end: date
    label: str

    @classmethod
    def quarter(cls, text: str) -> Period:
        """Parse ``2026Q3`` into 2026-07-01 up to (not including) 2026-10-01."""
        match = _QUARTER.match(text.strip())
        if not match:
            raise BadInputError(f"bad quarter {text!r}: expected e.g. 2026Q3")
        year, q = int(match[1]), int(match[2])
        start = date(year, 3 * q - 2, 1)
        end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        return cls(start, end, f"{year}Q{q}")

    @classmethod
    def between(cls, start: str | date, end: str | date) -> Period:
        """An explicit range; ``end`` is exclusive."""
        try:
            s = start if isinstance(start, date) else date.fromisoformat(str(start))
            e = end if isinstance(end, date) else date.fromisoformat(str(end))
        except ValueError as err:
            raise BadInputError(f"bad date: {err}") from None
        if e <= s:
            raise BadInputError(f"--end {e} must be after --start {s}")
        return cls(s, e, f"{s.isoformat()}_{e.isoformat()}")

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day inside the period."""
        return self.end - timedelta(days=1)


def last_completed_quarter(today: date | None = None) -> Period:
    """The most recent quarter that has fully ended.

    Examples
    --------
    >>> last_completed_quarter(date(2026, 11, 23)).label
    '2026Q3'
    """
    today = today or date.today()
    q = (today.month - 1) // 3 + 1
    year, q = (today.year - 1, 4) if q == 1 else (today.year, q - 1)
    return Period.quarter(f"{year}Q{q}")


#: Days after booking within which a meeting's outcome is judged (``--outcome-horizon-days``).
DEFAULT_OUTCOME_HORIZON_DAYS: int = DEFAULTS.outcome_horizon_days  # analysis/config.py

#: Canonical timestamp columns whose latest value is the data's as-of time (CONTRACT 5.1).
AS_OF_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": ("occurred_at",),
    "meetings": ("booked_at",),
    "opportunities": ("created_at", "closed_at"),
    "stage_history": ("entered_at",),
}


def parse_as_of(text: str | date | datetime) -> datetime:
    """An ``--as-of`` value as an aware UTC datetime (naive text is UTC; a date is its midnight).

    Examples
    --------
    >>> parse_as_of("2026-10-02T08:30:00+02:00").isoformat()
    '2026-10-02T06:30:00+00:00'
    >>> parse_as_of("2026-10-02").isoformat()
    '2026-10-02T00:00:00+00:00'
    """
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, date):
        moment = datetime.combine(text, time(0))
    else:
        raw = str(text).strip()
        try:
            moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
        except ValueError:
            raise BadInputError(
                f"bad --as-of {text!r}: expected an ISO datetime, e.g. 2026-10-01T00:00:00Z"
            ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def data_as_of(tables: Mapping[str, pl.LazyFrame], *, now: datetime | None = None) -> datetime:
    """The latest timestamp in the data (``AS_OF_COLUMNS``), never later than ``now``.

    A date column (``closed_at``) counts as its midnight UTC. Without any timestamp in
    the data, ``now``.

    Examples
    --------
    >>> import polars as pl
    >>> acts = pl.LazyFrame({"occurred_at": [datetime(2026, 9, 30, 17, tzinfo=UTC)]})
    >>> data_as_of({"activities": acts}, now=datetime(2026, 11, 1, tzinfo=UTC)).isoformat()
    '2026-09-30T17:00:00+00:00'
    """
    import polars as pl

    now = now or datetime.now(UTC)
    exprs = []
    plans = []
    for table, columns in AS_OF_COLUMNS.items():
        frame = tables.get(table)
        if frame is None:
            continue
        names = frame.collect_schema().names()
        exprs = [
            pl.col(c).cast(pl.Datetime("us", "UTC")).max().alias(c) for c in columns if c in names
        ]
        if exprs:
            plans.append(frame.select(exprs))
    latest: list[datetime] = []
    for frame in pl.collect_all(plans) if plans else []:
        latest += [v for v in frame.row(0) if v is not None]
    best = max(latest, default=now)
    return min(best, now)


def resolve_as_of(
    tables: Mapping[str, pl.LazyFrame],
    *,
    flag: str | date | datetime | None = None,
    now: datetime | None = None,
) -> tuple[datetime, str]:
    """The run's as-of time and its source: (``--as-of``, ``"flag"``) or (latest data, ``"data"``).

    Every censoring decision (untouched meetings, open deals, deals still in a stage)
    uses it. Call once per run with the clean canonical tables.

    Examples
    --------
    >>> resolve_as_of({}, flag="2026-10-01")
    (datetime.datetime(2026, 10, 1, 0, 0, tzinfo=datetime.timezone.utc), 'flag')
    """
    if flag is not None and str(flag).strip():
        return parse_as_of(flag), "flag"
    return data_as_of(tables, now=now), "data"
