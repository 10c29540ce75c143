"""The fast classify path (distinct shapes, one Int128 sort key, ranked ties) against the
plain polars idiom (a per-row rule chain and ``int_range().over(order_by=...)``) on random data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analysis.decisions.classify import (
    _DAY_US,
    _WITHIN_DAY_BITS,
    _WITHIN_DAY_MARGIN_US,
    DECISION_COLUMNS,
    DecisionLayout,
    activity_shapes,
    classify_activities,
    decision_rows,
    local_clock,
    local_day,
    rep_keys,
    sort_decisions,
)
from analysis.decisions.taxonomy import UNCLASSIFIED, Taxonomy, load_taxonomy
from analysis.periods import Period

ZONES = [
    "UTC",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Pacific/Kiritimati",  # UTC+14, the largest offset
    "Etc/GMT+12",  # UTC-12, the smallest
    "Australia/Lord_Howe",  # a half-hour daylight-saving shift
]
TYPES = ["call", "Call", "email", "EMAIL", "meeting", "task", "note", "sms", "stage_change", "fax"]
OUTCOMES = ["Connected", " not-interested ", "replied", "no answer", "Won", None]
SUBJECTS = [
    "Discovery call",
    "follow-up #2",
    "Re: pricing",
    "Intro",
    "Closed won",
    "objection: budget freeze",
    "send deck",
    "lunch",
    "",
    None,
]
PERIOD = Period.between("2026-07-01", "2026-07-15")

CUSTOM = """
[classes]
pattern_recognition = ["prioritization", "sequencing"]
judgment = ["qualification"]
[quality]
positive = ["connected", "replied"]
negative = ["not_interested"]
[[rules]]
id = "first"
decision = "prioritization"
activity_type = ["call", "email"]
first_touch = true
[[rules]]
id = "qual"
decision = "qualification"
activity_type = ["call"]
outcome = ["connected"]
[[rules]]
id = "seq"
decision = "sequencing"
activity_type = ["email", "sms"]
subject_matches = "(?i)follow"
"""


def _random_data(
    seed: int, n: int = 4000, *, start: datetime = datetime(2026, 6, 28, tzinfo=UTC)
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    reps = pl.DataFrame(
        {
            "rep_id": [f"r{i:02d}" for i in range(8)],
            "team": rng.choice(["East", "West"], 8).tolist(),
            "role": rng.choice(["AE", "BDR"], 8).tolist(),
            "timezone": rng.choice(ZONES, 8).tolist(),
        }
    )
    # whole minutes over three weeks: many activities of a rep share a timestamp
    minutes = rng.integers(0, 21 * 24 * 60 // 7, n) * 7
    acts = pl.DataFrame(
        {
            "activity_id": [f"a{v:06d}" for v in rng.permutation(10 * n)[:n]],
            "rep_id": rng.choice([*reps["rep_id"].to_list(), "ghost"], n).tolist(),
            "occurred_at": [start + timedelta(minutes=int(m)) for m in minutes],
            "activity_type": rng.choice(TYPES, n).tolist(),
            "outcome": [OUTCOMES[i] for i in rng.integers(0, len(OUTCOMES), n)],
            "subject": [SUBJECTS[i] for i in rng.integers(0, len(SUBJECTS), n)],
            "lead_id": [None if v == 0 else f"l{v}" for v in rng.integers(0, 30, n)],
        }
    ).with_columns(pl.col("occurred_at").dt.cast_time_unit("us"))
    return acts, reps


def _plain(acts: pl.DataFrame, reps: pl.DataFrame, taxonomy: Taxonomy) -> pl.DataFrame:
    """The obvious implementation: every row through the rules, order by over()."""
    outcome = (
        pl.col("outcome").str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    )
    first_touch = pl.col("lead_id").is_not_null() & (
        pl.int_range(pl.len()).over(["rep_id", "lead_id"], order_by=["occurred_at", "activity_id"])
        == 0
    )
    rule_id = pl.lit(None, pl.String)
    for rule in reversed(taxonomy.rules):  # the first matching rule wins
        cond = pl.col("activity_type").str.to_lowercase().is_in(list(rule.activity_type))
        if rule.subject_matches is not None:
            cond &= pl.col("subject").str.contains(rule.subject_matches).fill_null(False)
        if rule.outcome is not None:
            cond &= outcome.is_in(list(rule.outcome)).fill_null(False)
        if rule.first_touch:
            cond &= pl.col("_first_touch")
        rule_id = pl.when(cond).then(pl.lit(rule.id)).otherwise(rule_id)
    decision_of = {r.id: r.decision for r in taxonomy.rules}
    return (
        acts.with_columns(_first_touch=first_touch)
        .join(reps, on="rep_id", how="inner")
        .with_columns(
            local_day(ZONES), local_clock(ZONES).dt.hour().cast(pl.Int8).alias("local_hour")
        )
        .filter(pl.col("day").is_between(PERIOD.start, PERIOD.end, closed="left"))
        .with_columns(rule_id=rule_id)
        .with_columns(
            decision=pl.col("rule_id").replace_strict(decision_of, default=UNCLASSIFIED),
        )
        .with_columns(
            decision_class=pl.col("decision").replace_strict(
                dict(taxonomy.classes), default=UNCLASSIFIED
            ),
            quality=pl.when(outcome.is_in(list(taxonomy.quality_positive)))
            .then(True)
            .when(outcome.is_in(list(taxonomy.quality_negative)))
            .then(False),
            seq_in_day=(
                pl.int_range(pl.len()).over(
                    ["rep_id", "day"], order_by=["occurred_at", "activity_id"]
                )
                + 1
            ).cast(pl.Int32),
        )
        .sort("rep_id", "day", "seq_in_day")
        .select(DECISION_COLUMNS)
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("which", ["default", "custom"])
def test_fast_classify_equals_the_plain_idiom(seed: int, which: str, tmp_path: Path) -> None:
    if which == "default":
        taxonomy = load_taxonomy()
    else:
        (tmp_path / "t.toml").write_text(CUSTOM)
        taxonomy = load_taxonomy(tmp_path / "t.toml")
    acts, reps = _random_data(seed)
    fast = classify_activities(acts.lazy(), reps.lazy(), taxonomy=taxonomy, period=PERIOD).collect()
    plain = _plain(acts, reps, taxonomy)
    enums = [c for c, t in fast.schema.items() if isinstance(t, pl.Enum)]
    fast = fast.with_columns(pl.col(enums).cast(pl.String))
    assert fast.height > 1000  # the test exercises real volume...
    assert fast["seq_in_day"].max() > 5  # ...several decisions per rep-day...
    ties = fast.group_by("rep_id", "occurred_at").len().filter(pl.col("len") > 1)
    assert ties.height > 10  # ...and many (rep, timestamp) ties broken by activity_id
    assert_frame_equal(fast, plain.with_columns(pl.col(enums).cast(pl.String)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_int64_sort_key_orders_as_the_int128_key(seed: int) -> None:
    """With the reps known the rows sort on one Int64 (rep-day, time within the local
    day): the same order and numbering as the Int128 key, at the extreme UTC offsets and
    across the autumn clock changes (Europe, the US, Lord Howe's half hour in April)."""
    taxonomy = load_taxonomy()
    for start, period in [
        (datetime(2026, 6, 28, tzinfo=UTC), PERIOD),
        (datetime(2026, 10, 18, tzinfo=UTC), Period.between("2026-10-20", "2026-11-05")),
        (datetime(2026, 3, 30, tzinfo=UTC), Period.between("2026-04-01", "2026-04-15")),
    ]:
        acts, reps = _random_data(seed, start=start)
        reps = reps.with_columns(timezone=pl.Series([ZONES[i % len(ZONES)] for i in range(8)]))
        keyed = rep_keys(reps.lazy()).collect()
        shapes = activity_shapes(acts.lazy(), taxonomy=taxonomy).collect()
        wide = DecisionLayout.of(period, ZONES)
        narrow = DecisionLayout.of(period, ZONES, reps=keyed.height)
        assert narrow.int64_key and not wide.int64_key
        rows = decision_rows(
            acts.lazy(), keyed.lazy(), shapes.lazy(), layout=wide, taxonomy=taxonomy
        ).collect()
        assert rows.height > 1000
        # the time within the local day fills [2 h, 52 h) of its 2^38 us at these offsets
        day = pl.col("_rep_day") & ((1 << wide.day_bits) - 1)
        within = rows.select(
            pl.col("_us") - (day + 2) * _DAY_US + _WITHIN_DAY_MARGIN_US
        ).to_series()
        hour = 3_600_000_000
        assert 2 * hour <= within.min() < 3 * hour and 51 * hour < within.max() < 52 * hour
        assert within.max() < 1 << _WITHIN_DAY_BITS
        by_int128 = sort_decisions(rows.lazy(), layout=wide).collect()
        by_int64 = sort_decisions(rows.lazy(), layout=narrow).collect()
        ties = by_int128.group_by("_rep_rank", "_us").len().filter(pl.col("len") > 1)
        assert ties.height > 10  # many (rep, instant) ties, broken by activity_id
        assert_frame_equal(by_int64, by_int128)


def test_int64_sort_key_only_where_it_fits() -> None:
    quarter, decade = Period.quarter("2026Q3"), Period.between("2020-01-01", "2030-01-01")
    assert DecisionLayout.of(quarter, ["UTC"], reps=200_000).int64_key  # 18 + 7 + 38 bits
    assert not DecisionLayout.of(quarter, ["UTC"], reps=300_000).int64_key  # 19 + 7 + 38
    assert not DecisionLayout.of(decade, ["UTC"], reps=20_000).int64_key  # 15 + 12 + 38
    assert not DecisionLayout.of(quarter, ["UTC"]).int64_key  # reps unknown


def test_int64_sort_key_keeps_equal_ids_of_a_tie_in_input_order() -> None:
    """Out of contract (ids are unique once validated) but deterministic all the same:
    rows sharing a rep, an instant and an ``activity_id`` keep their input order, as the
    Int128 key's ordinal tie rank does."""
    period = Period.between("2026-07-01", "2026-07-15")
    wide, narrow = DecisionLayout.of(period, ["UTC"]), DecisionLayout.of(period, ["UTC"], reps=1)
    groups, n = 10, 30
    rows = pl.DataFrame(
        {
            "activity_id": [f"a{i % groups}" for i in range(n)],
            "_rep_rank": [1] * n,
            "_rep_day": [1 << wide.day_bits] * n,
            "_us": [2 * _DAY_US + i % groups for i in range(n)],
            "local_hour": pl.Series([0] * n, dtype=pl.Int8),
            "_shape": pl.Series(range(n), dtype=pl.UInt32),  # the input order
        }
    )
    by_int64 = sort_decisions(rows.lazy(), layout=narrow).collect()
    assert by_int64["_shape"].to_list()[:6] == [0, 10, 20, 1, 11, 21]
    assert_frame_equal(by_int64, sort_decisions(rows.lazy(), layout=wide).collect())
