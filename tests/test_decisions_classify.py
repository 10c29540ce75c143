"""Classification into decisions, local days, seq_in_day, load and coverage."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from decisions_fixtures import activities_frame, reps_frame, utc

from analysis.decisions.classify import (
    DECISION_COLUMNS,
    classify_activities,
    normalised_outcome,
    rule_index_expr,
    taxonomy_coverage,
    unmatched_shapes,
)
from analysis.decisions.load import decision_load, rep_load_summary
from analysis.decisions.taxonomy import load_taxonomy
from analysis.periods import Period

Q3 = Period.quarter("2026Q3")

REPS = reps_frame(
    [
        ("la", "West", "BDR", "America/Los_Angeles"),
        ("be", "Europe", "AE", "Europe/Berlin"),
    ]
)


def act(aid: str, rep: str, when, kind: str = "call", outcome=None, subject=None, lead=None):
    return {
        "activity_id": aid,
        "rep_id": rep,
        "occurred_at": when,
        "activity_type": kind,
        "outcome": outcome,
        "subject": subject,
        "lead_id": lead,
    }


DAY_ROWS = [
    # Los Angeles (UTC-7 in summer)
    act("la0", "la", utc(2026, 7, 1, 3, 0)),  # 2026-06-30 20:00 local: before the quarter
    act("la1", "la", utc(2026, 7, 1, 16, 0)),  # 07-01 09:00
    act("la2", "la", utc(2026, 7, 2, 0, 30)),  # 07-01 17:30 local, next day in UTC
    act("la4", "la", utc(2026, 7, 2, 15, 0)),  # 07-02 08:00
    act("la3", "la", utc(2026, 7, 2, 15, 0)),  # same instant: tie broken by activity_id
    act("la9", "la", utc(2026, 10, 1, 5, 0)),  # 09-30 22:00 local: still in the quarter
    # Berlin (UTC+2 in summer)
    act("be1", "be", utc(2026, 7, 1, 21, 30)),  # 07-01 23:30
    act("be2", "be", utc(2026, 7, 1, 22, 30)),  # 07-02 00:30 local
    act("be3", "be", utc(2026, 7, 2, 8, 0)),  # 07-02 10:00
    act("be9", "be", utc(2026, 9, 30, 22, 30)),  # 10-01 00:30 local: after the quarter
    act("xx1", "ghost", utc(2026, 7, 2, 8, 0)),  # unknown rep: not in the output
]


def classify(rows, *, reps=REPS, taxonomy=None, period=Q3) -> pl.DataFrame:
    return classify_activities(
        activities_frame(rows), reps, taxonomy=taxonomy or load_taxonomy(), period=period
    ).collect()


def test_local_days_and_seq_in_day():
    out = classify(DAY_ROWS)
    assert out.columns == DECISION_COLUMNS
    got = {r["activity_id"]: (r["day"], r["seq_in_day"]) for r in out.iter_rows(named=True)}
    assert got == {
        "la1": (date(2026, 7, 1), 1),
        "la2": (date(2026, 7, 1), 2),
        "la3": (date(2026, 7, 2), 1),
        "la4": (date(2026, 7, 2), 2),
        "la9": (date(2026, 9, 30), 1),
        "be1": (date(2026, 7, 1), 1),
        "be2": (date(2026, 7, 2), 1),
        "be3": (date(2026, 7, 2), 2),
    }
    assert out["day"].dtype == pl.Date
    # deterministic order: rep_id, day, seq_in_day
    assert out["activity_id"].to_list() == ["be1", "be2", "be3", "la1", "la2", "la3", "la4", "la9"]
    assert out.filter(pl.col("rep_id") == "la")["team"].unique().to_list() == ["West"]


def test_decision_load_counts_per_local_day():
    load = decision_load(
        classify_activities(activities_frame(DAY_ROWS), REPS, taxonomy=load_taxonomy(), period=Q3)
    ).collect()
    assert load.select("rep_id", "day", "decisions").rows() == [
        ("be", date(2026, 7, 1), 1),
        ("be", date(2026, 7, 2), 2),
        ("la", date(2026, 7, 1), 2),
        ("la", date(2026, 7, 2), 2),
        ("la", date(2026, 9, 30), 1),
    ]
    # bare calls with no subject fall to the default "bare-outbound-touch" rule
    assert load["pattern_recognition"].sum() == 8
    assert load["judgment"].sum() == 0


def test_dst_change_in_berlin():
    # DST ends 2026-10-25 01:00 UTC: the offset goes from +2 to +1.
    rows = [
        act("d1", "be", utc(2026, 10, 24, 22, 30)),  # 10-25 00:30 CEST (a fixed +1 says 10-24)
        act("d2", "be", utc(2026, 10, 25, 22, 30)),  # 10-25 23:30 CET (a fixed +2 says 10-26)
        act("d3", "be", utc(2026, 10, 25, 23, 30)),  # 10-26 00:30 CET
    ]
    out = classify(rows, period=Period.between("2026-10-20", "2026-10-30"))
    assert out.select("activity_id", "day", "seq_in_day").rows() == [
        ("d1", date(2026, 10, 25), 1),
        ("d2", date(2026, 10, 25), 2),
        ("d3", date(2026, 10, 26), 1),
    ]


CUSTOM = """
[classes]
pattern_recognition = ["sequencing", "next_best_action", "prioritization"]
judgment = ["qualification", "close_strategy"]

