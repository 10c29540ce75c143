"""The row-level work of ``metrics`` written by hand in eager polars, as a yardstick.

Reads every activity column, strips the text, hashes the ids (duplicates), joins the
reps, takes the local day and hour per zone, keeps the quarter, sorts, numbers
``seq_in_day``, writes a decisions-like table and counts per rep-day. No quarantine,
no classification rules, no statistics: what any implementation of the pipeline's row
work must at least do. Compare its total with the ``floor`` and ``metrics`` of
``run.py`` on the same files (benchmarks/README.md).

Usage::

    .venv/bin/python benchmarks/handwritten_minimum.py --data benchmarks/out/data/15000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from analysis.canonical.schemas import polars_schema

#: The text columns of the canonical activities (stripped, as validation does).
TEXT = [c for c, dtype in polars_schema("activities").items() if dtype == pl.String]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)
    steps: dict[str, float] = {}
    t0 = c0 = time.perf_counter()
    cpu0 = time.process_time()

    def mark(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        steps[name] = round(now - t0, 2)
        t0 = now

    reps = (
        pl.read_parquet(args.data / "reps.parquet")
        .select("rep_id", "team", "timezone")
        .sort("rep_id")
        .with_row_index("rank")
    )
    zones = reps["timezone"].unique().sort().to_list()
    df = (
        pl.scan_parquet(args.data / "activities.parquet")
        .with_row_index("__row")
        .with_columns(pl.col(c).str.strip_chars().replace("", None) for c in TEXT)
        .with_columns(
            pl.col("activity_type").str.to_lowercase(),
            missing=pl.col("activity_id").is_null()
            | pl.col("rep_id").is_null()
            | pl.col("occurred_at").is_null(),
            key_hash=pl.col("activity_id").hash(),
        )
        .collect()
    )
    mark("read + strip + checks")
    duplicates = df.select(pl.col("key_hash").is_duplicated().sum()).item()
    mark("duplicate hashes")
    local: pl.Expr = pl.lit(None, pl.Datetime("us"))
    for zone in zones:
        here = pl.col("occurred_at").dt.convert_time_zone(zone).dt.replace_time_zone(None)
        local = pl.when(pl.col("timezone") == zone).then(here).otherwise(local)
    df = (
        df.join(reps, on="rep_id", how="left")
        .with_columns(local=local)
        .with_columns(day=pl.col("local").dt.date(), local_hour=pl.col("local").dt.hour())
        .filter(pl.col("day").is_between(date(2026, 7, 1), date(2026, 9, 30)))
    )
    mark("join reps + local day")
    df = df.sort("rank", "day", "occurred_at").with_columns(
        seq_in_day=pl.int_range(1, pl.len() + 1).over("rank", "day")
    )
    mark("sort + seq_in_day")
    with tempfile.TemporaryDirectory() as tmp:
        df.select(
            "activity_id", "rep_id", "team", "day", "seq_in_day", "occurred_at",
            "activity_type", "outcome", "subject", "local_hour",
        ).write_parquet(Path(tmp) / "decisions.parquet", compression="zstd", compression_level=1)  # fmt: skip
    mark("write decisions")
    df.group_by("rep_id", "day").agg(pl.len())
    mark("count per rep-day")
    total, cpu = time.perf_counter() - c0, time.process_time() - cpu0
    for name, seconds in steps.items():
        print(f"{name:28s} {seconds:6.2f} s")
    print(f"{'total':28s} {total:6.2f} s ({cpu:.1f} CPU s; {df.height:,} rows, {duplicates} dup)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
