"""Write the ``decisions`` table in bounded memory (the pipeline's edge for the largest table).

:func:`analysis.decisions.classify.classify_activities` is one lazy plan; its sort
needs every row of the period at once, so memory grows with the activity count
(13 GiB at 100M activities). Here the same two halves (``decision_rows`` then
``order_decisions``) run once per *rep partition*: contiguous ranges of reps (in
``rep_id`` order) holding about ``rows_per_part`` activities each. The sort key
starts with the rep, so writing the partitions one after the other gives exactly
the table the single plan gives, row for row. Peak memory then depends on the
partition size, not on the number of activities; at most sizes there is one
partition and nothing changes.

Examples
--------
>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from analysis.decisions.taxonomy import load_taxonomy
>>> from analysis.periods import Period
>>> acts = pl.LazyFrame({
...     "activity_id": ["a1", "a2", "a3"], "rep_id": ["r1", "r2", "r1"],
...     "occurred_at": [datetime(2026, 7, 2, 9), datetime(2026, 7, 2, 10), datetime(2026, 7, 2, 8)],
...     "activity_type": ["call", "email", "call"], "outcome": ["positive", None, "negative"],
...     "subject": ["Discovery", "Follow-up", "Discovery"],
... }).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
>>> reps = pl.LazyFrame({"rep_id": ["r1", "r2"], "team": ["W", "W"], "role": ["AE", "BDR"],
...                      "timezone": ["UTC", "UTC"]})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "decisions.parquet"
>>> write_decisions(acts, reps, path, taxonomy=load_taxonomy(), period=Period.quarter("2026Q3"),
...                 rows_per_part=1)
3
>>> pl.read_parquet(path).select("activity_id", "rep_id", "seq_in_day").rows()
[('a3', 'r1', 1), ('a1', 'r1', 2), ('a2', 'r2', 1)]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import polars as pl

from analysis.decisions.classify import (
    DecisionLayout,
    activity_shapes,
    decision_rows,
    name_decisions,
    rep_keys,
    shape_columns,
    sort_decisions,
)
from analysis.decisions.taxonomy import Taxonomy
from analysis.log import get_logger
from analysis.periods import Period

_log = get_logger(__name__)

#: Activities per rep partition: only narrow rows are sorted (about 0.1 GB per million)
#: and named a chunk at a time, so 15M activities take one partition at ~2.5 GiB peak
#: for the whole run (benchmarks/README.md has the measurements). Above it the pipeline's
#: activity feed keeps the decision rows on disk by range of reps
#: (:class:`analysis.activity_pass.ActivityFeed`); this module's own partitions serve a
#: taxonomy that needs a rep's whole history, and callers without the feed.
ROWS_PER_PART = 16_000_000
#: zstd level of the decisions file: level 1 encodes 15M rows in ~20% less CPU than the
#: default (3) for a ~10% larger file (benchmarks/README.md).
ZSTD_LEVEL = 1
#: Rows named and written at a time (also the row-group size of the decisions file).
CHUNK_ROWS = 1_000_000


def rep_partitions(counts: pl.DataFrame, *, rows_per_part: int) -> list[tuple[int, int]]:
    """Contiguous ``(first, last)`` rep-rank ranges of about ``rows_per_part`` activities.

    ``counts`` holds ``_rep_rank`` and ``n`` (activities per rep). A rep is never split.

    Examples
    --------
    >>> c = pl.DataFrame({"_rep_rank": [1, 2, 3, 4], "n": [5, 5, 5, 1]})
    >>> rep_partitions(c, rows_per_part=10)
    [(1, 2), (3, 4)]
    >>> rep_partitions(c, rows_per_part=100)
    [(1, 4)]
    """
    ranges: list[tuple[int, int]] = []
    first, last, total = None, 0, 0
    for rank, n in counts.sort("_rep_rank").select("_rep_rank", "n").iter_rows():
        if first is not None and total + n > rows_per_part:
            ranges.append((first, last))
            first, total = None, 0
        if first is None:
            first = rank
        last, total = rank, total + n
    if first is not None:
        ranges.append((first, last))
    return ranges


def write_decisions(
    activities: pl.LazyFrame,
    reps: pl.LazyFrame,
    path: str | Path,
    *,
    taxonomy: Taxonomy,
    period: Period,
    rows_per_part: int | None = None,
    activity_rows: int | None = None,
    slices: Sequence[pl.LazyFrame] | None = None,
) -> int:
    """Classify ``activities`` and write the ``decisions`` table to ``path``; return its rows.

    The result equals ``classify_activities(...).collect()`` (same rows, order and
    dtypes). ``slices``, consecutive row slices of ``activities`` (the validation's
    ``clean_slices``), are read one at a time where the whole log is scanned, so that
    polars' read-ahead stays bounded (:mod:`analysis.slices`). ``rows_per_part`` defaults to
    :data:`ROWS_PER_PART`; with more activities than that, the reps are split into partitions.
    ``activity_rows`` (the clean activity count, if known) saves a count pass.
    """
    path = Path(path)
    rows_per_part = ROWS_PER_PART if rows_per_part is None else rows_per_part
    keyed = rep_keys(reps).collect()
    layout = DecisionLayout.of(period, keyed["timezone"].unique().to_list(), reps=keyed.height)
    if taxonomy.uses_first_touch or not slices:
        slices = [activities]  # first touch looks at a rep's whole history at once
    cols = shape_columns(taxonomy)
    if len(slices) == 1:
        shapes = activity_shapes(activities, taxonomy=taxonomy).collect()
    else:
        distinct = pl.concat([part.select(cols).unique().collect() for part in slices])
        shapes = activity_shapes(distinct.lazy(), taxonomy=taxonomy).collect()
    if activity_rows is None:
        activity_rows = activities.select(pl.len()).collect().item()
    if activity_rows <= rows_per_part:
        parts = [(1, max(keyed.height, 1))]
    else:
        per_slice = [part.group_by("rep_id").agg(n=pl.len()).collect() for part in slices]
        counts = (
            pl.concat(per_slice)
            .group_by("rep_id")
            .agg(pl.col("n").sum())
            .join(keyed.select("rep_id", "_rep_rank"), on="rep_id", how="inner")
        )
        parts = rep_partitions(counts, rows_per_part=rows_per_part)
    _log.debug("decisions: %d activities in %d rep partition(s)", activity_rows, len(parts))
    empty_rows = decision_rows(
        activities.clear(), keyed.clear().lazy(), shapes.lazy(), layout=layout, taxonomy=taxonomy
    )
    if len(parts) <= 1:

        def one_partition() -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
            # slice by slice: one query over all of them would read them all at once
            narrow = [_narrow(part, keyed, shapes, layout, taxonomy).collect() for part in slices]
            yield pl.concat(narrow), keyed

        partitions: Iterable[tuple[pl.DataFrame, pl.DataFrame]] = one_partition()
    else:
        partitions = _scratch_parts(
            slices, keyed, shapes, path, parts=parts, layout=layout, taxonomy=taxonomy
        )
    return _sink_decisions(
        path, partitions, keyed=keyed, shapes=shapes, layout=layout, empty_rows=empty_rows
    )


def write_decision_rows(
    parts: Iterable[pl.DataFrame],
    path: str | Path,
    *,
    reps: pl.DataFrame,
    shapes: pl.DataFrame,
    layout: DecisionLayout,
    empty_rows: pl.DataFrame,
) -> int:
    """Write the ``decisions`` table from narrow rows already made; return its rows.

    ``parts``: :func:`decision_rows` of every activity (e.g. kept by
    :class:`analysis.activity_pass.ActivityFeed` while validating), one frame per
    contiguous range of reps in rep order (each is sorted alone), made as they are
    asked for. ``reps`` from :func:`rep_keys`; ``shapes`` with the ids the rows carry
    (classified); ``empty_rows``: the rows' columns (the table of a period without any).
    """

    def partitions() -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        for rows in parts:
            if rows.height:
                yield rows, reps
            del rows  # let go of each range's rows once it is sorted

    return _sink_decisions(
        Path(path),
        partitions(),
        keyed=reps,
        shapes=shapes,
        layout=layout,
        empty_rows=empty_rows.lazy(),
    )


def _narrow(
    activities: pl.LazyFrame,
    keyed: pl.DataFrame,
    shapes: pl.DataFrame,
    layout: DecisionLayout,
    taxonomy: Taxonomy,
) -> pl.LazyFrame:
    """:func:`decision_rows` with the collected reps and shapes (reps found by lookup)."""
    return decision_rows(
        activities, keyed.lazy(), shapes.lazy(), layout=layout, taxonomy=taxonomy, rep_lookup=keyed
    )


def _sink_decisions(
    path: Path,
    partitions: Iterable[tuple[pl.DataFrame, pl.DataFrame]],
    *,
    keyed: pl.DataFrame,
    shapes: pl.DataFrame,
    layout: DecisionLayout,
    empty_rows: pl.LazyFrame,
) -> int:
    """Sort each partition's narrow rows, name them a chunk at a time, write one file.

    ``partitions`` yields, in rep order, the narrow :func:`decision_rows` of whole reps
    and those reps (from :func:`rep_keys`). Only the narrow rows of a partition are
    sorted; the text columns (rep, team, subject, ...) are attached to
    :data:`CHUNK_ROWS` rows at a time, so the full-width table is never held in memory.
    The chunks stream into polars' parquet sink, which encodes the columns in parallel
    (pyarrow's writer encoded them one after the other: 8 s against 3.5 s at 15M).
    Returns the rows written.
    """
    from polars.io.plugins import register_io_source

    schema = name_decisions(
        sort_decisions(empty_rows, layout=layout), keyed.clear(), shapes, layout=layout
    ).collect_schema()
    written = 0

    def chunks() -> Iterator[pl.DataFrame]:
        for rows, reps in partitions:
            # rows is in memory: sort_decisions reads it three times for free (the
            # caller holds the range's rows until the next is asked for)
            ordered = sort_decisions(rows.lazy(), layout=layout).collect()
            for offset in range(0, ordered.height, CHUNK_ROWS):
                chunk = ordered.slice(offset, CHUNK_ROWS).lazy()
                yield name_decisions(chunk, reps, shapes, layout=layout).collect()

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,  # a hint only: the chunks keep their size
    ) -> Iterator[pl.DataFrame]:
        nonlocal written
        # the sink asks for every column and row; the protocol is honoured all the same
        left = n_rows
        for table in chunks():
            if predicate is not None:
                table = table.filter(predicate)
            if left is not None:
                table = table.head(left)
                left -= table.height
            written += table.height
            yield table if with_columns is None else table.select(with_columns)
            if left == 0:
                return

    register_io_source(source, schema=schema).sink_parquet(
        path, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=CHUNK_ROWS
    )
    return written


def _scratch_parts(
    slices: Sequence[pl.LazyFrame],
    keyed: pl.DataFrame,
    shapes: pl.DataFrame,
    path: Path,
    *,
    parts: list[tuple[int, int]],
    layout: DecisionLayout,
    taxonomy: Taxonomy,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    import shutil

    # One streamed pass parses the activities into narrow integer rows on disk, one
    # folder per partition (beside the output, removed at the end); each partition is
    # then read back alone.
    scratch = path.with_name(f".{path.stem}.parts")
    starts = pl.Series([first for first, _ in parts], dtype=pl.Int64)
    part = (pl.lit(starts).search_sorted(pl.col("_rep_rank"), side="right") - 1).cast(pl.UInt32)
    try:
        for i, activities in enumerate(slices):
            _narrow(activities, keyed, shapes, layout, taxonomy).with_columns(
                _part=part
            ).sink_parquet(pl.PartitionBy(scratch / f"slice={i}", key="_part", include_key=False))
        for i, (first, last) in enumerate(parts):
            files = sorted(scratch.glob(f"slice=*/_part={i}/*.parquet"))
            if not files:  # no activity of these reps in the period
                continue
            part_reps = keyed.filter(pl.col("_rep_rank").is_between(first, last))
            yield pl.scan_parquet(files).collect(), part_reps
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
