"""The metrics run: validate once, compute every available metric, write atomically.

This is the edge of the package: it is the only place (besides the CLI and the
report runner) that reads input files and writes outputs. Every transform it
calls is a pure LazyFrame function; each output table is collected once.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from analysis import registry, slices
from analysis.activity_pass import FEED_COLUMNS, ActivityFeed
from analysis.canonical.validate import ValidationResult, validate_dataset, write_validation
from analysis.config import DEFAULTS
from analysis.errors import BadInputError
from analysis.io import atomic_output_dir, write_json, write_table
from analysis.log import get_logger, progress
from analysis.metrics.hygiene import unmeasured_components
from analysis.numeric_settings import numeric_run_settings
from analysis.outputs import check_output_dir
from analysis.periods import DEFAULT_OUTCOME_HORIZON_DAYS, Period, resolve_as_of

_log = get_logger(__name__)


class _Stages:
    """Stage timer with one tqdm progress bar on stderr (shown when enabled and not quiet)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._bar: Any = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._bar is None:  # created at the first stage: bad options fail silently before
            self._bar = progress(enabled=self.enabled, desc="metrics", unit="stage")
        self._bar.set_postfix_str(name)
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.close()
            raise
        self.timings[name] = round(time.perf_counter() - start, 3)
        _log.debug("%s done in %.1fs", name, self.timings[name])
        self._bar.update()

    def close(self) -> None:
        """Close the progress bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()


@numeric_run_settings
def run_metrics(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    period: Period,
    taxonomy: str | Path | None = None,
    tz: str = DEFAULTS.tz,
    fatigue_threshold: int = DEFAULTS.fatigue_threshold,
    min_deals: int = DEFAULTS.min_deals,
    hygiene_threshold: float = DEFAULTS.hygiene_threshold,
    stall_quantile: float = DEFAULTS.stall_quantile,
    progress: bool = False,
    engine: str = "auto",
    as_of: str | datetime | None = None,
    outcome_horizon_days: int = DEFAULT_OUTCOME_HORIZON_DAYS,
) -> dict[str, Any]:
    """Validate ``data_dir`` and write every available metric table into ``out_dir``.

    Writes ``quality.json``, ``quarantine/``, ``clean/`` (the validated canonical
    tables), the contract tables and extras as parquet, and ``run.json`` with
    the period, time zone, thresholds and as-of time. Returns the run.json dict.
    Nothing is written unless the whole run succeeds.

    ``as_of`` (``--as-of``) is the moment the data was exported; by default the latest
    timestamp in the clean data, never later than now (``periods.resolve_as_of``).
    Every censoring decision uses it; run.json records ``as_of`` and ``as_of_source``.
    """
    from analysis.decisions.taxonomy import load_taxonomy

    data_path, out_path = Path(data_dir).resolve(), Path(out_dir).resolve()
    if data_path == out_path or out_path in data_path.parents:
        # the output folder is replaced whole: it must never hold the inputs
        raise BadInputError("--out must not be the data folder or contain it", file=out_dir)
    check_output_dir(out_dir, kind="metrics")  # a file or a foreign folder: exit 2, untouched
    stages = _Stages(enabled=progress)
    tax = load_taxonomy(taxonomy)  # a bad taxonomy fails before any work
    with stages.stage("validate"):
        validation = validate_dataset(data_dir, default_tz=tz)
    written: dict[str, int] = {}
    with atomic_output_dir(out_dir, merge=False) as tmp:
        with stages.stage("quarantine"):
            # One read of the activities validates them and keeps what the row-level
            # metrics need (analysis/activity_pass.py); they get no clean copy.
            feed = _feed_activities(validation, tax, period=period, tmp_work=tmp / _WORK)
            lazy = [t for t in ("activities",) if t in validation.tables]
            quality = write_validation(validation, tmp, lazy_clean=lazy)
        clean = {
            t: pl.scan_parquet(tmp / "clean" / f"{t}.parquet")
            for t in validation.tables
            if t not in lazy
        }
        if lazy:
            clean["activities"] = _clean_activities(
                validation, quality, tmp, fed_rows=feed.rows if feed else None
            )
        reps = clean["reps"]
        latest = dict(clean)
        if feed is not None:  # the latest activity time was seen while validating
            latest["activities"] = pl.LazyFrame(
                {"occurred_at": [feed.latest]}, schema={"occurred_at": pl.Datetime("us", "UTC")}
            )
        as_of_time, as_of_source = resolve_as_of(latest, flag=as_of)

        def emit(name: str, frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
            """Write one registered output table (a LazyFrame is streamed) and scan it back."""
            registry.get(name)  # every output table is declared in analysis/registry.py
            path = tmp / f"{name}.parquet"
            if engine != "auto" and isinstance(frame, pl.LazyFrame):
                frame = frame.collect(engine=engine)  # an explicit engine, e.g. for benchmarks
            written[name] = write_table(frame, path)
            return pl.scan_parquet(path)

        activity_slices = _activity_slices(validation, clean)
        captured = _captured_columns(
            {t: f for t, f in clean.items() if feed is None or t != "activities"},
            {"activities": activity_slices} if activity_slices else None,
        )
        if feed is not None:
            captured["activities"] = sorted(feed.captured)
        unmeasured = unmeasured_components(captured)
        if unmeasured:
            quality["warnings"].append(
                "hygiene components not scored, because their columns are empty in every row "
                "(not in the export, or never recorded): " + ", ".join(unmeasured)
            )
            write_json(tmp / "quality.json", quality)
        hygiene_frame = _outcomes(
            clean,
            reps,
            validation,
            period=period,
            tz=tz,
            min_deals=min_deals,
            hygiene_threshold=hygiene_threshold,
            unmeasured=unmeasured,
            as_of=as_of_time,
            outcome_horizon_days=outcome_horizon_days,
            emit=emit,
            stages=stages,
            feed=feed,
        )
        with stages.stage("process_audit"):
            from analysis.metrics.stages import process_audit

            for name, table in process_audit(
                clean, as_of=as_of_time, stall_quantile=stall_quantile, taxonomy=taxonomy
            ).items():
                emit(name, table)
        _decision_stack(
            clean,
            reps,
            tax,
            period=period,
            fatigue_threshold=fatigue_threshold,
            emit=emit,
            stages=stages,
            hygiene=hygiene_frame,
            written=written,
            tmp=tmp,
            activity_rows=quality["tables"].get("activities", {}).get("clean_rows"),
            activity_slices=activity_slices,
            feed=feed,
        )
        with stages.stage("team_trend"):  # quarter over quarter (issue 14): empty unless covered
            from analysis.impact.trend import trend_or_empty

            trend, note = trend_or_empty(
                clean, period=period, as_of=as_of_time, horizon_days=outcome_horizon_days,
                taxonomy=tax, tz=tz,
            )  # fmt: skip
            emit("team_trend", trend)
            if note:
                quality["warnings"].append(note)
                write_json(tmp / "quality.json", quality)
        with stages.stage("team_summary"):
            emit("team_summary", _team_summary(reps, tmp, written, fatigue_threshold))
        if "activities" in quality["tables"]:
            _record_period_rows(quality, written.get("decisions"))
            write_json(tmp / "quality.json", quality)
        shutil.rmtree(tmp / _WORK, ignore_errors=True)
        teams = sorted(reps.select("team").unique().collect()["team"].to_list())
        run = {
            "period": {
                "label": period.label,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            },
            "tz": tz,
            "as_of": as_of_time.isoformat(),
            "as_of_source": as_of_source,
            "outcome_horizon_days": outcome_horizon_days,
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_dir": str(Path(data_dir).resolve()),
            "taxonomy": str(taxonomy) if taxonomy else "default",
            "thresholds": {
                "fatigue_threshold": fatigue_threshold,
                "min_deals": min_deals,
                "hygiene_threshold": hygiene_threshold,
                "stall_quantile": stall_quantile,
            },
            "teams": teams,
            "tables": dict(sorted(written.items())),
            "unavailable": quality["unavailable"],
            "timings_s": stages.timings,
        }
        write_json(tmp / "run.json", run)
    stages.close()
    return run


_WORK = "_work"  # scratch files of one run, removed before the output is swapped in
#: The parsed clean rows of a CSV activity log, one parquet file per slice (in _WORK).
_PARSED_CSV = "activities"
#: Decision rows sorted at a time (a range of reps): a sort holds ~3x its rows' memory.
SORT_ROWS = 5_000_000


def _feed_activities(
    validation: ValidationResult, taxonomy: Any, *, period: Period, tmp_work: Path
) -> ActivityFeed | None:
    """Validate the activities in one read that also feeds the row-level metrics.

    A CSV input's clean rows, parsed once here, are also written to
    ``tmp_work/activities`` (one parquet file per slice, in input order): the other
    consumers read that instead of parsing the text again (:func:`_clean_activities`).
    """
    from analysis.decisions.materialize import ROWS_PER_PART

    plan = validation.tables.get("activities")
    if plan is None:
        return None
    reps = validation.tables["reps"].resolve()[0].collect()
    try:
        meetings = None
        if "meetings" in validation.tables:
            meetings = (
                validation.tables["meetings"]
                .resolve()[0]
                .select("owner_id", "lead_id", "opportunity_id")
                .collect()
            )
        rows = plan.input_rows()
        feed = ActivityFeed(
            period=period,
            reps=reps,
            meetings=meetings,
            taxonomy=taxonomy,
            decisions=True,
            sort_parts=-(-rows // SORT_ROWS),
            # more rows than one partition holds: each range's rows go to disk as they come
            spill=tmp_work / "decision_rows" if rows > ROWS_PER_PART else None,
        )
        # the feed holds a slice's parsed columns at once (15M activities peak at 2.5
        # GiB in this stage, with the 15M narrow decision rows kept in memory).
        if _read_in_place(plan):
            plan.resolve_feeding(feed, columns=FEED_COLUMNS, step=slices.SLICE_ROWS)
        else:
            spill = tmp_work / _PARSED_CSV
            spill.mkdir(parents=True, exist_ok=True)
            columns = list(plan.columns)
            numbers = itertools.count()

            def spill_and_feed(clean: pl.DataFrame) -> None:
                clean.select(columns).write_parquet(spill / f"part-{next(numbers):06d}.parquet")
                feed(clean)

            plan.resolve_feeding(spill_and_feed, columns=columns, step=slices.CSV_SLICE_ROWS)
    except pl.exceptions.PolarsError as err:
        if "os error 28" in str(err) or "No space left on device" in str(err):
            raise  # a scratch write filled the disk: not the input's fault (exit 1, cli)
        table = "meetings" if "meetings" in validation.tables and meetings is None else "activities"
        raise BadInputError(
            f"unreadable {table} data ({' '.join(str(err).split())[:160]})",
            file=validation.tables[table].raw.path,
        ) from None
    return feed


def _clean_activities(
    validation: ValidationResult,
    quality: dict[str, Any],
    tmp: Path,
    *,
    fed_rows: int | None = None,
) -> pl.LazyFrame:
    """The clean activities as a lazy plan over the input file, without a second copy.

    They are the input rows minus the quarantined ones; each consumer reads only
    the columns it needs (cheap from parquet). A CSV input is parsed once into a
    scratch parquet file instead, so that consumers do not each re-parse the text.
    The plan's row count is checked against the accounting.
    """
    plan = validation.tables["activities"]
    spilled = tmp / _WORK / _PARSED_CSV
    if _read_in_place(plan):
        # The row slices one after the other: the same rows in the same order, but each
        # slice is read on its own, so polars' read-ahead stays bounded (analysis/slices.py).
        view = pl.concat(plan.clean_slices(), how="vertical")
    elif spilled.is_dir():  # written while validating (_feed_activities)
        view = pl.scan_parquet(sorted(spilled.glob("part-*.parquet")))
    else:
        scratch = tmp / _WORK / "activities.parquet"
        scratch.parent.mkdir(parents=True, exist_ok=True)
        pl.concat(plan.clean_slices(), how="vertical").sink_parquet(scratch)
        view = pl.scan_parquet(scratch)
    # rows fed while validating were counted then; a copy is counted again (metadata)
    counted = (
        fed_rows
        if fed_rows is not None and _read_in_place(plan)
        else view.select(pl.len()).collect().item()
    )
    expected = quality["tables"]["activities"]["clean_rows"]
    if counted != expected:  # the accounting invariant, on the rows consumers will read
        raise RuntimeError(f"row accounting broke for activities: {counted} != {expected}")
    return view


def _read_in_place(plan: Any) -> bool:
    """True when the clean activities are read from the input itself (parquet), not a copy."""
    return plan.raw.path.suffix.lower() == ".parquet"


def _activity_slices(
    validation: ValidationResult, clean: dict[str, pl.LazyFrame]
) -> list[pl.LazyFrame] | None:
    """The clean activities as slices of input rows (parquet input: bounded-memory reads)."""
    plan = validation.tables.get("activities")
    if plan is None or not _read_in_place(plan):
        return None  # a CSV input was parsed once into a scratch parquet file: one plan
    return plan.clean_slices()


def _record_period_rows(quality: dict[str, Any], decisions: int | None) -> None:
    """Record how many clean activities fall in the period (the decisions) and outside it."""
    entry = quality["tables"]["activities"]
    entry["clean_copy"] = False
    entry["in_period_rows"] = decisions
    entry["outside_period_rows"] = None if decisions is None else entry["clean_rows"] - decisions


def _team_summary(
    reps: pl.LazyFrame, tmp: Path, written: dict[str, int], fatigue_threshold: int
) -> pl.LazyFrame:
    """``team_summary`` from the tables already written (those not written stay null)."""
    from analysis.metrics.team_summary import team_summary

    sources = registry.get("team_summary").upstream
    tables = {n: pl.scan_parquet(tmp / f"{n}.parquet") for n in sources if n in written}
    return team_summary(reps, fatigue_threshold=fatigue_threshold, **tables)


def _captured_columns(
    clean: dict[str, pl.LazyFrame], slices: dict[str, list[pl.LazyFrame]] | None = None
) -> dict[str, list[str]]:
    """Per clean table, the hygiene source columns holding at least one value."""
    from analysis.metrics.hygiene import COMPONENT_SOURCES

    wanted: dict[str, set[str]] = {}
    for table, columns in COMPONENT_SOURCES.values():
        wanted.setdefault(table, set()).update(columns)
    captured = {}
    for table, columns in wanted.items():
        if table not in clean:
            continue
        found: set[str] = set()
        # slice by slice where the table is large (bounded memory), stopping once all seen
        for part in (slices or {}).get(table) or [clean[table]]:
            todo = sorted(columns - found)
            if not todo:
                break
            row = part.select(pl.col(todo).is_not_null().any()).collect().row(0, named=True)
            found.update(c for c, has_value in row.items() if has_value)
        captured[table] = sorted(found)
    return captured


def _trusted(frame: pl.DataFrame | pl.LazyFrame, hygiene: pl.DataFrame | None) -> pl.LazyFrame:
    """Stamp the hygiene trust flags (``data_trusted``, ``rep_data_trusted``) on a table."""
    from analysis.metrics.hygiene import with_trust

    lf = frame.lazy()
    if hygiene is None:
        return lf
    names = lf.collect_schema().names()
    rep_col = next((c for c in ("rep_id", "bdr_id") if c in names), None)
    if rep_col is not None:
        return with_trust(lf, hygiene.lazy(), rep_col=rep_col)
    teams = hygiene.lazy().filter(pl.col("rep_id").is_null())
    return lf.join(
        teams.select("team", pl.col("trusted").alias("data_trusted")),
        on="team",
        how="left",
        maintain_order="left",
    )


def _outcomes(
    clean: dict[str, pl.LazyFrame],
    reps: pl.LazyFrame,
    validation: ValidationResult,
    *,
    period: Period,
    tz: str,
    min_deals: int,
    hygiene_threshold: float,
    unmeasured: list[str],
    as_of: datetime,
    outcome_horizon_days: int,
    emit: Callable[[str, pl.DataFrame | pl.LazyFrame], pl.LazyFrame],
    stages: _Stages,
    feed: ActivityFeed | None = None,
) -> pl.DataFrame | None:
    from analysis.metrics.funnel import bdr_funnel
    from analysis.metrics.handoffs import handoff_summary, handoffs
    from analysis.metrics.hygiene import hygiene
    from analysis.metrics.skill_gaps import skill_gaps

    unavailable = validation.unavailable()
    meetings, opps, acts = (
        clean.get("meetings"),
        clean.get("opportunities"),
        clean.get("activities"),
    )
    hygiene_frame = None
    if "hygiene" not in unavailable:
        with stages.stage("hygiene"):
            hygiene_frame = hygiene(
                opps,
                None if feed is not None else acts,
                reps,
                period=period,
                threshold=hygiene_threshold,
                unmeasured=unmeasured,
                counted_activities=feed.hygiene_counts() if feed is not None else None,
            ).collect()
            emit("hygiene", hygiene_frame)
    if "bdr_funnel" not in unavailable:
        with stages.stage("bdr_funnel"):
            emit(
                "bdr_funnel",
                _trusted(
                    bdr_funnel(
                        meetings,
                        opps,
                        reps,
                        period=period,
                        tz=tz,
                        as_of=as_of,
                        outcome_horizon_days=outcome_horizon_days,
                    ),
                    hygiene_frame,
                ),
            )
    if "handoffs" not in unavailable:
        with stages.stage("handoffs"):
            touches = feed.touches() if feed is not None else None
            table = handoffs(
                meetings,
                acts if touches is None else touches,
                reps=reps,
                period=period,
                tz=tz,
                as_of=as_of,
            ).collect()
            emit("handoffs", _trusted(table, hygiene_frame))
            emit("handoff_summary", _trusted(handoff_summary(table.lazy()), hygiene_frame))
    if "skill_gaps" not in unavailable:
        with stages.stage("skill_gaps"):
            table = skill_gaps(opps, reps, period=period, min_deals=min_deals, as_of=as_of)
            emit("skill_gaps", _trusted(table, hygiene_frame))
    return hygiene_frame


def _decision_stack(
    clean: dict[str, pl.LazyFrame],
    reps: pl.LazyFrame,
    taxonomy: Any,
    *,
    period: Period,
    fatigue_threshold: int,
    emit: Callable[[str, pl.DataFrame | pl.LazyFrame], pl.LazyFrame],
    stages: _Stages,
    hygiene: pl.DataFrame | None,
    written: dict[str, int],
    tmp: Path,
    activity_rows: int | None,
    activity_slices: list[pl.LazyFrame] | None,
    feed: ActivityFeed | None = None,
) -> None:
    if "activities" not in clean:
        return
    from analysis.decisions.classify import taxonomy_coverage, unmatched_shapes
    from analysis.decisions.fatigue import fatigue_tables
    from analysis.decisions.load import decision_load, rep_load_summary
    from analysis.decisions.materialize import write_decisions

    with stages.stage("classify"):
        # Written one rep partition at a time and scanned back: memory does not grow
        # with the activity count (analysis/decisions/materialize.py).
        registry.get("decisions")
        path = tmp / "decisions.parquet"
        if feed is not None and feed.decision_rows_kept:  # kept while validating
            written["decisions"] = feed.write_decisions(path)
        else:
            written["decisions"] = write_decisions(
                clean["activities"],
                reps,
                path,
                taxonomy=taxonomy,
                period=period,
                activity_rows=activity_rows,
                slices=activity_slices,
            )
        lazy_decisions = pl.scan_parquet(path)
    with stages.stage("decision_load"):
        load = emit("decision_load", decision_load(lazy_decisions, threshold=fatigue_threshold))
        emit("rep_load", _trusted(rep_load_summary(load, threshold=fatigue_threshold), hygiene))
        emit("taxonomy_coverage", taxonomy_coverage(lazy_decisions))
        emit("unmatched_shapes", unmatched_shapes(lazy_decisions))
    with stages.stage("fatigue"):
        fat = fatigue_tables(lazy_decisions)  # one pass: the verdicts and the curve they rest on
        emit("fatigue", _trusted(fat.fatigue, hygiene))
        emit("fatigue_curve", fat.curve)
