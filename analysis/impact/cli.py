"""The ``decision-stack impact`` command body (kept out of the shared ``cli.py``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from analysis.errors import BadInputError


def parse_as_of(text: str | None) -> datetime | None:
    """``--as-of``: an ISO 8601 date or datetime; naive means UTC.

    Examples
    --------
    >>> parse_as_of("2026-10-01").isoformat()
    '2026-10-01T00:00:00+00:00'
    >>> parse_as_of("2026-09-30T18:00:00+02:00").isoformat()
    '2026-09-30T16:00:00+00:00'
    """
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(f"bad --as-of {text!r}: expected e.g. 2026-10-01T00:00:00Z") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"bad {flag} {text!r}: expected YYYY-MM-DD") from None


def run_impact_command(args: argparse.Namespace) -> int:
    """Run ``impact`` from parsed arguments."""
    from analysis.impact.run import run_impact

    start, end = _day(args.start, "--start"), _day(args.end, "--end")
    if (start is None) != (end is None):
        raise BadInputError("--start and --end go together")
    if start is not None and end is not None and end <= start:
        raise BadInputError(f"--end {end} must be after --start {start}")
    if args.outcome_horizon_days < 1:
        raise BadInputError("--outcome-horizon-days must be at least 1")
    run = run_impact(
        args.data,
        args.out,
        start=start,
        end=end,
        change_ids=args.changes,
        as_of=parse_as_of(args.as_of),
        horizon_days=args.outcome_horizon_days,
        taxonomy=args.taxonomy,
        tz=args.tz,
        hygiene_threshold=args.hygiene_threshold,
    )
    print(
        f"impact of {len(run['changes'])} change(s) written to {args.out} (as of {run['as_of']})",
        file=sys.stderr,
    )
    for metric in run["unavailable"]:
        print(f"  not computed: {metric} (its tables are missing)", file=sys.stderr)
    return 0
