"""Hygiene: exact components on a hand case, missing evidence, trust gate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from outcomes_fixtures import Q3, frame, hygiene_dataset, rep

from analysis.metrics import exprs
from analysis.metrics.hygiene import hygiene, with_trust


def _hygiene(**kw) -> pl.DataFrame:
    opps, acts, reps = hygiene_dataset()
    kw.setdefault("min_records", 1)  # the hand case has a few rows per rep
    kw.setdefault("min_components", 1)
    out = hygiene(opps, acts, reps, period=Q3, **kw)
    assert isinstance(out, pl.LazyFrame)
    return out.collect()


def _row(df: pl.DataFrame, team: str, rep_id: str | None) -> dict:
    cond = pl.col("rep_id").is_null() if rep_id is None else pl.col("rep_id") == rep_id
    return df.filter((pl.col("team") == team) & cond).row(0, named=True)


def test_rows_team_then_reps():
    out = _hygiene()
    assert out.select("team", "rep_id").rows() == [
        ("clean", None),
        ("clean", "c1"),
        ("clean", "c2"),
        ("dirty", None),
        ("dirty", "d1"),
    ]
    assert out["level"].to_list() == ["team", "rep", "rep", "team", "rep"]


def test_exact_components_hand_case():
    c1 = _row(_hygiene(), "clean", "c1")
    expected = {
        "stage_consistent": (1.0, 4),
        "lost_with_reason": (0.5, 2),
        "spine_complete": (0.75, 4),
        "calls_with_notes": (2 / 3, 3),
        "activities_linked": (0.75, 4),
    }
    for name, (share, n) in expected.items():
        assert c1[name] == pytest.approx(share), name
        assert c1[f"{name}_n"] == n, name
    assert c1["n_components"] == 5
    assert c1["score"] == pytest.approx(100 * (1 + 0.5 + 0.75 + 2 / 3 + 0.75) / 5)


def test_component_without_evidence_is_null_and_left_out_of_score():
    c2 = _row(_hygiene(), "clean", "c2")
    assert c2["calls_with_notes"] is None  # only emails
    assert c2["calls_with_notes_n"] == 0
    assert c2["stage_consistent"] is None  # owns no opportunity
    assert c2["n_components"] == 1
    assert c2["score"] == 100.0  # not dragged down by zeros


def test_team_rows_pool_rows_not_rep_scores():
    out = _hygiene()
    team = _row(out, "clean", None)
    # activities_linked: c1 3/4, c2 5/5 -> 8/9 pooled
    assert team["activities_linked"] == pytest.approx(8 / 9)
    assert team["activities_linked_n"] == 9
    assert team["calls_with_notes"] == pytest.approx(2 / 3)


def test_dirty_team_untrusted_clean_team_trusted():
    out = _hygiene()
    clean, dirty = _row(out, "clean", None), _row(out, "dirty", None)
    assert clean["trusted"] is True
    assert dirty["trusted"] is False
    assert dirty["stage_consistent"] == 0.5  # three "Closed Won" deals not won
    assert dirty["lost_with_reason"] == 0.0
    assert dirty["score"] < 70 <= clean["score"]
    strict = _hygiene(threshold=80.0)
    assert _row(strict, "clean", None)["trusted"] is False


def test_missing_tables_give_null_components():
    opps, _, reps = hygiene_dataset()
    out = hygiene(opps, None, reps, period=Q3, min_records=1).collect()
    c1 = _row(out, "clean", "c1")
    assert c1["calls_with_notes"] is None and c1["activities_linked"] is None
    assert c1["activities_linked_n"] == 0
    assert c1["score"] == pytest.approx(100 * (1 + 0.5 + 0.75) / 3)
    assert "c2" not in out["rep_id"].to_list()  # no row in scope
    empty = hygiene(None, None, reps, period=Q3).collect()
    assert empty.height == 0
    assert "score" in empty.columns


def test_stage_consistency_rules():
    df = pl.DataFrame(
        {
            "stage": [
                "closedwon",
                "Closed Lost",
                "Closed Lost",
                "Negotiation",
                "Negotiation",
                "Won",
            ],
            "is_closed": [True, True, False, False, True, True],
            "is_won": [True, False, False, True, False, True],
            "closed_at": [date(2026, 8, 1), date(2026, 8, 1), None, None, None, date(2026, 8, 1)],
            "created_at": [datetime(2026, 7, 1, tzinfo=UTC)] * 6,
        }
    )
    got = df.select(exprs.stage_consistent())["stage_consistent"].to_list()
    # won-but-open is inconsistent; closed without a date is inconsistent
    assert got == [True, True, False, False, False, True]


def test_period_scope_of_opportunities():
    reps = frame("reps", [rep("a", "AE", "t")])
    t = datetime(2026, 8, 1, tzinfo=UTC)
    opps = frame(
        "opportunities",
        [
            # open at period end (created before): in scope
            {"opportunity_id": "open", "owner_id": "a", "created_at": datetime(2026, 1, 1, tzinfo=UTC),
             "stage": "Discovery", "is_closed": False, "is_won": False},
            # closed in Q2: out of scope
            {"opportunity_id": "q2", "owner_id": "a", "created_at": datetime(2026, 1, 1, tzinfo=UTC),
             "stage": "Closed Lost", "is_closed": True, "is_won": False, "closed_at": date(2026, 5, 1)},
            # created after the period: out of scope
            {"opportunity_id": "q4", "owner_id": "a", "created_at": datetime(2026, 11, 1, tzinfo=UTC),
             "stage": "Discovery", "is_closed": False, "is_won": False},
            # created in Q3 and closed in Q3
            {"opportunity_id": "q3", "owner_id": "a", "created_at": t, "stage": "Closed Lost",
             "is_closed": True, "is_won": False, "closed_at": date(2026, 9, 1), "lost_reason": "x"},
        ],
    )  # fmt: skip
    row = hygiene(opps, None, reps, period=Q3, min_records=1).collect().row(1, named=True)
    assert row["stage_consistent_n"] == 2
    assert row["lost_with_reason_n"] == 1 and row["lost_with_reason"] == 1.0


def test_with_trust_stamps_team_flag():
    opps, acts, reps = hygiene_dataset()
    h = hygiene(opps, acts, reps, period=Q3)
    table = pl.LazyFrame({"rep_id": ["d1", "c1", "zz"], "value": [1, 2, 3]})
    out = with_trust(table, h).collect()
    assert out.columns == ["rep_id", "value", "data_trusted", "rep_data_trusted"]
    assert out["rep_id"].to_list() == ["d1", "c1", "zz"]  # order kept
    assert out["data_trusted"].to_list() == [False, True, None]
    # a table with its own team column uses it (even for a rep without hygiene rows)
    teamed = pl.LazyFrame({"bdr": ["nobody"], "team": ["clean"]})
    got = with_trust(teamed, h, rep_col="bdr").collect()
    assert got["data_trusted"].to_list() == [True]
    assert got["rep_data_trusted"].to_list() == [None]


def test_trusted_is_null_below_three_judged_components():
    _opps, acts, reps = hygiene_dataset()
    # activities only: at most 2 of the 5 components can be judged
    out = hygiene(None, acts, reps, period=Q3, min_records=1).collect()
    assert out["n_components"].max() <= 2
    assert out["trusted"].null_count() == out.height
    full = _hygiene()
    assert _row(full, "clean", None)["trusted"] is True  # 5 judged


def test_rep_component_with_few_records_is_not_judged():
    opps, acts, reps = hygiene_dataset()
    strict = hygiene(opps, acts, reps, period=Q3).collect()  # default: 10 records
    c1 = _row(strict, "clean", "c1")
    assert c1["activities_linked_n"] == 4 and c1["activities_linked"] is None
    assert c1["n_components"] == 0 and c1["score"] is None and c1["trusted"] is None
    # the team row pools its reps and is still judged
    assert _row(strict, "clean", None)["activities_linked"] == pytest.approx(8 / 9)


def test_closed_before_created_is_inconsistent():
    df = pl.DataFrame(
        {
            "stage": ["Closed Lost", "Closed Lost", "Closed Won", "Closed"],
            "is_closed": [True, True, True, False],
            "is_won": [False, False, False, False],
            "closed_at": [date(2026, 7, 1), date(2026, 6, 30), date(2026, 7, 3), None],
            "created_at": [datetime(2026, 7, 1, 15, tzinfo=UTC)] * 4,
        }
    )
    got = df.select(exprs.stage_consistent())["stage_consistent"].to_list()
    # same day: fine; the day before: inconsistent; "Closed Won" not won; "Closed" open
    assert got == [True, False, False, False]
