"""BDR funnel: planted weak BDR, Wilson intervals, medians and attribution."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from outcomes_fixtures import Q3, Q3_START, frame, funnel_dataset, rep
from statsmodels.stats.proportion import proportion_confint

from analysis.metrics.funnel import attribute_opportunities, bdr_funnel
from analysis.periods import Period


def _funnel() -> pl.DataFrame:
    meetings, opps, reps = funnel_dataset()
    return bdr_funnel(meetings, opps, reps, period=Q3)


def test_weak_bdr_flagged_and_normal_ones_not():
    out = _funnel()
    flagged = out.filter(pl.col("flag"))["rep_id"].to_list()
    assert flagged == ["b_weak"]
    weak = out.filter(pl.col("rep_id") == "b_weak").row(0, named=True)
    assert weak["ci_high"] < weak["team_median_excl_rep"]
    assert "120 meetings" in weak["flag_reason"]
    assert out.filter(~pl.col("flag"))["flag_reason"].null_count() == out.height - 1


def test_small_sample_bdr_with_no_wins_not_flagged():
    out = _funnel()
    small = out.filter(pl.col("rep_id") == "b_small").row(0, named=True)
    assert small["meetings_booked"] == 4
    assert small["won"] == 0
    assert small["won_per_meeting"] == 0.0
    assert small["evidence"] == "too_few"
    assert small["flag"] is False
    # even without the floor, the interval is too wide to lie below the median
    no_floor = bdr_funnel(*funnel_dataset(), period=Q3, min_meetings=1)
    assert no_floor.filter(pl.col("flag"))["rep_id"].to_list() == ["b_weak"]


def test_counts_rows_and_order():
    out = _funnel()
    # one row per BDR with meetings in the period, AE-booked meeting excluded
    assert out["rep_id"].to_list() == ["b_n1", "b_n2", "b_n3", "b_small", "b_weak", "b_w1", "b_w2"]
    n1 = out.filter(pl.col("rep_id") == "b_n1").row(0, named=True)
    # the Q2 meeting of b_n1 is not counted
    assert (n1["meetings_booked"], n1["meetings_held"], n1["meetings_no_show"]) == (100, 80, 20)
    assert (n1["opportunities"], n1["won"], n1["lost"]) == (25, 15, 10)
    assert n1["show_rate"] == pytest.approx(0.8)
    # held 80: 15 won, 10 lost, 55 without opportunity -> (10 + 55) / 80 disqualified
    assert n1["disqualification_rate"] == pytest.approx(65 / 80)


def test_won_per_meeting_and_wilson_match_statsmodels():
    out = _funnel()
    for row in out.iter_rows(named=True):
        assert row["won_per_meeting"] == pytest.approx(row["won"] / row["meetings_booked"])
        low, high = proportion_confint(row["won"], row["meetings_booked"], method="wilson")
        assert row["ci_low"] == pytest.approx(low, abs=1e-12)
        assert row["ci_high"] == pytest.approx(high, abs=1e-12)


def test_hand_case_wilson_and_team_median():
    reps = frame("reps", [rep("x", "BDR", "t"), rep("y", "BDR", "t"), rep("z", "BDR", "t")])
    meetings, opps = [], []
    for bdr, n, won in (("x", 20, 3), ("y", 10, 4), ("z", 30, 6)):
        for i in range(n):
            opp = f"{bdr}o{i}" if i < won else None
            meetings.append(
                {
                    "meeting_id": f"{bdr}{i}",
                    "booked_by": bdr,
                    "booked_at": Q3_START + timedelta(days=i),
                    "status": "held",
                    "opportunity_id": opp,
                }
            )
            if opp:
                opps.append(
                    {
                        "opportunity_id": opp,
                        "owner_id": "x",
                        "created_at": Q3_START,
                        "stage": "Closed Won",
                        "is_closed": True,
                        "is_won": True,
                        "closed_at": date(2026, 9, 1),
                    }
                )
    out = bdr_funnel(frame("meetings", meetings), frame("opportunities", opps), reps, period=Q3)
    x = out.filter(pl.col("rep_id") == "x").row(0, named=True)
    assert x["won_per_meeting"] == 0.15
    assert x["ci_low"] == pytest.approx(0.05236, abs=1e-5)
    assert x["ci_high"] == pytest.approx(0.36041, abs=1e-5)
    assert x["ci_low"] == proportion_confint(3, 20, alpha=0.05, method="wilson")[0]
    # medians: 0.15, 0.4, 0.2 -> 0.2; without x: median(0.4, 0.2) = 0.3
    assert out["team_median_won_per_meeting"].unique().to_list() == [0.2]
    assert x["team_median_excl_rep"] == pytest.approx(0.3)
    assert out["team_median_meetings_booked"].unique().to_list() == [20.0]


def test_credit_stays_with_bdr_after_owner_change():
    reps = frame("reps", [rep("b1", "BDR", "t"), rep("ae1", "AE", "t"), rep("ae2", "AE", "t")])
    t = datetime(2026, 7, 6, 10, tzinfo=UTC)
    meetings = frame(
        "meetings",
        [
            # linked meeting: opportunity now owned by ae2 (was booked for ae1)
            {"meeting_id": "m1", "booked_by": "b1", "owner_id": "ae1", "booked_at": t,
             "status": "held", "opportunity_id": "o1"},
            # unlinked meeting; the opportunity names b1 as source, owner changed too
            {"meeting_id": "m2", "booked_by": "b1", "owner_id": "ae1",
             "booked_at": t + timedelta(days=1), "status": "held", "lead_id": "L2"},
        ],
    )  # fmt: skip
    opps = frame(
        "opportunities",
        [
            {"opportunity_id": "o1", "owner_id": "ae2", "sourced_by": None,
             "created_at": t + timedelta(days=2), "stage": "Closed Won", "is_closed": True,
             "is_won": True, "closed_at": date(2026, 8, 1)},
            {"opportunity_id": "o2", "owner_id": "ae2", "sourced_by": "b1",
             "created_at": t + timedelta(days=5), "stage": "Closed Won", "is_closed": True,
             "is_won": True, "closed_at": date(2026, 8, 2)},
            # sourced by b1 but created 200 days after any of b1's meetings: not credited
            {"opportunity_id": "o3", "owner_id": "ae2", "sourced_by": "b1",
             "created_at": t + timedelta(days=200), "stage": "Closed Won", "is_closed": True,
             "is_won": True, "closed_at": date(2027, 3, 1)},
        ],
    )  # fmt: skip
    credit = attribute_opportunities(meetings, opps).collect().sort("opportunity_id")
    assert credit.select("opportunity_id", "meeting_id", "attribution").rows() == [
        ("o1", "m1", "meeting_link"),
        ("o2", "m2", "sourced_by"),
    ]
    out = bdr_funnel(meetings, opps, reps, period=Q3)
    assert out["rep_id"].to_list() == ["b1"]
    assert out.select("opportunities", "won").row(0) == (2, 2)


def test_opportunity_linked_by_two_meetings_counts_once_in_earliest_cohort():
    reps = frame("reps", [rep("b1", "BDR", "t"), rep("b2", "BDR", "t")])
    meetings = frame(
        "meetings",
        [
            {"meeting_id": "early", "booked_by": "b1", "booked_at": datetime(2026, 6, 20, tzinfo=UTC),
             "status": "held", "opportunity_id": "o1"},
            {"meeting_id": "late", "booked_by": "b2", "booked_at": datetime(2026, 7, 20, tzinfo=UTC),
             "status": "held", "opportunity_id": "o1"},
        ],
    )  # fmt: skip
    opps = frame(
        "opportunities",
        [{"opportunity_id": "o1", "owner_id": "b1", "created_at": datetime(2026, 6, 21, tzinfo=UTC),
          "stage": "Closed Won", "is_closed": True, "is_won": True, "closed_at": date(2026, 8, 1)}],
    )  # fmt: skip
    q3 = bdr_funnel(meetings, opps, reps, period=Q3)
    assert q3.select("rep_id", "opportunities", "won").rows() == [("b2", 0, 0)]
    q2 = bdr_funnel(meetings, opps, reps, period=Period.quarter("2026Q2"))
    assert q2.select("rep_id", "opportunities", "won").rows() == [("b1", 1, 1)]


def test_timezone_moves_meeting_across_period_edge():
    reps = frame("reps", [rep("b1", "BDR", "t")])
    # 2026-10-01 02:00 UTC is still 2026-09-30 in New York
    meetings = frame(
        "meetings",
        [{"meeting_id": "m", "booked_by": "b1", "booked_at": datetime(2026, 10, 1, 2, tzinfo=UTC),
          "status": "held"}],
    )  # fmt: skip
    assert bdr_funnel(meetings, None, reps, period=Q3).height == 0
    ny = bdr_funnel(meetings, None, reps, period=Q3, tz="America/New_York")
    assert ny["meetings_booked"].to_list() == [1]


def test_without_opportunities_outcomes_are_null_not_zero():
    meetings, _, reps = funnel_dataset()
    out = bdr_funnel(meetings, None, reps, period=Q3)
    assert out["meetings_booked"].sum() > 0
    for col in ("opportunities", "won", "won_per_meeting", "ci_low", "disqualification_rate"):
        assert out[col].null_count() == out.height, col
    assert not out["flag"].any()


def test_as_of_treats_later_outcomes_as_open():
    meetings, opps, reps = funnel_dataset()
    early = bdr_funnel(meetings, opps, reps, period=Q3, as_of=date(2026, 7, 2))
    assert early["won"].sum() == 0
    assert early["opportunities"].sum() == _funnel()["opportunities"].sum()
