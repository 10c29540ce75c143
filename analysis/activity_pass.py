"""One read of the activity log feeds validation and every row-level metric (issue 16).

The activities are the one large table. Validation reads them slice by slice
(:meth:`analysis.canonical.validate.TablePlan.resolve_feeding`); each slice's clean
rows, already parsed, are handed to an :class:`ActivityFeed`, which keeps what the
row-level metrics need and nothing more:

* the hygiene component counts per rep (they add up over slices),
* the handoff touch candidates: activities of an AE on a lead or deal that AE has a
  meeting on (a superset of what :func:`analysis.metrics.handoffs.handoffs` looks at),
* the narrow decision rows (ids and integers, :func:`decision_rows`) by range of reps,
  in memory or, above one partition's rows, in one file per range and slice on disk;
  and the distinct activity shapes,
* which hygiene source columns hold a value, and the latest activity time (as-of).

Each consumer then runs the same metric function as before on the kept rows, so the
tables are the same; the log is parsed once instead of once per metric.

Examples
--------
>>> from datetime import UTC, datetime
>>> from analysis.decisions.taxonomy import load_taxonomy
>>> from analysis.periods import Period
>>> reps = pl.DataFrame({"rep_id": ["a"], "team": ["t"], "role": ["AE"], "timezone": ["UTC"]})
>>> feed = ActivityFeed(period=Period.quarter("2026Q3"), reps=reps, meetings=None,
...                     taxonomy=load_taxonomy(), decisions=True)
>>> feed(pl.DataFrame({"__row": [0], "activity_id": ["x"], "rep_id": ["a"],
...     "occurred_at": [datetime(2026, 7, 2, 9, tzinfo=UTC)], "activity_type": ["call"],
...     "outcome": ["positive"], "subject": ["Discovery"], "notes": [None], "lead_id": ["l"],
...     "opportunity_id": [None]}, schema_overrides={"notes": pl.String,
...     "opportunity_id": pl.String}))
>>> feed.rows, feed.latest.isoformat(), sorted(feed.captured)
(1, '2026-07-02T09:00:00+00:00', ['lead_id'])
>>> next(feed.take_decision_rows()).select("activity_id", "_shape").rows()
[('x', 0)]
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from analysis.decisions.classify import (
    DecisionLayout,
    classify_shapes,
    decision_rows,
    rep_keys,
    shape_columns,
)
from analysis.decisions.taxonomy import Taxonomy
from analysis.metrics.hygiene import COMPONENT_SOURCES, activity_counts
from analysis.periods import Period

#: The canonical activity columns the consumers read.
FEED_COLUMNS = [
    "activity_id",
    "rep_id",
    "occurred_at",
    "activity_type",
    "outcome",
    "subject",
    "notes",
    "lead_id",
    "opportunity_id",
]
#: Hygiene source columns of the activities (a component is unmeasured if all are empty).
CAPTURE_COLUMNS = sorted(
    {c for table, cols in COMPONENT_SOURCES.values() if table == "activities" for c in cols}
)
_TOUCH_COLUMNS = ["rep_id", "occurred_at", "lead_id", "opportunity_id", "activity_type"]
#: Spilled decision rows are kept in this many buckets of reps per sorted range, so that
#: ranges can be balanced by rows when they are read back.
SPILL_BUCKETS_PER_RANGE = 8


class ActivityFeed:
    """Keeps, slice by slice, what the row-level metrics need of the clean activities.

    ``reps``: the clean reps (collected, small). ``meetings``: the clean meetings (for
    the AE-lead and AE-deal pairs of the handoff touches), or None. ``decisions``: keep
    the narrow decision rows (not when the taxonomy needs a rep's whole history: the
    caller then classifies the clean plan), in ``sort_parts`` ranges of reps (equal
    numbers of reps), on disk in ``spill`` if given (so memory holds one slice's rows
    and then one range's, not the log's).
    """

    def __init__(
        self,
        *,
        period: Period,
        reps: pl.DataFrame,
        meetings: pl.DataFrame | None,
        taxonomy: Taxonomy,
        decisions: bool,
        sort_parts: int = 1,
        spill: Path | None = None,
    ) -> None:
        self.period, self.taxonomy = period, taxonomy
        self.keyed = rep_keys(reps.lazy()).collect()
        self.layout = DecisionLayout.of(
            period, self.keyed["timezone"].unique().to_list(), reps=self.keyed.height
        )
        self.decisions = decisions and not taxonomy.uses_first_touch
        self.rows = 0
        self.latest: datetime | None = None
        self.captured: set[str] = set()
        self._counts: list[pl.DataFrame] = []
        self._touches: list[pl.DataFrame] = []
        # the decision rows by contiguous range of reps (rep rank): each range is sorted
        # alone, so sorting never holds more than a range's copy (the ranges in order are
        # the table's order, which starts with the rep)
        self.sort_parts = max(1, min(sort_parts, self.keyed.height))
        self._decisions: list[list[pl.DataFrame]] = [[] for _ in range(self.sort_parts)]
        # too many rows to keep: each slice's rows of a small range of reps (a bucket) go
        # to a file of that bucket; buckets are grouped by their rows when read back, so
        # a range holds about rows / sort_parts rows even where busy reps sit together
        self._spill = spill
        self._buckets = self.sort_parts
        if spill is not None:
            spill.mkdir(parents=True, exist_ok=True)
            self._buckets = min(self.keyed.height, self.sort_parts * SPILL_BUCKETS_PER_RANGE)
        self._bucket_rows = [0] * self._buckets
        self._bucket_files: list[list[Path]] = [[] for _ in range(self._buckets)]
        self._slices_fed = 0
        self.narrow_empty: pl.DataFrame | None = None  # the decision rows' columns
        self._shape_cols = shape_columns(taxonomy)
        self._shapes = pl.DataFrame(
            schema={"activity_type": pl.String, "outcome": pl.String, "subject": pl.String}
        ).with_columns(_shape=pl.lit(None, pl.UInt32))
        self._pairs = _touch_pairs(meetings) if meetings is not None else None
        # touches before the period cannot be a first touch of a meeting booked in it
        # (a day of margin for the meetings' zone; handoffs() applies the exact cut)
        self._touch_from = self.layout.lo - timedelta(days=1)

    def __call__(self, clean: pl.DataFrame) -> None:
        """Take one slice of clean rows (``__row`` and :data:`FEED_COLUMNS`)."""
        if clean.height == 0 and self._counts:
            return  # an empty slice adds nothing (the first one gives the counts' columns)
        self.rows += clean.height
        latest = clean.get_column("occurred_at").max()
        if latest is not None and (self.latest is None or latest > self.latest):  # type: ignore[operator]
            self.latest = latest  # type: ignore[assignment]
        todo = [c for c in CAPTURE_COLUMNS if c not in self.captured]
        if todo:
            found = clean.select(pl.col(todo).is_not_null().any()).row(0, named=True)
            self.captured.update(c for c, has_value in found.items() if has_value)
        lazy = clean.lazy()
        # the slice's queries run together (polars schedules them side by side)
        queries = [activity_counts(lazy, period=self.period)]
        if self._pairs is not None:
            queries.append(self._touch_candidates(lazy))
        split_parts = self.sort_parts > 1 or self._spill is not None
        if self.decisions:
            self._add_shapes(clean)
            rows = decision_rows(
                lazy,
                self.keyed.lazy(),
                self._shapes.lazy(),
                layout=self.layout,
                taxonomy=self.taxonomy,
                rep_lookup=self.keyed,
            )
            self._slices_fed += 1
            if self.narrow_empty is None:
                self.narrow_empty = pl.DataFrame(schema=rows.collect_schema())
            part = ((pl.col("_rep_rank") - 1) * self._buckets // self.keyed.height).alias("_part")
            queries.append(rows.with_columns(part) if split_parts else rows)
        counts, *rest = pl.collect_all(queries)
        self._counts.append(counts)
        if self._pairs is not None:
            self._touches.append(rest.pop(0))
        if not self.decisions:
            return
        (rows_in_slice,) = rest
        if not split_parts:
            self._decisions[0].append(rows_in_slice)
            return
        split = rows_in_slice.partition_by("_part", as_dict=True, include_key=False)
        del rows_in_slice
        for (i,), frame in split.items():
            if self._spill is None:
                self._decisions[int(i)].append(frame)  # type: ignore[call-overload]
            else:
                bucket = int(i)  # type: ignore[call-overload]
                path = self._spill / f"bucket-{bucket:05d}-slice-{self._slices_fed:06d}.parquet"
                frame.write_parquet(path)
                self._bucket_files[bucket].append(path)
                self._bucket_rows[bucket] += frame.height

    def _add_shapes(self, clean: pl.DataFrame) -> None:
        # ids in first-seen order: they are internal (joined back by id), only the names
        # reach the table
        cols = self._shape_cols
        new = (
            clean.lazy()
            .select(cols)
            .unique()
            .join(self._shapes.lazy(), on=cols, how="anti", nulls_equal=True)
            .sort(cols, nulls_last=True)
            .collect()
        )
        if new.height:
            ids = pl.int_range(
                self._shapes.height, self._shapes.height + new.height, dtype=pl.UInt32
            )
            self._shapes = pl.concat([self._shapes, new.with_columns(_shape=ids)])

    def _touch_candidates(self, activities: pl.LazyFrame) -> pl.LazyFrame:
        assert self._pairs is not None
        by_lead, by_opp = self._pairs
        acts = activities.filter(
            pl.col("occurred_at") >= self._touch_from,
            pl.col("lead_id").is_not_null() | pl.col("opportunity_id").is_not_null(),
        ).select(_TOUCH_COLUMNS)
        on_lead, on_opp = (
            # membership tests first (cheap), then the exact pair join on the few left
            acts.filter(
                pl.col("rep_id").is_in(pairs["rep_id"].unique().implode()),
                pl.col(key).is_in(pairs[key].unique().implode()),
            ).join(pairs.lazy(), on=["rep_id", key], how="semi")
            for pairs, key in ((by_lead, "lead_id"), (by_opp, "opportunity_id"))
        )
        # a touch on both keys appears twice: harmless, handoffs() takes the first time
        return pl.concat([on_lead, on_opp])

    def hygiene_counts(self) -> pl.LazyFrame:
        """The stacked per-slice hygiene counts (``hygiene(counted_activities=...)``)."""
        return pl.concat(self._counts).lazy() if self._counts else pl.LazyFrame()

    def touches(self) -> pl.LazyFrame | None:
        """The handoff touch candidates (``handoffs(meetings, touches, ...)``), or None."""
        if self._pairs is None:
            return None
        if not self._touches:
            return pl.LazyFrame(schema={c: pl.String for c in _TOUCH_COLUMNS}).with_columns(
                pl.col("occurred_at").cast(pl.Datetime("us", "UTC"))
            )
        return pl.concat(self._touches).lazy()

    def take_decision_rows(self) -> Iterator[pl.DataFrame]:
        """The narrow decision rows (:func:`decision_rows`), one frame per range of reps.

        In rep order, each made when it is asked for (read back, if spilled); the feed
        lets go of them (the caller sorts one range at a time).
        """
        kept, self._decisions = self._decisions, [[] for _ in range(self.sort_parts)]
        if self._spill is not None:
            for buckets in _ranges_of(self._bucket_rows, parts=self.sort_parts):
                files = [f for b in buckets for f in self._bucket_files[b]]
                if files:  # in rep, then slice order (sorting makes any order the same)
                    rows = pl.read_parquet(files)
                    for f in files:
                        f.unlink()
                    yield rows
                    del rows
            return
        for i in range(self.sort_parts):
            if kept[i]:
                yield pl.concat(kept[i])
            kept[i] = []

    def write_decisions(self, path: Path) -> int:
        """Write the ``decisions`` table from the kept rows (:func:`write_decision_rows`).

        Returns its rows. Only when :attr:`decision_rows_kept`; the rows are let go of.
        """
        from analysis.decisions.materialize import write_decision_rows

        if self.narrow_empty is None:
            raise RuntimeError("no decision rows were kept: classify the clean activities")
        return write_decision_rows(
            self.take_decision_rows(),
            path,
            reps=self.keyed,
            shapes=self.shapes(),
            layout=self.layout,
            empty_rows=self.narrow_empty,
        )

    @property
    def decision_rows_kept(self) -> bool:
        """True when the decision rows were kept (in memory or spilled) while validating."""
        return self.decisions and self.narrow_empty is not None

    def shapes(self) -> pl.DataFrame:
        """The distinct shapes seen, with their ids and classification."""
        return classify_shapes(self._shapes.lazy(), taxonomy=self.taxonomy).collect()


def _touch_pairs(meetings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The (AE, lead) and (AE, deal) pairs of every meeting: who may touch what."""
    ae = pl.col("owner_id").alias("rep_id")
    by_lead = meetings.filter(pl.col("lead_id").is_not_null() & pl.col("owner_id").is_not_null())
    by_opp = meetings.filter(
        pl.col("opportunity_id").is_not_null() & pl.col("owner_id").is_not_null()
    )
    return (
        by_lead.select(ae, "lead_id").unique(),
        by_opp.select(ae, "opportunity_id").unique(),
    )


def _ranges_of(rows: list[int], *, parts: int) -> list[list[int]]:
    """Consecutive buckets grouped into ranges of about ``sum(rows) / parts`` rows each.

    A bucket is never split; empty buckets join their neighbours.

    >>> _ranges_of([5, 0, 1, 1, 1, 6, 0, 0], parts=2)
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    target = max(1, -(-sum(rows) // max(parts, 1)))
    ranges: list[list[int]] = [[]]
    size = 0
    for bucket, n in enumerate(rows):
        if ranges[-1] and size and size + n > target:
            ranges.append([])
            size = 0
        ranges[-1].append(bucket)
        size += n
    return ranges
