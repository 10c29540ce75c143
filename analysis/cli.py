"""The ``decision-stack`` command line.

Exit status: 0 done; 1 some work failed (named on stderr); 2 bad usage or bad
input (one clear line on stderr, no traceback, nothing half-written).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

# The statsmodels fits are many and small: BLAS threads only contend with polars'
# own thread pool on small machines. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis.errors import BadInputError
from analysis.log import configure, get_logger
from analysis.periods import DEFAULT_OUTCOME_HORIZON_DAYS, Period, last_completed_quarter

_log = get_logger("analysis.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInputError(f"{self.prog}: {message}")


def _period(args: argparse.Namespace) -> Period:
    if getattr(args, "quarter", None):
        if args.start or args.end:
            raise BadInputError("give either --quarter or --start/--end, not both")
        return Period.quarter(args.quarter)
    if args.start and args.end:
        return Period.between(args.start, args.end)
    if args.start or args.end:
        raise BadInputError("--start and --end go together")
    return last_completed_quarter()


def _as_of(args: argparse.Namespace) -> datetime | None:
    """``--as-of`` parsed early, so a bad value exits 2 before any work."""
    from analysis.periods import parse_as_of

    if args.outcome_horizon_days < 1:
        raise BadInputError(
            f"--outcome-horizon-days must be at least 1, got {args.outcome_horizon_days}"
        )
    return parse_as_of(args.as_of) if args.as_of else None


def _add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quarter", help="e.g. 2026Q3 (default: the last completed quarter)")
    p.add_argument("--start", help="first day of the period (YYYY-MM-DD)")
    p.add_argument("--end", help="day after the period (YYYY-MM-DD, exclusive)")


def _add_metric_options(p: argparse.ArgumentParser) -> None:
    from analysis.config import SETTINGS

    p.add_argument("--taxonomy", type=Path, help="decision taxonomy TOML replacing the default")
    p.add_argument(
        "--tz",
        default=SETTINGS["tz"].default,
        help="default IANA time zone for reps without one, and for meetings (default UTC)",
    )
    for name, kind in (
        ("fatigue_threshold", int),
        ("min_deals", int),
        ("hygiene_threshold", float),
        ("stall_quantile", float),
    ):
        setting = SETTINGS[name]
        label = "heuristic: " if setting.heuristic else ""
        p.add_argument(
            setting.flag,
            type=kind,
            default=setting.default,
            help=f"{label}{setting.help} (default {setting.default:g})",
        )
    p.add_argument(
        "--as-of",
        dest="as_of",
        help="when the data was exported (ISO datetime, UTC unless an offset is given); "
        "default: the latest timestamp in the data, never later than now",
    )
    p.add_argument(
        "--outcome-horizon-days",
        type=int,
        default=DEFAULT_OUTCOME_HORIZON_DAYS,
        help="days after booking within which a meeting's win counts "
        f"(default {DEFAULT_OUTCOME_HORIZON_DAYS})",
    )


def _add_impact_options(p: argparse.ArgumentParser) -> None:
    """The metric options ``impact`` shares (taxonomy, tz, hygiene threshold, as-of, horizon)."""
    _add_metric_options(p)
    p.add_argument("--reports", type=Path, help="also render DIR/impact/<change>.html")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="decision-stack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sample-data", help="write the synthetic sample organisation")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quarter", default="2026Q3")
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="size multiplier (1.0 = a few hundred thousand activities)",
    )
    p.add_argument(
        "--previous-quarter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write the quarter before, with a planted rollout (default: yes)",
    )

    p = sub.add_parser(
        "validate", help="validate a canonical dataset: quality.json and quarantine/ only"
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--tz", default="UTC")

    p = sub.add_parser("metrics", help="compute every metric table for a period")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    _add_period(p)
    _add_metric_options(p)

    p = sub.add_parser("report", help="run the quarterly team reports (papermill → HTML)")
    p.add_argument("--data", type=Path, help="canonical dataset folder")
    p.add_argument(
        "--metrics", type=Path, help="reuse an existing metrics folder instead of computing one"
    )
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.add_argument("--team", action="append", dest="teams", help="only this team (repeatable)")
    p.add_argument("--jobs", type=int, default=None, help="parallel notebooks (default: CPU count)")
    _add_period(p)
    _add_metric_options(p)

    p = sub.add_parser("impact", help="did a change help? difference in differences with controls")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--start", help="first day of the analysis window (default: the data's)")
    p.add_argument("--end", help="day after the window (default: the day after as-of)")
    p.add_argument(
        "--change", action="append", dest="changes", help="only this change (repeatable)"
    )
    _add_impact_options(p)

    p = sub.add_parser("tables", help="the registry of output tables: grain, needs, columns")
    p.add_argument(
        "--json", action="store_true", help="a JSON list of {name, grain, needs, columns}"
    )
    p.add_argument("--taxonomy", type=Path, help="taxonomy whose enum categories to show")

    p = sub.add_parser(
        "notebooks", help="write the analyst notebooks (jupytext .py) into a folder for JupyterLab"
    )
    p.add_argument("--to", type=Path, required=True, help="folder to write them into")
    p.add_argument("--force", action="store_true", help="replace notebooks already there")

    p = sub.add_parser("ingest", help="turn CRM exports into a canonical dataset")
    src = p.add_subparsers(dest="source", required=True, parser_class=_Parser)
    for name, help_ in (
        ("salesforce", "Salesforce Data Export / Data Loader CSVs"),
        ("hubspot", "HubSpot CSV exports"),
    ):
        s = src.add_parser(name, help=help_)
        s.add_argument("--in", dest="in_dir", type=Path, required=True)
        s.add_argument("--out", type=Path, required=True)
        s.add_argument(
            "--reps", type=Path, help="reps CSV (rep_id, role, team, timezone) overriding roles"
        )
        s.add_argument(
            "--roles", type=Path, help="roles TOML mapping role names to BDR/AE and teams"
        )
        s.add_argument("--tz", default="UTC")
    s = src.add_parser("mapped", help="any CSVs through a TOML column mapping")
    s.add_argument("--mapping", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s = src.add_parser("sql", help="Fivetran-style Salesforce tables in a SQL warehouse")
    s.add_argument("--uri", required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--schema", default=None)
    s.add_argument("--reps", type=Path)
    s.add_argument("--roles", type=Path)
    s.add_argument("--tz", default="UTC")
    _add_period(s)
    _add_quiet(parser)
    return parser


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command ``--quiet``: warnings and errors only, no progress bar."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_quiet(sub)
            return
    if "--quiet" not in parser._option_string_actions:
        parser.add_argument(
            "--quiet", action="store_true", help="warnings and errors only, no progress bar"
        )


def _run(args: argparse.Namespace) -> int:
    configure(quiet=getattr(args, "quiet", False))
    if args.command == "sample-data":
        from analysis.sample.generate import generate_sample

        info = generate_sample(
            args.out,
            seed=args.seed,
            quarter=args.quarter,
            scale=args.scale,
            previous_quarter=args.previous_quarter,
        )
        _log.info("sample data written to %s (%s)", args.out, _rows(info))
        return 0
    if args.command == "validate":
        from analysis.canonical.validate import validate_dataset, write_validation
        from analysis.io import atomic_output_dir

        result = validate_dataset(args.data, default_tz=args.tz)
        with atomic_output_dir(args.out) as tmp:
            quality = write_validation(result, tmp, keep_clean=False)
        bad = sum(t["quarantined_rows"] for t in quality["tables"].values())
        _log.info(
            "validated %s: %s row(s) quarantined; see %s", args.data, bad, args.out / "quality.json"
        )
        return 0
    if args.command == "metrics":
        from analysis.pipeline import run_metrics

        run = run_metrics(
            args.data,
            args.out,
            period=_period(args),
            taxonomy=args.taxonomy,
            tz=args.tz,
            fatigue_threshold=args.fatigue_threshold,
            min_deals=args.min_deals,
            hygiene_threshold=args.hygiene_threshold,
            stall_quantile=args.stall_quantile,
            progress=not args.quiet,
            as_of=_as_of(args),
            outcome_horizon_days=args.outcome_horizon_days,
        )
        _log.info("metrics for %s written to %s", run["period"]["label"], args.out)
        for level, line in _metrics_summary(Path(args.out)):
            _log.log(level, "  %s", line)
        return 0
    if args.command == "report":
        from analysis.reports.runner import run_reports

        if args.data is None and args.metrics is None:
            raise BadInputError("report needs --data DIR (or --metrics DIR)")
        return run_reports(
            args.data,
            period=_period(args),
            out_dir=args.out,
            teams=args.teams,
            jobs=args.jobs,
            metrics_dir=args.metrics,
            progress=not args.quiet,
            metrics_options={
                "taxonomy": args.taxonomy,
                "tz": args.tz,
                "fatigue_threshold": args.fatigue_threshold,
                "min_deals": args.min_deals,
                "hygiene_threshold": args.hygiene_threshold,
                "stall_quantile": args.stall_quantile,
                "as_of": _as_of(args),
                "outcome_horizon_days": args.outcome_horizon_days,
            },
        )
    if args.command == "impact":
        from analysis.impact.cli import run_impact_command

        return run_impact_command(args)

    if args.command == "tables":
        return _tables(args)
    if args.command == "notebooks":
        from analysis.reports.templates import write_notebooks

        written = write_notebooks(args.to, force=args.force)
        _log.info(
            "%d notebooks written to %s: %s (open them in JupyterLab with jupytext)",
            len(written),
            args.to,
            ", ".join(p.name for p in written),
        )
        return 0
    if args.command == "ingest":
        return _ingest(args)
    raise BadInputError(f"unknown command {args.command}")


def _tables(args: argparse.Namespace) -> int:
    """Print the registry of output tables (``--json``: machine-readable, on stdout)."""
    import json

    from analysis.decisions.taxonomy import load_taxonomy
    from analysis.registry import manifest

    entries = manifest(taxonomy=load_taxonomy(args.taxonomy) if args.taxonomy else None)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        print(f"{entry['name']}  (one row per {entry['grain']})")
        print(f"  {entry['description']}")
        print(f"  needs: {', '.join(entry['needs'])}; produced by {entry['producer']}")
        for column in entry["columns"]:
            print(f"    {column['name']}: {column['type']}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    if args.source == "salesforce":
        from analysis.ingest.salesforce import ingest_salesforce

        info = ingest_salesforce(
            args.in_dir, args.out, reps_csv=args.reps, roles=args.roles, tz=args.tz
        )
    elif args.source == "hubspot":
        from analysis.ingest.hubspot import ingest_hubspot

        info = ingest_hubspot(
            args.in_dir, args.out, reps_csv=args.reps, roles=args.roles, tz=args.tz
        )
    elif args.source == "mapped":
        from analysis.ingest.mapped import ingest_mapped

        info = ingest_mapped(args.mapping, args.out)
    else:
        from analysis.ingest.sql import ingest_sql

        period = _period(args) if (args.quarter or args.start) else None
        info = ingest_sql(
            args.uri,
            args.out,
            schema=args.schema,
            start=period.start if period else None,
            end=period.end if period else None,
            reps_csv=args.reps,
            roles=args.roles,
            tz=args.tz,
        )
    for warning in info.get("warnings", []) if isinstance(info, dict) else []:
        _log.warning("warning: %s", warning)
    _log.info("canonical dataset written to %s", args.out)
    return 0


def _metrics_summary(out: Path) -> list[tuple[int, str]]:
    """A few (log level, line) an analyst reads first: quarantine, unavailable metrics, trust.

    Unavailable metrics, data warnings and untrusted teams are warnings (shown even with
    ``--quiet``); the untrusted teams come from ``team_summary``.
    """
    import json
    import logging

    import polars as pl

    quality = json.loads((out / "quality.json").read_text())
    tables = quality["tables"]
    bad = sum(t["quarantined_rows"] for t in tables.values())
    total = sum(t["input_rows"] for t in tables.values())
    info, warn = logging.INFO, logging.WARNING
    lines = [(info, f"quarantined {bad:,} of {total:,} input rows (reasons in quality.json)")]
    lines += [
        (warn, f"not computed: {m} (needs {', '.join(t)})")
        for m, t in quality["unavailable"].items()
    ]
    lines += [(warn, f"warning: {w}") for w in quality["warnings"]]
    if (out / "team_summary.parquet").exists():
        teams = pl.read_parquet(out / "team_summary.parquet").filter(
            ~pl.col("trusted").fill_null(True)
        )
        for team, score in teams.select("team", "hygiene_score").iter_rows():
            lines.append((warn, f"untrusted data: {team} (hygiene score {score:.0f})"))
    return lines


def _rows(info: object) -> str:
    if isinstance(info, dict) and isinstance(info.get("input_rows"), dict):
        return ", ".join(f"{k}: {v:,} rows" for k, v in info["input_rows"].items())
    return "done"


def _uri_secrets(argv: Sequence[str]) -> set[str]:
    """Credentials in any ``--uri`` value: masked in every message this command prints."""
    from analysis.redact import uri_secrets

    found: set[str] = set()
    for i, arg in enumerate(argv):
        if arg == "--uri" and i + 1 < len(argv):
            found |= uri_secrets(argv[i + 1])
        elif arg.startswith("--uri="):
            found |= uri_secrets(arg[len("--uri=") :])
    return found


def _os_failure(err: BaseException) -> str | None:
    """One line for a disk-full or permission error (exit 1), else None."""
    import errno

    from analysis.outputs import os_error_message

    if isinstance(err, OSError) and err.errno in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    ):
        return os_error_message(err)
    text = str(err)
    if "No space left on device" in text or "os error 28" in text:
        return "disk full (no space left on device); free some space and run again"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``decision-stack`` console script.

    Exit 2 with one line for bad usage or bad input; exit 1 with one line for a full
    disk or a permission error (outputs are replaced only by complete runs, so the
    previous ones are intact). Credentials given with ``--uri`` never appear in a message.
    """
    import polars as pl

    from analysis.redact import scrub

    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = _uri_secrets(arguments)

    def fail(message: object, status: int) -> int:
        print(f"decision-stack: error: {scrub(str(message), secrets)}", file=sys.stderr)
        return status

    try:
        args = build_parser().parse_args(arguments)
        return _run(args)
    except BadInputError as err:
        return fail(err, 2)
    except (pl.exceptions.PolarsError, OSError, UnicodeError) as err:
        if os.environ.get("DECISION_STACK_DEBUG"):
            raise
        failure = _os_failure(err)
        if failure is not None:
            return fail(failure, 1)
        return fail(" ".join(str(err).split())[:300], 2)
    except KeyboardInterrupt:
        print("decision-stack: interrupted", file=sys.stderr)
        return 130
    finally:
        configure(quiet=False)  # --quiet lasts one command (main may run in a longer process)


if __name__ == "__main__":
    sys.exit(main())
