"""Reporting periods: quarters and explicit date ranges (end exclusive)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from analysis.errors import BadInputError

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
