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


def _reference_horizon_tests(df, cells, *, alpha, horizon, exceptional_alpha):
    """The per-BDR loop that ``_horizon_tests`` replaced: one statsmodels ``SurvfuncRight``
    (``km_cumulative_share``) and one ``survdiff`` per BDR and pool: the reference."""
    import numpy as np
    from statsmodels.duration.survfunc import survdiff

    from analysis.metrics import exprs
    from analysis.metrics.stats import km_cumulative_share

    def one_sided(days, event, n, mine, *, below, fewer):
        if not mine.any() or not (~mine).any() or (event * n).sum() <= 0:
            return None
        try:
            _, p_two = survdiff(
                np.repeat(days, n), np.repeat(event, n), np.repeat(mine.astype(np.int64), n)
            )
        except np.linalg.LinAlgError:
            return None
        p = float(p_two) / 2 if below == fewer else 1 - float(p_two) / 2
        return p if np.isfinite(p) else None

    team_of = dict(zip(df["rep_id"].to_list(), df["team"].to_list(), strict=True))
    sufficient = set(df.filter(pl.col("evidence") == "sufficient")["rep_id"].to_list())
    c_rep = cells["rep_id"].to_numpy()
    c_team = np.array([team_of.get(r) for r in c_rep], dtype=object)
    c_days = cells["_days"].to_numpy().astype(float)
    c_event = cells["_event"].to_numpy().astype(np.int64)
    c_n = cells["_n"].to_numpy().astype(np.int64)
    members: dict = {}
    for rep_id, team in team_of.items():
        members.setdefault(team, []).append(rep_id)

    def share(rows, days, event, n):
        return km_cumulative_share(
            days[rows], event[rows], n[rows].astype(float), at=float(horizon), alpha=alpha
        )

    def lower(a, b):
        return a["share"] is not None and b["share"] is not None and a["share"] < b["share"]

    above, teams = [], {}
    for team, team_reps in members.items():
        keep = c_team == team
        days, event, n, reps = c_days[keep], c_event[keep], c_n[keep], c_rep[keep]
        teams[team] = (days, event, n, reps)
        for rep_id in team_reps if len(team_reps) >= 3 else []:
            mine = reps == rep_id
            below = lower(share(mine, days, event, n), share(~mine, days, event, n))
            p = one_sided(days, event, n, mine, below=below, fewer=False)
            above.append({"rep_id": rep_id, "team": team, "p_more": p})
    exceptional = set()
    if above:
        adjusted = pl.DataFrame(
            above, schema={"rep_id": pl.String, "team": pl.String, "p_more": pl.Float64}
        ).with_columns(exprs.holm_adjusted("p_more", over="team"))
        exceptional = set(adjusted.filter(pl.col("p_more") < exceptional_alpha)["rep_id"])
    rows = []
    for team, team_reps in members.items():
        days, event, n, reps = teams[team]
        left_out = np.isin(reps, [r for r in team_reps if r in exceptional])
        for rep_id in team_reps:
            mine = reps == rep_id
            pool = ~mine & ~left_out
            km, others = share(mine, days, event, n), share(pool, days, event, n)
            p_value = None
            if rep_id in sufficient and len(team_reps) >= 2:
                keep = mine | pool
                p_value = one_sided(
                    days[keep], event[keep], n[keep], mine[keep],
                    below=lower(km, others), fewer=True,
                )  # fmt: skip
            rows.append(
                {"rep_id": rep_id, "team": team, "won_by_horizon": km["share"],
                 "won_by_horizon_ci_low": km["low"], "won_by_horizon_ci_high": km["high"],
                 "others_won_by_horizon": others["share"], "flag_p_value": p_value}
            )  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("^won.*$", "others_won_by_horizon", "flag_p_value").cast(pl.Float64),
        exprs.holm_adjusted("flag_p_value", over="team").alias("flag_p_adjusted"),
    )


def _random_bdrs(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """BDRs in four teams (one to six each, one outstanding BDR) and their meeting cells."""
    import numpy as np

    rng = np.random.default_rng(seed)
    reps, cells = [], []
    for t in range(4):
        for b in range(int(rng.integers(1, 7)) if t != 1 else 6):
            rep_id = f"b{t}{b}"
            booked = int(rng.integers(1, 40)) if (t, b) != (1, 0) else 60
            reps.append({"rep_id": rep_id, "team": f"t{t}",
                         "evidence": "sufficient" if booked >= 10 else "too_few"})  # fmt: skip
            rate = 0.95 if (t, b) == (1, 0) else rng.uniform(0.05, 0.4)
            for _ in range(booked):
                won = rng.random() < rate
                days = float(rng.integers(0, 61)) if won else float(rng.choice([20, 45, 60]))
                cells.append({"rep_id": rep_id, "_days": days, "_event": won, "_n": 1})
    cells_df = (
        pl.DataFrame(cells)
        .group_by("rep_id", "_days", "_event")
        .agg(pl.col("_n").sum().cast(pl.Int64))
        .sort("rep_id", "_days", "_event")
    )
    return pl.DataFrame(reps), cells_df


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_horizon_tests_equal_one_survfunc_and_survdiff_per_bdr(seed):
    """``_horizon_tests`` fits every BDR, rest and pool at once (``km_grid``,
    ``logrank_grid``); the reference fits one ``SurvfuncRight`` / ``survdiff`` per BDR."""
    import numpy as np

    from analysis.metrics.funnel import _horizon_tests

    df, cells = _random_bdrs(seed)
    kw = {"alpha": 0.05, "horizon": 60, "exceptional_alpha": 0.001}
    got = _horizon_tests(df, cells, **kw).sort("rep_id")
    ref = _reference_horizon_tests(df, cells, **kw).sort("rep_id")
    assert got["rep_id"].to_list() == ref["rep_id"].to_list()
    for column in ref.columns[2:]:
        a, b = got[column].to_numpy(), ref[column].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=column)
    assert ref["flag_p_value"].is_not_null().sum() >= 5
    # the outstanding BDR b10 is left out of team t1's pool: b11's pool wins less than the
    # rest of the team (b10 included) would
    from analysis.metrics.stats import km_cumulative_share

    rest = cells.filter(pl.col("rep_id").is_in([f"b1{b}" for b in (0, 2, 3, 4, 5)]))
    rest_share = km_cumulative_share(
        rest["_days"].to_numpy(),
        rest["_event"].cast(pl.Int64).to_numpy(),
        rest["_n"].cast(pl.Float64).to_numpy(),
        at=60.0,
    )["share"]
    pool_share = ref.filter(pl.col("rep_id") == "b11")["others_won_by_horizon"].item()
    assert pool_share < rest_share - 0.03
