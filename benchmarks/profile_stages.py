"""Profile the metrics pipeline piece by piece (wall and CPU seconds per operation).

Usage::

    .venv/bin/python benchmarks/profile_stages.py --data benchmarks/out/data/15000000

Runs validation once into a scratch folder, then times each transform of the
pipeline on the clean tables separately, plus the sub-steps of the biggest
ones (local day, taxonomy rules, ``seq_in_day``, the final sort, the parquet
write), so that the slow operation, not just the slow stage, is visible.
Polars 2.x removed ``LazyFrame.profile()``, hence explicit timing around
``collect``. CPU seconds (``time.process_time``, all threads) are less
sensitive than wall time to other work on the machine.

It times each transform on its own, reading the clean tables each time; the pipeline
itself reads the activity log once and feeds every row-level metric (issue 16), so its
stage times are those of ``run.json`` (``timings_s``) and of ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import polars as pl  # noqa: E402

from analysis.periods import Period  # noqa: E402

ROWS: list[dict[str, Any]] = []


def timed(name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; record and print its wall and CPU seconds."""
    t, c = time.perf_counter(), time.process_time()
    try:
        out = fn()
        err = None
    except Exception as exc:  # keep profiling the other pieces
        out, err = None, f"{type(exc).__name__}: {exc}"[:200]
    row = {
        "step": name,
        "wall_s": round(time.perf_counter() - t, 2),
        "cpu_s": round(time.process_time() - c, 2),
        "error": err,
    }
    ROWS.append(row)
    print(
        f"{name:55s} wall {row['wall_s']:7.2f}s  cpu {row['cpu_s']:7.2f}s"
        + (f"  {err}" if err else ""),
        flush=True,
    )
    return out


def profile_validation(data: Path, scratch: Path) -> None:
    from analysis.canonical.validate import validate_dataset, write_validation

    result = timed("validate: plan (scan + reps)", lambda: validate_dataset(data))
    raw = result.tables["activities"].raw.frame
    timed(
        "  activities: raw copy to parquet (I/O floor)",
        lambda: raw.sink_parquet(scratch / "copy.parquet"),
    )
    cols = list(result.tables["activities"].raw.columns)
    timed(
        "  activities: exact-duplicate window min(row).over(all cols)",
        lambda: (
            raw.with_row_index("r")
            .select((pl.col("r") == pl.col("r").min().over(cols)).sum())
            .collect()
        ),
    )
    timed(
        "  activities: struct(all cols).is_first_distinct()",
        lambda: raw.select(pl.struct(cols).is_first_distinct().sum()).collect(),
    )
    timed(
        "  activities: key window min(row).over(activity_id)",
        lambda: (
            raw.with_row_index("r")
            .select((pl.col("r") == pl.col("r").min().over("activity_id")).sum())
            .collect()
        ),
    )
    timed(
        "  activities: activity_id.is_first_distinct()",
        lambda: raw.select(pl.col("activity_id").is_first_distinct().sum()).collect(),
    )
    timed(
        "validate: write_validation (quarantine stage)",
        lambda: write_validation(result, scratch / "run"),
    )