[quality]
positive = ["connected", "replied"]
negative = ["no answer"]

[[rules]]
id = "disc"
decision = "qualification"
activity_type = ["call"]
subject_matches = "(?i)discovery"

[[rules]]
id = "any-call"
decision = "sequencing"
activity_type = ["call"]

[[rules]]
id = "reply"
decision = "next_best_action"
activity_type = ["Email"]
outcome = ["Replied"]

[[rules]]
id = "pricing"
decision = "close_strategy"
activity_type = ["note", "email"]
subject_matches = "pricing"
"""


@pytest.fixture
def custom_taxonomy(tmp_path: Path):
    path = tmp_path / "custom.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    return load_taxonomy(path)


CLASS_ROWS = [
    act("c1", "be", utc(2026, 7, 6, 8, 0), "call", "Connected", "Discovery with ACME"),
    act("c2", "be", utc(2026, 7, 6, 8, 5), "CALL", "No-Answer", "DISCOVERY follow-up"),
    act("c3", "be", utc(2026, 7, 6, 8, 10), "call", "no answer", None),  # null subject
    act("c4", "be", utc(2026, 7, 6, 8, 15), "call", None, "Intro"),
    act("c5", "be", utc(2026, 7, 6, 8, 20), "email", " Replied ", "pricing question"),
    act("c6", "be", utc(2026, 7, 6, 8, 25), "email", "bounced", "pricing question"),
    act("c7", "be", utc(2026, 7, 6, 8, 30), "email", None, "Pricing question"),  # case-sensitive
    act("c8", "be", utc(2026, 7, 6, 8, 35), "note", None, "pricing"),
    act("c9", "be", utc(2026, 7, 6, 8, 40), "task", None, "pricing"),  # no rule for tasks
    act("c10", "la", utc(2026, 7, 6, 18, 0), "meeting", "Held", "Lunch 12"),
    act("c11", "la", utc(2026, 7, 6, 19, 0), "meeting", "held", "lunch 7"),
]


def test_custom_taxonomy_first_match_wins(custom_taxonomy):
    out = classify(CLASS_ROWS, taxonomy=custom_taxonomy)
    got = {
        r["activity_id"]: (r["rule_id"], r["decision"], r["decision_class"])
        for r in out.iter_rows(named=True)
    }
    assert got == {
        "c1": ("disc", "qualification", "judgment"),
        "c2": ("disc", "qualification", "judgment"),
        "c3": ("any-call", "sequencing", "pattern_recognition"),
        "c4": ("any-call", "sequencing", "pattern_recognition"),
        "c5": ("reply", "next_best_action", "pattern_recognition"),
        "c6": ("pricing", "close_strategy", "judgment"),
        "c7": (None, "unclassified", "unclassified"),
        "c8": ("pricing", "close_strategy", "judgment"),
        "c9": (None, "unclassified", "unclassified"),
        "c10": (None, "unclassified", "unclassified"),
        "c11": (None, "unclassified", "unclassified"),
    }
    quality = dict(zip(out["activity_id"], out["quality"], strict=True))
    assert quality["c1"] is True and quality["c5"] is True
    assert quality["c2"] is False and quality["c3"] is False
    assert quality["c4"] is None and quality["c6"] is None


def test_class_counts_coverage_and_unmatched(custom_taxonomy):
    decisions = classify_activities(
        activities_frame(CLASS_ROWS), REPS, taxonomy=custom_taxonomy, period=Q3
    )
    load = decision_load(decisions).collect()
    assert load.select(
        "rep_id", "decisions", "pattern_recognition", "judgment", "unclassified", "classified"
    ).rows() == [("be", 9, 3, 4, 2, 7), ("la", 2, 0, 0, 2, 0)]

    cov = taxonomy_coverage(decisions).collect()
    assert cov.rows() == [
        ("Europe", 9, 7, 2, 7 / 9),
        ("West", 2, 0, 2, 0.0),
        ("all", 11, 7, 4, 7 / 11),
    ]
    shapes = unmatched_shapes(decisions, top=2).collect()
    assert shapes.select("activity_type", "outcome", "subject_shape", "n").rows() == [
        ("meeting", "held", "lunch #", 2),
        ("email", None, "pricing question", 1),
    ]
    assert shapes["share"].to_list() == [0.5, 0.25]


def test_over_threshold_uses_the_parameter():
    rows = [act(f"a{i}", "be", utc(2026, 7, 6, 8, i)) for i in range(5)]
    rows += [act(f"b{i}", "be", utc(2026, 7, 7, 8, i)) for i in range(3)]
    decisions = classify_activities(
        activities_frame(rows), REPS, taxonomy=load_taxonomy(), period=Q3
    )
    assert decision_load(decisions, threshold=4).collect()["over_threshold"].to_list() == [
        True,
        False,
    ]
    assert decision_load(decisions, threshold=2).collect()["over_threshold"].to_list() == [
        True,
        True,
    ]
    assert decision_load(decisions, threshold=5).collect()["over_threshold"].to_list() == [
        False,
        False,
    ]


def test_rep_load_summary_exact():
    load = pl.LazyFrame(
        {
            "rep_id": ["r1"] * 4 + ["r2"],
            "team": ["A"] * 4 + ["B"],
            "day": [date(2026, 7, d) for d in (1, 2, 3, 4)] + [date(2026, 7, 1)],
            "decisions": [10, 20, 30, 100, 5],
            "pattern_recognition": [6, 10, 10, 54, 0],
            "judgment": [2, 10, 10, 18, 0],
        }
    )
    s = rep_load_summary(load, threshold=25).collect()
    r1 = s.row(0, named=True)
    assert r1["rep_id"] == "r1" and r1["days_active"] == 4 and r1["decisions"] == 160
    assert r1["mean_daily_decisions"] == 40.0
    assert r1["median_daily_decisions"] == 25.0
    assert r1["p90_daily_decisions"] == pytest.approx(79.0)  # linear: 30 + 0.7 * 70
    assert r1["share_days_over_threshold"] == 0.5
    assert r1["automatable_share"] == pytest.approx(80 / 120)
    assert r1["judgment_share"] == pytest.approx(40 / 120)
    assert r1["automatable_ci_low"] < 80 / 120 < r1["automatable_ci_high"]
    r2 = s.row(1, named=True)
    # no classified decisions: shares are null, not 0
    assert r2["automatable_share"] is None and r2["judgment_share"] is None
    assert r2["automatable_ci_low"] is None
    assert rep_load_summary(load, threshold=5).collect()["days_over_threshold"].to_list() == [4, 0]


def test_first_touch_rule(tmp_path):
    path = tmp_path / "ft.toml"
    path.write_text(
        CUSTOM.replace(
            '[[rules]]\nid = "disc"',
            '[[rules]]\nid = "ft"\ndecision = "prioritization"\nactivity_type = ["call"]\n'
            'first_touch = true\n\n[[rules]]\nid = "disc"',
        ),
        encoding="utf-8",
    )
    rows = [
        act("f0", "be", utc(2026, 6, 20, 8, 0), "call", lead="L1"),  # before the period
        act("f1", "be", utc(2026, 7, 6, 8, 0), "call", lead="L1"),
        act("f2", "be", utc(2026, 7, 6, 9, 0), "call", lead="L2"),
        act("f3", "be", utc(2026, 7, 6, 10, 0), "call", lead="L2"),
        act("f4", "be", utc(2026, 7, 6, 11, 0), "call", lead=None),
    ]
    out = classify(rows, taxonomy=load_taxonomy(path))
    assert dict(zip(out["activity_id"], out["rule_id"], strict=True)) == {
        "f1": "any-call",
        "f2": "ft",
        "f3": "any-call",
        "f4": "any-call",
    }


def test_order_and_seq_match_a_row_wise_reference_with_many_ties() -> None:
    # Shuffled activities on a coarse clock (many same-instant ties per rep), two
    # zones, unsorted ids: the fast single-key sort must equal the plain definition.
    rng = random.Random(7)
    reps = reps_frame(
        [
            ("r2", "West", "BDR", "America/Los_Angeles"),
            ("r1", "Europe", "AE", "Europe/Berlin"),
            ("r3", "East", "AM", "America/New_York"),
        ]
    )
    subjects = ["Discovery call", "Follow-up", "Intro", None, "Pricing", "x"]
    rows = [
        act(
            f"a{rng.randrange(10**6):06d}-{i}",
            rng.choice(["r1", "r2", "r3"]),
            utc(2026, 6, 30, 0, 0) + timedelta(hours=rng.randrange(0, 24 * 4)),
            kind=rng.choice(["call", "email", "meeting", "note"]),
            subject=rng.choice(subjects),
            outcome=rng.choice(["Connected", None, "not interested"]),
        )
        for i in range(400)
    ]
    out = classify_activities(
        activities_frame(rows), reps, taxonomy=load_taxonomy(), period=Q3
    ).collect()
    ref = out.sort("rep_id", "day", "occurred_at", "activity_id").with_columns(
        ref_seq=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(["rep_id", "day"])
    )
    assert out.height > 100
    assert out.select(pl.len() - pl.struct("rep_id", "occurred_at").n_unique()).item() > 50
    assert out["activity_id"].to_list() == ref["activity_id"].to_list()
    assert out["seq_in_day"].to_list() == ref["ref_seq"].to_list()
    # the per-shape classification equals the rule chain run on every row
    tax = load_taxonomy()
    row_rules = out.with_columns(
        _type=pl.col("activity_type"), _outcome=normalised_outcome()
    ).select(rule_index_expr(tax))["_rule"]
    want = [None if i is None else tax.rules[i].id for i in row_rules.to_list()]
    assert out["rule_id"].cast(pl.String).to_list() == want
    assert out["subject"].null_count() > 0 and out["rule_id"].null_count() > 0


def test_every_evaluation_of_the_lazy_plan_agrees(custom_taxonomy):
    # Regression: the distinct-shape table is evaluated more than once inside one plan;
    # its integer ids must not depend on the (unordered) unique() of each evaluation.
    decisions = classify_activities(
        activities_frame(CLASS_ROWS), REPS, taxonomy=custom_taxonomy, period=Q3
    )
    results = {tuple(taxonomy_coverage(decisions).collect().rows()) for _ in range(40)}
    assert results == {
        (("Europe", 9, 7, 2, 7 / 9), ("West", 2, 0, 2, 0.0), ("all", 11, 7, 4, 7 / 11))
    }
