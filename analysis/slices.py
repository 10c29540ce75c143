"""Read a large table a slice of rows at a time, so that memory does not grow with it.

polars' streaming engine reads a parquet file ahead of a slow computation (parsing
text, say): memory then grows with the file (about 1 GB per 15M activities for the
validation pass, measured; see benchmarks/README.md). Cutting the *source* into
consecutive row slices bounds it: each slice is its own query, and the scan reads
only that slice's rows. Row numbers made before the cut (``with_row_index``) stay
those of the whole table.

Examples
--------
>>> lf = pl.LazyFrame({"x": range(10)}).with_row_index("row")
>>> [s.collect()["row"].to_list() for s in row_slices(lf, rows=10, step=4)]
[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
>>> every_third = lambda part: part.filter(pl.col("x") % 3 == 0)
>>> collect_sliced(lf, every_third, rows=10, step=4)["row"].to_list()
[0, 3, 6, 9]
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

#: Rows per slice: ~0.25 GB of read-ahead at most for the heaviest pass (a heuristic
#: from the benchmark, not a tuned constant).
SLICE_ROWS = 4_000_000
#: Rows per slice of a CSV input: its text columns take more memory than parquet's
#: (15M CSV activities, measured: 4M-row slices peak at 3.07 GiB, 3M at 2.62 GiB and
#: no slower, 2M at 2.08 GiB but 7 s slower: each slice scans the file from its start).
CSV_SLICE_ROWS = 3_000_000


def row_slices(frame: pl.LazyFrame, *, rows: int, step: int | None = None) -> list[pl.LazyFrame]:
    """``frame`` as consecutive slices of ``step`` rows covering ``rows`` rows (at least one).

    Apply it to a plan whose operations keep one output row per input row (a parse,
    a row index, a filter on top is fine): the slice is pushed down to the scan.
    """
    step = SLICE_ROWS if step is None else step
    return [frame.slice(offset, step) for offset in range(0, max(rows, 1), step)]


def collect_sliced(
    frame: pl.LazyFrame,
    then: Callable[[pl.LazyFrame], pl.LazyFrame],
    *,
    rows: int,
    step: int | None = None,
    engine: str = "auto",
) -> pl.DataFrame:
    """``then`` applied to each slice of ``frame`` (see :func:`row_slices`), collected, stacked.

    ``then`` must treat rows independently (parse, filter, select): the result is
    then ``then(frame).collect()``, in the same order.
    """
    parts = [then(part).collect(engine=engine) for part in row_slices(frame, rows=rows, step=step)]
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
