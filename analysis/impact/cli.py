"""The ``decision-stack impact`` command body (kept out of the shared ``cli.py``)."""

from __future__ import annotations

import argparse
from datetime import date

from analysis.errors import BadInputError
from analysis.log import get_logger
from analysis.periods import parse_as_of

_log = get_logger("analysis.impact")


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
        raise BadInputError(
            f"--outcome-horizon-days must be at least 1, got {args.outcome_horizon_days}"
        )
    run = run_impact(
        args.data,
        args.out,
        start=start,
        end=end,
        change_ids=args.changes,
        as_of=parse_as_of(args.as_of) if args.as_of else None,
        horizon_days=args.outcome_horizon_days,
        taxonomy=args.taxonomy,
        tz=args.tz,
        hygiene_threshold=args.hygiene_threshold,
    )
    _log.info(
        "impact of %d change(s) written to %s (as of %s)",
        len(run["changes"]),
        args.out,
        run["as_of"],
    )
    for metric in run["unavailable"]:
        _log.info("  not computed: %s (its tables are missing)", metric)
    if getattr(args, "reports", None) is not None:
        from analysis.reports.impact import render_impact_reports

        return render_impact_reports(args.out, args.reports)
    return 0
