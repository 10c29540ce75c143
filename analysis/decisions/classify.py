"""Classify activities into decisions on the rep's local day (the ``decisions`` table).

Examples
--------
>>> from datetime import datetime
>>> import polars as pl
>>> from analysis.decisions.taxonomy import load_taxonomy
>>> from analysis.periods import Period
>>> acts = pl.LazyFrame({
...     "activity_id": ["a1", "a2"], "rep_id": ["r1", "r1"],
...     "occurred_at": [datetime(2026, 7, 2, 0, 30), datetime(2026, 7, 1, 16, 0)],
...     "activity_type": ["call", "email"], "outcome": ["Connected", None],
...     "subject": ["Discovery call", "Follow-up"],
... }).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
>>> reps = pl.LazyFrame({"rep_id": ["r1"], "team": ["West"], "role": ["AE"],
...                      "timezone": ["America/Los_Angeles"]})
>>> out = classify_activities(acts, reps, taxonomy=load_taxonomy(),
...                           period=Period.quarter("2026Q3")).collect()
>>> out.select("activity_id", "day", "seq_in_day", "decision", "quality").rows()
[('a2', datetime.date(2026, 7, 1), 1, 'sequencing', None), ('a1', datetime.date(2026, 7, 1), 2, 'qualification', True)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import polars as pl

from analysis.decisions.exprs import classified_count, share
from analysis.decisions.taxonomy import DECISION_CLASSES, UNCLASSIFIED, Rule, Taxonomy
from analysis.periods import Period

#: Columns of the ``decisions`` table, in order (the first nine are the CONTRACT's).
DECISION_COLUMNS = [
    "activity_id",
    "rep_id",
    "team",
    "role",
    "day",
    "seq_in_day",
    "decision",
    "decision_class",
    "rule_id",
    "occurred_at",
    "activity_type",
    "outcome",
    "subject",
    "quality",
    "local_hour",
]


def normalised_outcome(column: str = "outcome") -> pl.Expr:
    """Outcome as matched by the taxonomy: trimmed, lower case, spaces/hyphens -> ``_``.

    Examples
    --------
    >>> pl.DataFrame({"outcome": [" Not-Interested "]}).select(normalised_outcome()).item()
    'not_interested'
    """
    return (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"[\s\-]+", "_")
    )


def local_day(
    timezones: Sequence[str], *, at: str = "occurred_at", zone: str = "timezone"
) -> pl.Expr:
    """The local date of the UTC timestamp ``at`` in the per-row IANA zone ``zone``.

    polars needs a literal zone for ``convert_time_zone``, so this is a ``when/then``
    chain over the given distinct zones (a row whose zone is not listed gets null).
    DST is handled by polars' time-zone database.

    Examples
    --------
    >>> from datetime import datetime
    >>> df = pl.DataFrame({"occurred_at": [datetime(2026, 7, 2, 0, 30)] * 2,
    ...                    "timezone": ["America/Los_Angeles", "Europe/Berlin"]})
    >>> df = df.with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
    >>> df.select(local_day(["America/Los_Angeles", "Europe/Berlin"])).to_series().to_list()
    [datetime.date(2026, 7, 1), datetime.date(2026, 7, 2)]
    """
    return local_clock(timezones, at=at, zone=zone).dt.date().alias("day")


def zone_offsets(zone: str, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """The UTC offsets of ``zone`` over ``[lo, hi)``: ``(from, offset in us)`` pieces.

    Read from polars' own time-zone database (the one ``convert_time_zone`` uses), on an
    hourly grid refined to the second where the offset changes (tz transitions fall on
    whole seconds). The first piece starts at ``lo``.

    Examples
    --------
    >>> lo, hi = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    >>> [(t.isoformat(), o // 3_600_000_000) for t, o in zone_offsets("Europe/Berlin", lo, hi)]
    [('2026-03-01T00:00:00+00:00', 1), ('2026-03-29T01:00:00+00:00', 2)]
    """

    def offsets(start: datetime, end: datetime, every: str) -> pl.DataFrame:
        utc = pl.datetime_range(start, end, every, time_zone="UTC", eager=True, closed="left")
        local = utc.dt.convert_time_zone(zone).dt.replace_time_zone(None)
        return pl.DataFrame({"at": utc, "offset": (local - utc.dt.replace_time_zone(None))})

    def first_change(grid: pl.DataFrame) -> int:
        changed = grid["offset"] != grid["offset"].shift(1)
        return int(changed.fill_null(False).arg_true()[0])

    hourly = offsets(lo, hi, "1h")
    pieces = [(lo, hourly["offset"][0])]
    changed = (pl.col("offset") != pl.col("offset").shift(1)).fill_null(False)
    for i in hourly.with_row_index("i").filter(changed)["i"].to_list():
        # the offset changed in the hour before grid point i
        start = hourly["at"][i - 1]
        minutes = offsets(start, start + timedelta(hours=1, minutes=1), "1m")
        m = first_change(minutes)
        seconds = offsets(minutes["at"][m - 1], minutes["at"][m] + timedelta(seconds=1), "1s")
        s = first_change(seconds)
        pieces.append((seconds["at"][s], seconds["offset"][s]))
    return [(at, off // timedelta(microseconds=1)) for at, off in pieces]


def local_clock(
    timezones: Sequence[str],
    *,
    at: str = "occurred_at",
    zone: str = "timezone",
    between: tuple[datetime, datetime] | None = None,
) -> pl.Expr:
    """The UTC timestamp ``at`` as a naive local date-time in the per-row zone ``zone``.

    One ``when/then`` chain over the distinct zones (see :func:`local_day`); the local
    date and the local clock hour (``local_hour`` of the decisions table) derive from it.
    With ``between=(lo, hi)``, for rows whose ``at`` lies in ``[lo, hi)`` only, each zone's
    offset is looked up from its few transitions in that window (:func:`zone_offsets`):
    the same result, without converting every row through every zone (the chain
    evaluates each branch on every row: most of the cost at 15M activities).

    Examples
    --------
    >>> from datetime import datetime
    >>> df = pl.DataFrame({"occurred_at": [datetime(2026, 7, 2, 0, 30)],
    ...                    "timezone": ["America/Los_Angeles"]})
    >>> df = df.with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
    >>> df.select(local_clock(["America/Los_Angeles"]).dt.hour()).item()
    17
    >>> window = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 3, tzinfo=UTC))
    >>> df.select(local_clock(["America/Los_Angeles"], between=window).dt.hour()).item()
    17
    """
    zones = sorted(set(timezones))
    if not zones:
        return pl.lit(None, dtype=pl.Datetime("us")).alias("_local")
    if between is not None:
        return _local_clock_by_offsets(zones, at=at, zone=zone, between=between)
    chain: pl.Expr | None = None
    for z in zones:
        local = pl.col(at).dt.convert_time_zone(z).dt.replace_time_zone(None)
        cond = pl.col(zone) == z
        chain = pl.when(cond).then(local) if chain is None else chain.when(cond).then(local)  # type: ignore[attr-defined]
    return chain.otherwise(None).alias("_local")  # type: ignore[union-attr]


def _local_clock_by_offsets(
    zones: Sequence[str], *, at: str, zone: str, between: tuple[datetime, datetime]
) -> pl.Expr:
    utc = pl.col(at).dt.replace_time_zone(None)
    offset: pl.Expr | None = None
    for z in zones:
        # the offset of the last piece that starts at or before the instant
        pieces = zone_offsets(z, *between)
        piece = pl.lit(pieces[0][1], dtype=pl.Int64)
        for start, off in pieces[1:]:
            later = pl.col(at) >= pl.lit(start).dt.cast_time_unit("us")
            piece = pl.when(later).then(pl.lit(off, dtype=pl.Int64)).otherwise(piece)
        cond = pl.col(zone) == z
        offset = pl.when(cond).then(piece) if offset is None else offset.when(cond).then(piece)  # type: ignore[attr-defined]
    shift = offset.otherwise(None)  # type: ignore[union-attr]
    return (utc.dt.cast_time_unit("us") + pl.duration(microseconds=shift)).alias("_local")


def _rule_condition(rule: Rule, *, has_first_touch: bool) -> pl.Expr:
    cond = pl.col("_type").is_in(list(rule.activity_type))
    if rule.subject_matches is not None:
        cond = cond & pl.col("subject").str.contains(rule.subject_matches).fill_null(False)
    if rule.outcome is not None:
        cond = cond & pl.col("_outcome").is_in(list(rule.outcome)).fill_null(False)
    if rule.first_touch and has_first_touch:
        cond = cond & pl.col("_first_touch")
    return cond


def rule_index_expr(taxonomy: Taxonomy, *, has_first_touch: bool = False) -> pl.Expr:
    """0-based index of the first matching rule (null if none): one when/then chain.

    Expects the helper columns ``_type`` (lower-case activity type), ``_outcome``
    (normalised outcome), ``subject`` and, for ``first_touch`` rules, ``_first_touch``.
    The chain yields small integers (cheap to combine over millions of rows); names are
    attached afterwards.
    """
    chain = None
    for i, rule in enumerate(taxonomy.rules):
        cond = _rule_condition(rule, has_first_touch=has_first_touch)
        value = pl.lit(i, dtype=pl.UInt16)
        chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
    return chain.otherwise(pl.lit(None, dtype=pl.UInt16)).alias("_rule")  # type: ignore[union-attr]


def decision_dtypes(taxonomy: Taxonomy) -> dict[str, pl.Enum]:
    """The ``pl.Enum`` dtypes of ``rule_id``, ``decision`` and ``decision_class``.

    Examples
    --------
    >>> from analysis.decisions.taxonomy import load_taxonomy
    >>> decision_dtypes(load_taxonomy())["decision_class"]
    Enum(categories=['pattern_recognition', 'judgment', 'unclassified'])
    """
    return {
        "rule_id": pl.Enum([rule.id for rule in taxonomy.rules]),
        "decision": pl.Enum([*taxonomy.decisions, UNCLASSIFIED]),
        "decision_class": pl.Enum([*DECISION_CLASSES, UNCLASSIFIED]),
    }


def _shape_table(shapes: pl.LazyFrame, taxonomy: Taxonomy) -> pl.LazyFrame:
    """Rule, decision, class and quality of each distinct activity shape.

    The taxonomy only looks at ``activity_type``, ``outcome``, ``subject`` (and the
    ``_first_touch`` flag when a rule uses it), so the rule chain and its regexes run
    once per distinct shape instead of once per activity; CRM subjects repeat heavily.
    """
    dtypes = decision_dtypes(taxonomy)
    rule_ids = pl.Series([rule.id for rule in taxonomy.rules], dtype=dtypes["rule_id"])
    rule_decisions = pl.Series([rule.decision for rule in taxonomy.rules], dtype=dtypes["decision"])
    rule_classes = pl.Series(
        [taxonomy.classes[rule.decision] for rule in taxonomy.rules],
        dtype=dtypes["decision_class"],
    )
    positive, negative = list(taxonomy.quality_positive), list(taxonomy.quality_negative)
    return (
        shapes.with_columns(
            _type=pl.col("activity_type").str.to_lowercase(), _outcome=normalised_outcome()
        )
        .with_columns(rule_index_expr(taxonomy, has_first_touch=taxonomy.uses_first_touch))
        .with_columns(
            rule_id=pl.lit(rule_ids).gather(pl.col("_rule")),
            decision=pl.lit(rule_decisions)
            .gather(pl.col("_rule"))
            .fill_null(pl.lit(UNCLASSIFIED, dtype=dtypes["decision"])),
            decision_class=pl.lit(rule_classes)
            .gather(pl.col("_rule"))
            .fill_null(pl.lit(UNCLASSIFIED, dtype=dtypes["decision_class"])),
            quality=pl.when(pl.col("_outcome").is_in(positive))
            .then(True)
            .when(pl.col("_outcome").is_in(negative))
            .then(False)
            .otherwise(pl.lit(None, dtype=pl.Boolean)),
        )
        .drop("_type", "_outcome", "_rule")
    )


def _us_since(start: datetime) -> pl.Expr:
    """Microseconds of ``occurred_at`` since ``start`` (Int64)."""
    return (pl.col("occurred_at") - pl.lit(start)).dt.total_microseconds()


_DAY_US = 86_400_000_000
#: A rep's local day spans, in UTC, from its midnight minus the zone's offset (at most
#: +14 h) to the next midnight minus the offset (at least -12 h): counted from 16 h
#: before its UTC midnight, every instant of it lies within [2 h, 52 h), below 2^38 us.
_WITHIN_DAY_MARGIN_US = 16 * 3_600_000_000
_WITHIN_DAY_BITS = 38


@dataclass(frozen=True)
class DecisionLayout:
    """How :func:`decision_rows` packs a rep-day and a timestamp into integers.

    ``lo`` is the UTC origin of ``_us`` (two days before the period: local offsets are
    within +-14 h); ``day_bits`` / ``us_bits`` are the bit widths of the day offset and
    of the microseconds, so ``(_rep_day, _us, tie)`` packs into one Int128 sort key.
    ``rep_bits``, the bit width of the largest rep rank when the reps are known: if
    ``_rep_day`` and a time within its local day fit in 63 bits, :func:`sort_decisions`
    sorts one Int64 instead (a third faster; same order).
    """

    period: Period
    zones: tuple[str, ...]
    lo: datetime
    hi: datetime
    day_bits: int
    us_bits: int
    rep_bits: int | None = None

    @classmethod
    def of(
        cls, period: Period, zones: Sequence[str | None], *, reps: int | None = None
    ) -> DecisionLayout:
        """The layout of ``period`` for ``reps`` reps (if known) in ``zones`` (``None``
        entries are ignored)."""
        lo = datetime.combine(period.start - timedelta(days=2), time(), tzinfo=UTC)
        hi = datetime.combine(period.end + timedelta(days=2), time(), tzinfo=UTC)
        day_bits = max(1, (period.end - period.start).days.bit_length())
        us_bits = max(1, ((hi - lo) // timedelta(microseconds=1)).bit_length())
        if 32 + day_bits + us_bits + 32 > 126:  # pragma: no cover - periods of decades
            raise ValueError(f"period {period.label} is too long to classify in one pass")
        return cls(
            period,
            tuple(sorted({z for z in zones if z is not None})),
            lo,
            hi,
            day_bits,
            us_bits,
            None if reps is None else max(1, reps.bit_length()),
        )

    @property
    def int64_key(self) -> bool:
        """Whether ``(_rep_day, time within the local day)`` packs into one Int64."""
        return self.rep_bits is not None and self.rep_bits + self.day_bits + _WITHIN_DAY_BITS <= 63


def rep_keys(reps: pl.LazyFrame) -> pl.LazyFrame:
    """``rep_id, team, role, timezone, _rep_rank``: the rep's ordinal rank by ``rep_id``.

    The rank keys the decision sort on one integer (reps is small).
    """
    return reps.select(
        "rep_id",
        "team",
        "role",
        "timezone",
        _rep_rank=pl.col("rep_id").rank("ordinal").cast(pl.Int64),
    )


def shape_columns(taxonomy: Taxonomy) -> list[str]:
    """The activity columns the taxonomy looks at (the *shape* of an activity)."""
    cols = ["activity_type", "outcome", "subject"]
    return [*cols, "_first_touch"] if taxonomy.uses_first_touch else cols


def classify_shapes(shapes: pl.LazyFrame, *, taxonomy: Taxonomy) -> pl.LazyFrame:
    """Rule, decision, class and quality of distinct shapes (extra columns such as ids kept).

    Examples
    --------
    >>> from analysis.decisions.taxonomy import load_taxonomy
    >>> s = pl.LazyFrame({"activity_type": ["call"], "outcome": ["Connected"],
    ...                   "subject": ["Discovery call"], "_shape": [0]})
    >>> classify_shapes(s, taxonomy=load_taxonomy()).collect().select("decision", "_shape").row(0)
    ('qualification', 0)
    """
    return _shape_table(shapes, taxonomy)


def activity_shapes(activities: pl.LazyFrame, *, taxonomy: Taxonomy) -> pl.LazyFrame:
    """Every distinct activity shape with its integer id ``_shape`` and its classification.

    Sorted, so the ids are the same wherever the table is evaluated. Shapes of
    activities outside the period are harmless extras (rows join to it, not the reverse).
    """
    cols = shape_columns(taxonomy)
    acts = _with_first_touch(activities) if taxonomy.uses_first_touch else activities
    distinct = acts.select(cols).unique().sort(cols, nulls_last=True)
    return _shape_table(distinct, taxonomy).with_columns(
        _shape=pl.int_range(pl.len(), dtype=pl.UInt32)
    )


def _with_first_touch(activities: pl.LazyFrame) -> pl.LazyFrame:
    # The rep's first activity on the lead, over all history (before the period cut).
    return activities.with_columns(
        _first_touch=(
            pl.col("lead_id").is_not_null()
            & (
                pl.int_range(pl.len()).over(
                    ["rep_id", "lead_id"], order_by=["occurred_at", "activity_id"]
                )
                == 0
            )
        )
    )


def decision_rows(
    activities: pl.LazyFrame,
    reps: pl.LazyFrame,
    shapes: pl.LazyFrame,
    *,
    layout: DecisionLayout,
    taxonomy: Taxonomy,
    rep_lookup: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """The narrow, unordered rows of the decisions table: ids and integer keys only.

    ``activity_id, _rep_rank, _rep_day, _us, local_hour, _shape``: the activities of
    ``reps`` (from :func:`rep_keys`) on a rep-local day in the period, with the local
    day packed into ``_rep_day`` and the time into ``_us`` (see :class:`DecisionLayout`)
    and the shape as its id in ``shapes`` (:func:`activity_shapes`). Strings stay out,
    so that the sort in :func:`order_decisions` moves little. ``rep_lookup``, the
    collected ``reps`` (small), lets each row find its rep by a lookup instead of a join
    (a third of the cost at 15M rows); the result is the same.
    """
    period = layout.period
    cols = shape_columns(taxonomy)
    acts = _with_first_touch(activities) if taxonomy.uses_first_touch else activities
    acts = acts.filter(pl.col("occurred_at").is_between(layout.lo, layout.hi, closed="left"))
    acts = acts.select("activity_id", "rep_id", "occurred_at", *cols)
    if rep_lookup is None:
        acts = acts.join(reps.select("rep_id", "timezone", "_rep_rank"), on="rep_id", how="inner")
    else:
        by_rank = rep_lookup.sort("_rep_rank")
        known = sorted({*layout.zones, *by_rank["timezone"].drop_nulls()})
        zones = by_rank["timezone"].cast(pl.Enum(known))
        rank = pl.col("rep_id").replace_strict(
            by_rank["rep_id"], by_rank["_rep_rank"], default=None, return_dtype=pl.Int64
        )
        acts = (
            acts.with_columns(_rep_rank=rank)
            .filter(pl.col("_rep_rank").is_not_null())  # as the inner join: known reps only
            .with_columns(timezone=pl.lit(zones).gather(pl.col("_rep_rank") - 1))
        )
    return (
        acts.with_columns(local_clock(layout.zones, between=(layout.lo, layout.hi)))
        .with_columns(
            day=pl.col("_local").dt.date(), local_hour=pl.col("_local").dt.hour().cast(pl.Int8)
        )
        .filter(pl.col("day").is_between(period.start, period.end, closed="left"))
        .join(shapes.select(*cols, "_shape"), on=cols, how="left", nulls_equal=True)
        .select(
            "activity_id",
            "_rep_rank",
            # rep rank and local day in one Int64 (a rep-day run id once sorted)
            _rep_day=pl.col("_rep_rank") * (1 << layout.day_bits)
            + (pl.col("day") - pl.lit(period.start)).dt.total_days(),
            _us=_us_since(layout.lo),
            local_hour="local_hour",
            _shape="_shape",
        )
    )


def _attach(
    frame: pl.LazyFrame, table: pl.LazyFrame | pl.DataFrame, *, key: str, columns: list[str]
) -> pl.LazyFrame:
    """``frame`` with ``columns`` of ``table`` looked up by ``key`` (a left join, in order).

    A collected ``table`` whose keys are consecutive integers is read by position (a
    gather: several times cheaper than a join that keeps the order on 15M rows).
    """
    if isinstance(table, pl.DataFrame):
        by_key = table.sort(key)
        first = by_key[key].min() if by_key.height else 0
        if by_key.height and (by_key[key] - first).equals(
            pl.int_range(by_key.height, eager=True, dtype=by_key[key].dtype).alias(key)
        ):
            at = (pl.col(key) - first).cast(pl.Int64)
            return frame.with_columns(pl.lit(by_key[c]).gather(at).alias(c) for c in columns)
        table = table.lazy()
    return frame.join(table.select(key, *columns), on=key, how="left", maintain_order="left")


def order_decisions(
    rows: pl.LazyFrame,
    reps: pl.LazyFrame | pl.DataFrame,
    shapes: pl.LazyFrame | pl.DataFrame,
    *,
    layout: DecisionLayout,
) -> pl.LazyFrame:
    """Sort :func:`decision_rows` by rep, local day and time; number them; name them.

    :func:`name_decisions` of :func:`sort_decisions`. ``reps`` and ``shapes`` may be
    collected (small): they are then read by position, not joined.
    """
    return name_decisions(sort_decisions(rows, layout=layout), reps, shapes, layout=layout)


def sort_decisions(rows: pl.LazyFrame, *, layout: DecisionLayout) -> pl.LazyFrame:
    """Sort :func:`decision_rows` by rep, local day and time and number them (``seq_in_day``).

    ``activity_id`` breaks ties of (rep, occurred_at): it is ranked only among the rare
    rows whose (rep, time) repeats, found by sorting one Int64 and comparing neighbours
    (far cheaper than hashing every key). ``rows`` is read three times: collect it first
    when it is large (the pipeline does, one rep partition at a time).
    """
    if layout.int64_key:
        return _sort_by_int64(rows, layout=layout)
    us_bits = layout.us_bits
    rows = rows.with_row_index("_row")
    candidate = (pl.col("_rep_rank") * (1 << us_bits) + pl.col("_us")).alias("_cand")
    repeated = _repeated(rows.select(candidate), "_cand")
    ties = (
        rows.select("_row", "activity_id", "_rep_rank", "_us", candidate)
        .join(repeated, on="_cand", how="semi")
        .select(
            "_row",
            _tie=pl.col("activity_id").rank("ordinal").over(["_rep_rank", "_us"]).cast(pl.Int64),
        )
    )
    key = (pl.col("_rep_day").cast(pl.Int128) * (1 << us_bits) + pl.col("_us").cast(pl.Int128)) * (
        1 << 32
    ) + pl.col("_tie").fill_null(0).cast(pl.Int128)
    return _numbered(rows.join(ties, on="_row", how="left").sort(key))


def _sort_by_int64(rows: pl.LazyFrame, *, layout: DecisionLayout) -> pl.LazyFrame:
    """:func:`sort_decisions` on one Int64 key: the rep-day, then the time within it.

    A stable sort keeps equal keys in the order they come in, so the rare rows whose
    (rep, time) repeats are put last, already in ``activity_id`` order (ordinal: equal
    ids in input order, by row number: a join does not keep the order); every other key
    is unique.
    """
    day = pl.col("_rep_day") & ((1 << layout.day_bits) - 1)
    within_day = pl.col("_us") - (day + 2) * _DAY_US + _WITHIN_DAY_MARGIN_US  # lo is 2 days before
    keyed = rows.with_columns(_key=pl.col("_rep_day") * (1 << _WITHIN_DAY_BITS) + within_day)
    repeated = _repeated(keyed.select("_key"), "_key")
    singles = keyed.join(repeated, on="_key", how="anti")
    ties = (
        keyed.with_row_index("_row")
        .join(repeated, on="_key", how="semi")
        .sort("_key", "activity_id", "_row")
        .drop("_row")
    )
    return _numbered(pl.concat([singles, ties]).sort("_key", maintain_order=True))


def _repeated(values: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """The values of ``column`` that occur more than once (one sort, neighbours compared)."""
    value = pl.col(column)
    return values.select(value.sort()).filter(value == value.shift(1)).unique()


def _numbered(ordered: pl.LazyFrame) -> pl.LazyFrame:
    """The narrow columns of rows in decision order, with ``seq_in_day``."""
    first_of_run = pl.col("_rep_day") != pl.col("_rep_day").shift(1)
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    return ordered.select(
        "activity_id",
        "_rep_rank",
        "_rep_day",
        "_us",
        "local_hour",
        "_shape",
        seq_in_day=(
            position - pl.when(first_of_run.fill_null(True)).then(position).forward_fill() + 1
        ).cast(pl.Int32),
    )


def name_decisions(
    ordered: pl.LazyFrame,
    reps: pl.LazyFrame | pl.DataFrame,
    shapes: pl.LazyFrame | pl.DataFrame,
    *,
    layout: DecisionLayout,
) -> pl.LazyFrame:
    """The ``decisions`` columns of sorted, numbered narrow rows (row by row: any slice works).

    The second half of :func:`order_decisions`; the pipeline applies it to slices of the
    sorted rows, so that only a slice is ever held with its text columns.
    """
    day_mask = (1 << layout.day_bits) - 1
    return (
        ordered.pipe(_attach, shapes, key="_shape", columns=_shape_values(shapes))
        .pipe(_attach, reps, key="_rep_rank", columns=["rep_id", "team", "role"])
        .with_columns(
            day=pl.lit(layout.period.start) + pl.duration(days=pl.col("_rep_day") & day_mask),
            occurred_at=pl.lit(layout.lo) + pl.duration(microseconds=pl.col("_us")),
        )
        .select(DECISION_COLUMNS)
    )


def shape_columns_of(shapes: pl.LazyFrame | pl.DataFrame) -> list[str]:
    """The helper columns of a shape table that the decisions table does not keep."""
    return [c for c in ("_first_touch",) if c in shapes.collect_schema().names()]


def _shape_values(shapes: pl.LazyFrame | pl.DataFrame) -> list[str]:
    """The columns of a shape table that the decisions table takes (all but the id)."""
    drop = {"_shape", *shape_columns_of(shapes)}
    return [c for c in shapes.collect_schema().names() if c not in drop]


def classify_activities(
    activities: pl.LazyFrame,
    reps: pl.LazyFrame,
    *,
    taxonomy: Taxonomy,
    period: Period,
    timezones: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """The ``decisions`` table: one row per activity on a rep-local day in the period.

    Parameters
    ----------
    activities, reps
        Clean canonical tables (``occurred_at`` in UTC, ``reps.timezone`` filled).
        Activities of reps not in ``reps`` are dropped (the reader quarantines them).
    taxonomy
        Rules tried in order, first match wins; no match -> ``unclassified``.
    period
        Local dates ``[start, end)``; an activity belongs by its rep's local date.
    timezones
        The distinct ``reps.timezone`` values. If omitted they are read from ``reps``
        with one small ``collect()`` (reps is tiny): polars needs literal zones for
        ``convert_time_zone``. Everything else stays lazy.

    Returns
    -------
    pl.LazyFrame
        ``activity_id, rep_id, team, role, day, seq_in_day, decision, decision_class,
        rule_id, occurred_at, activity_type, outcome, subject, quality, local_hour``
        sorted by ``rep_id, day, seq_in_day``. ``local_hour`` (0-23) is the rep's local
        clock hour of the decision (the fatigue model allows for it).
        ``seq_in_day`` numbers every activity of the rep's local day by ``occurred_at``
        (ties by ``activity_id``); ``quality`` is True/False for outcomes in the
        taxonomy's positive/negative lists, else null. ``rule_id``, ``decision`` and
        ``decision_class`` are ``pl.Enum`` (see :func:`decision_dtypes`): compact, and
        they compare with plain strings.

    Notes
    -----
    Built for tens of millions of rows: the taxonomy runs on the distinct
    (type, outcome, subject) shapes (:func:`activity_shapes`) and is joined back by an
    integer id; the order ``(rep, day, occurred_at, activity_id)`` is one Int128 key
    (polars sorts a single integer far faster than several columns). This is
    :func:`order_decisions` of :func:`decision_rows`; the pipeline runs the two
    halves per rep partition so that memory does not grow with the activity count.
    """
    if timezones is None:
        timezones = reps.select(pl.col("timezone").unique()).collect().to_series().to_list()
    layout = DecisionLayout.of(period, timezones)
    keyed = rep_keys(reps)
    shapes = activity_shapes(activities, taxonomy=taxonomy)
    rows = decision_rows(activities, keyed, shapes, layout=layout, taxonomy=taxonomy)
    return order_decisions(rows, keyed, shapes, layout=layout)


def taxonomy_coverage(decisions: pl.LazyFrame) -> pl.LazyFrame:
    """How much of the activity log the taxonomy classifies, per team and for ``all``.

    Returns ``team, decisions, classified, unclassified, coverage`` (classified /
    decisions; null with no decisions), teams sorted, ``all`` last.

    Examples
    --------
    >>> d = pl.LazyFrame({"team": ["A", "A", "B"],
    ...                   "decision_class": ["judgment", "unclassified", "judgment"]})
    >>> taxonomy_coverage(d).collect().rows()
    [('A', 2, 1, 1, 0.5), ('B', 1, 1, 0, 1.0), ('all', 3, 2, 1, 0.6666666666666666)]
    """
    aggs = [pl.len().cast(pl.Int64).alias("decisions"), classified_count()]
    per_team = decisions.group_by("team").agg(aggs)
    overall = decisions.select(aggs).with_columns(team=pl.lit("all"))
    return (
        pl.concat([per_team, overall], how="diagonal")
        .with_columns(unclassified=pl.col("decisions") - pl.col("classified"))
        .with_columns(coverage=share("classified", "decisions"))
        .select("team", "decisions", "classified", "unclassified", "coverage")
        .sort(pl.col("team") == "all", "team")
    )


def subject_shape(column: str = "subject") -> pl.Expr:
    """A subject reduced to its shape: lower case, digits -> ``#``, spaces collapsed, 60 chars.

    Examples
    --------
    >>> pl.DataFrame({"subject": ["  Call  #12 with ACME "]}).select(subject_shape()).item()
    'call ## with acme'
    """
    return (
        pl.col(column)
        .cast(pl.String)
        .str.to_lowercase()
        .str.replace_all(r"\d+", "#")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.slice(0, 60)
    )


def unmatched_shapes(decisions: pl.LazyFrame, *, top: int = 20) -> pl.LazyFrame:
    """The most frequent shapes of unclassified activities, to extend the taxonomy.

    A shape is (activity_type, normalised outcome, :func:`subject_shape`). Returns
    ``activity_type, outcome, subject_shape, n, share`` (share of all unclassified), most
    frequent first (ties by the shape columns), at most ``top`` rows.

    Examples
    --------
    >>> d = pl.LazyFrame({"decision_class": ["unclassified"] * 3 + ["judgment"],
    ...                   "activity_type": ["note"] * 3 + ["call"], "outcome": [None] * 4,
    ...                   "subject": ["Lunch 1", "lunch 2", "x", "y"]})
    >>> unmatched_shapes(d).collect().select("subject_shape", "n").rows()
    [('lunch #', 2), ('x', 1)]
    """
    return (
        decisions.filter(pl.col("decision_class") == UNCLASSIFIED)
        .select(
            pl.col("activity_type").str.to_lowercase(),
            normalised_outcome().alias("outcome"),
            subject_shape().alias("subject_shape"),
        )
        .group_by("activity_type", "outcome", "subject_shape")
        .agg(n=pl.len().cast(pl.Int64))
        .with_columns(share=pl.col("n") / pl.col("n").sum())
        .sort(
            ["n", "activity_type", "outcome", "subject_shape"],
            descending=[True, False, False, False],
            nulls_last=True,
        )
        .head(top)
    )
