"""Handoff latency: exact latencies, SLA shares, censoring at the period edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from outcomes_fixtures import Q3, frame, handoff_dataset, rep
from statsmodels.stats.proportion import proportion_confint

from analysis.metrics.handoffs import handoff_summary, handoffs


def _table() -> tuple[pl.DataFrame, dict]:
    meetings, acts, reps, planted = handoff_dataset()
    out = handoffs(meetings, acts, period=Q3, reps=reps)
    assert isinstance(out, pl.LazyFrame)
    return out.collect(), planted


def _row(df: pl.DataFrame, mid: str) -> dict:
    return df.filter(pl.col("meeting_id") == mid).row(0, named=True)


def test_one_row_per_meeting_in_period_sorted():
    out, planted = _table()
    assert sorted(out["meeting_id"].to_list()) == sorted(planted)
    assert "outside" not in out["meeting_id"].to_list()
    assert out["booked_at"].is_sorted()
    assert out.schema["first_ae_touch_at"] == pl.Datetime("us", "UTC")


def test_latencies_exact_for_hand_case():
    out, planted = _table()
    for mid, hours in planted.items():
        row = _row(out, mid)
        if hours is None:
            assert row["first_ae_touch_at"] is None, mid
            assert row["latency_hours"] is None, mid
        else:
            assert row["latency_hours"] == pytest.approx(hours), mid
            assert row["first_ae_touch_at"] == row["booked_at"] + timedelta(hours=hours)


def test_touch_before_booking_and_by_other_rep_ignored():
    out, _ = _table()
    # h2 had an owner touch 1 h *before* booking: first touch is the later one (30 h)
    assert _row(out, "h2")["latency_hours"] == pytest.approx(30.0)
    # h3 had a touch by ae2 after 1 h; the owner ae1 touched at 20 h
    assert _row(out, "h3")["latency_hours"] == pytest.approx(20.0)
    assert _row(out, "h3")["team"] == "east"


def test_within_24h_and_censoring_at_period_edge():
    out, _ = _table()
    expected = {
        "h1": True,
        "h2": False,  # touched after 30 h
        "h3": True,
        "h4": True,  # touched at booked_at exactly
        "h5": False,  # never touched, long ago
        "edge30": False,  # no touch, booked 30 h before the end
        "edge10": None,  # no touch, booked 10 h before the end: censored
        "edge5": True,  # touched 6 h later, after the period end: the data shows it
    }
    got = dict(zip(out["meeting_id"], out["within_24h"], strict=True))
    assert got == expected
    assert out.filter(pl.col("censored"))["meeting_id"].sort().to_list() == ["edge10"]


def test_sla_is_a_parameter():
    meetings, acts, reps, _ = handoff_dataset()
    out = handoffs(meetings, acts, period=Q3, reps=reps, sla_hours=8.0).collect()
    assert _row(out, "h3")["within_24h"] is False  # 20 h > 8 h
    assert _row(out, "h1")["within_24h"] is True  # 2.5 h
    # with an 8 h SLA the meeting booked 10 h before the end is decided; the 5-h one was
    # touched after 6 h
    assert _row(out, "edge10")["within_24h"] is False
    assert _row(out, "edge5")["within_24h"] is True


def test_summary_shares_match_planted_latencies():
    out, planted = _table()
    summary = handoff_summary(out.lazy())
    assert summary["level"].to_list() == ["team", "team", "bdr", "bdr"]
    b1 = summary.filter((pl.col("level") == "bdr") & (pl.col("bdr_id") == "b1")).row(0, named=True)
    # b1: h1 2.5 h, h2 30 h, h3 20 h
    assert (b1["meetings"], b1["touched"], b1["n_censored"]) == (3, 3, 0)
    assert b1["median_latency_hours"] == pytest.approx(20.0)
    b1_lat = [planted[m] for m in ("h1", "h2", "h3")]
    assert b1["share_within_24h"] == pytest.approx(sum(h <= 24 for h in b1_lat) / 3)
    assert b1["median_latency_hours"] == pytest.approx(sorted(b1_lat)[1])
    low, high = proportion_confint(2, 3, method="wilson")
    assert (b1["ci_low"], b1["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    west = summary.filter((pl.col("level") == "team") & (pl.col("team") == "west")).row(
        0, named=True
    )
    # west (b2): h4 true, h5 false, edge30 false, edge5 true, edge10 censored
    assert (west["meetings"], west["touched"], west["n_decided"], west["n_censored"]) == (
        5,
        2,
        4,
        1,
    )
    # Kaplan-Meier, edge10 censored at 10 h (untouched at the period end): touched at
    # 0 h (1 of 5 at risk), at 6 h (1 of 4), nothing more before 24 h among the rest:
    # S(24 h) = 4/5 * 3/4 = 0.6, so 0.4 within 24 h. The share of the decided (2/4)
    # would drop the censored, still untouched meeting and overstate the share.
    assert west["share_within_24h"] == pytest.approx(1 - 4 / 5 * 3 / 4)
    assert west["bdr_id"] is None
    # median: S falls to 0.6 and then no further touch: never reaches one half -> null
    assert west["median_latency_hours"] is None
    assert 0 < west["ci_low"] < 0.4 < west["ci_high"] < 1


def test_summary_kaplan_meier_matches_statsmodels_on_many_meetings():
    from statsmodels.duration.survfunc import SurvfuncRight

    rng = __import__("numpy").random.default_rng(3)
    n = 300
    latency = rng.exponential(20.0, n)
    followup = rng.uniform(0, 80, n)  # hours from booking to as-of
    touched = latency <= followup
    h = pl.DataFrame(
        {
            "team": ["t"] * n,
            "bdr_id": ["b"] * n,
            "first_ae_touch_at": [1 if x else None for x in touched],
            "latency_hours": [
                float(v) if x else None for v, x in zip(latency, touched, strict=True)
            ],
            "followup_hours": [float(min(v, f)) for v, f in zip(latency, followup, strict=True)],
            "within_24h": [
                bool(v <= 24) if x else (False if f >= 24 else None)
                for v, f, x in zip(latency, followup, touched, strict=True)
            ],
        }
    )
    row = handoff_summary(h.lazy()).row(0, named=True)
    sf = SurvfuncRight(h["followup_hours"].to_numpy(), touched.astype(int))
    s24 = sf.surv_prob[sf.surv_times <= 24][-1]
    assert row["share_within_24h"] == pytest.approx(1 - s24)
    assert row["median_latency_hours"] == pytest.approx(sf.quantile(0.5))
    # the truth: P(exponential(20) <= 24) = 0.699; the naive share of decided is biased
    assert abs(row["share_within_24h"] - 0.699) < 0.08
    assert row["ci_low"] < 0.699 < row["ci_high"]


def test_summary_all_censored_share_is_null_not_zero():
    end = datetime(2026, 10, 1, tzinfo=UTC)
    meetings = frame(
        "meetings",
        [{"meeting_id": "m", "booked_by": "b", "owner_id": "a", "status": "held",
          "booked_at": end - timedelta(hours=3), "lead_id": "L"}],
    )  # fmt: skip
    acts = frame("activities", [])
    reps = frame("reps", [rep("b", "BDR", "t"), rep("a", "AE", "t")])
    out = handoffs(meetings, acts, period=Q3, reps=reps)
    summary = handoff_summary(out)
    assert summary["share_within_24h"].to_list() == [None, None]
    assert summary["n_censored"].to_list() == [1, 1]


def test_meeting_without_ae_counts_as_untouched():
    meetings = frame(
        "meetings",
        [{"meeting_id": "m", "booked_by": "b", "owner_id": None, "status": "held",
          "booked_at": datetime(2026, 8, 1, tzinfo=UTC), "lead_id": "L"}],
    )  # fmt: skip
    acts = frame(
        "activities",
        [{"activity_id": "x", "rep_id": "a", "occurred_at": datetime(2026, 8, 1, 1, tzinfo=UTC),
          "activity_type": "call", "lead_id": "L"}],
    )  # fmt: skip
    out = handoffs(meetings, acts, period=Q3).collect()
    assert out.select("first_ae_touch_at", "within_24h", "team").row(0) == (None, False, None)


def test_summary_equals_one_survfuncright_per_group_on_random_meetings():
    """``handoff_summary`` fits every team and BDR at once (``stats.km_shares``); the
    reference is one ``SurvfuncRight`` (``km_cumulative_share``) per group's meetings."""
    import numpy as np

    from analysis.metrics.stats import km_cumulative_share

    rng = np.random.default_rng(5)
    n = 400
    touched = rng.random(n) < 0.7
    followup = np.where(touched, rng.exponential(20, n), rng.uniform(1, 80, n)).round(1)
    decided = touched | (followup >= 24)
    h = pl.DataFrame(
        {
            "team": rng.choice(["t1", "t2", None], n).tolist(),
            "bdr_id": [f"b{i}" for i in rng.integers(0, 12, n)],
            "first_ae_touch_at": np.where(touched, 1, None).tolist(),
            "followup_hours": np.where(rng.random(n) < 0.02, None, followup).tolist(),
            "within_24h": np.where(decided, touched & (followup <= 24), None).tolist(),
        },
        schema_overrides={"first_ae_touch_at": pl.Int64, "followup_hours": pl.Float64},
    )
    out = handoff_summary(h.lazy())
    for row in out.iter_rows(named=True):
        keys = {"team": row["team"]} | ({"bdr_id": row["bdr_id"]} if row["level"] == "bdr" else {})
        part = h.filter(*[pl.col(k).eq_missing(v) for k, v in keys.items()])
        assert row["meetings"] == part.height
        part = part.filter(pl.col("followup_hours").is_not_null())
        ref = km_cumulative_share(
            part["followup_hours"].to_numpy(),
            part["first_ae_touch_at"].is_not_null().cast(pl.Int64).to_numpy(),
            np.ones(part.height),
            at=24.0,
        )
        for column, key in (("share_within_24h", "share"), ("ci_low", "low"),
                            ("ci_high", "high"), ("median_latency_hours", "median")):  # fmt: skip
            if ref[key] is None:
                assert row[column] is None, (row, column)
            else:
                assert row[column] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), column
    assert out.filter(pl.col("level") == "bdr").height >= 30