def profile_decisions(scratch: Path, period: Period) -> None:
    from analysis.decisions import classify as cl
    from analysis.decisions.classify import classify_activities, local_day

    rule_expr = getattr(cl, "rule_index_expr", None) or getattr(cl, "rule_id_expr", None)
    from analysis.decisions.taxonomy import load_taxonomy

    clean = scratch / "run" / "clean"
    acts = pl.scan_parquet(clean / "activities.parquet")
    reps = pl.scan_parquet(clean / "reps.parquet")
    tax = load_taxonomy(None)
    zones = reps.select(pl.col("timezone").unique()).collect().to_series().to_list()
    joined = acts.join(reps.select("rep_id", "team", "role", "timezone"), on="rep_id")
    timed(
        "classify: join reps + local_day (count)",
        lambda: joined.select(local_day(zones).null_count()).collect(),
    )
    typed = acts.with_columns(
        _type=pl.col("activity_type").str.to_lowercase(),
        _outcome=pl.col("outcome").str.to_lowercase(),
    )
    timed(
        "classify: taxonomy when/then chain on every row",
        lambda: typed.select(rule_expr(tax).null_count()).collect(),
    )
    shapes = typed.select("_type", "_outcome", "subject").unique()
    timed(
        "classify: same chain on distinct (type, outcome, subject)",
        lambda: (
            shapes.with_columns(rule_expr(tax).alias("rule_id"))
            .join(typed, on=["_type", "_outcome", "subject"], how="right", nulls_equal=True)
            .select(pl.col("rule_id").null_count())
            .collect()
        ),
    )
    timed(
        "classify: seq_in_day int_range.over(order_by) only",
        lambda: (
            joined.with_columns(local_day(zones))
            .select(
                pl.int_range(1, pl.len() + 1)
                .over(["rep_id", "day"], order_by=["occurred_at", "activity_id"])
                .max()
            )
            .collect()
        ),
    )
    plan = classify_activities(acts, reps, taxonomy=tax, period=period)
    decisions = timed("classify: classify_activities().collect()", plan.collect)
    if decisions is not None:
        shuffled = decisions.sample(fraction=1.0, shuffle=True, seed=0)
        timed(
            "classify: sort shuffled rows by (rep_id, day, seq_in_day)",
            lambda: shuffled.sort(["rep_id", "day", "seq_in_day"]),
        )
        packed = shuffled.with_columns(
            _k=pl.col("rep_id").rank("dense").cast(pl.Int64) * (1 << 43)
            + pl.col("day").cast(pl.Int64) * (1 << 26)
            + pl.col("seq_in_day").cast(pl.Int64)
        )
        timed("classify: sort shuffled rows by one packed Int64 key", lambda: packed.sort("_k"))
        del shuffled, packed
    timed(
        "classify: write decisions.parquet",
        lambda: decisions.write_parquet(scratch / "decisions.parquet"),
    )
    lazy = decisions.lazy()
    from analysis.decisions.load import decision_load

    timed("decision_load: collect", lambda: decision_load(lazy, threshold=45).collect())
    from analysis.decisions.fatigue import fatigue, fatigue_cells

    counts = timed(
        "fatigue: fatigue_cells collect (rows -> rep-day x seq x hour counts)",
        lambda: fatigue_cells(lazy).collect(),
    )
    if counts is not None:
        print(f"  fatigue counts table: {counts.height} rows", flush=True)
    timed("fatigue: fatigue(decisions) end to end (counts + fits)", lambda: fatigue(lazy))


def profile_outcomes(scratch: Path, period: Period) -> None:
    clean = scratch / "run" / "clean"
    scan = {p.stem: pl.scan_parquet(p) for p in clean.glob("*.parquet")}
    try:
        from analysis.metrics.handoffs import handoffs

        timed(
            "handoffs: collect",
            lambda: handoffs(
                scan["meetings"], scan["activities"], period=period, reps=scan["reps"]
            ).collect(),
        )
    except ImportError as err:
        print(f"handoffs: {err}")
    try:
        from analysis.metrics.hygiene import hygiene

        timed(
            "hygiene: collect",
            lambda: hygiene(
                scan["opportunities"], scan["activities"], scan["reps"], period=period
            ).collect(),
        )
    except ImportError as err:
        print(f"hygiene: {err}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None, help="write the timings as JSON here")
    parser.add_argument("--skip-validation-detail", action="store_true")
    args = parser.parse_args(argv)
    period = Period.quarter("2026Q3")
    scratch = Path(tempfile.mkdtemp(prefix="ds-profile-"))
    try:
        if args.skip_validation_detail:
            from analysis.canonical.validate import validate_dataset, write_validation

            timed(
                "validate + write_validation",
                lambda: write_validation(validate_dataset(args.data), scratch / "run"),
            )
        else:
            profile_validation(args.data, scratch)
        profile_decisions(scratch, period)
        profile_outcomes(scratch, period)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(ROWS, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
