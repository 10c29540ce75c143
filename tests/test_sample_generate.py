"""The synthetic organisation: determinism, dirty rows, and every planted effect.

Every number is recomputed from the CSV files with polars (see sample_fixtures.py)
and compared with planted.json, which the metric tests rely on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sample_fixtures import TABLES, classify, clean, read_raw, reason_flags, with_local_day

from analysis.canonical.schemas import TABLES as SCHEMAS
from analysis.sample.generate import generate_sample

START, END = date(2026, 7, 1), date(2026, 10, 1)
START_TS = datetime(2026, 7, 1, tzinfo=UTC)
END_TS = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out, seed=7)


@pytest.fixture(scope="module")
def planted(sample: tuple[Path, dict]) -> dict:
    return sample[1]


@pytest.fixture(scope="module")
def raw(sample: tuple[Path, dict]) -> dict[str, pl.DataFrame]:
    return {t: read_raw(sample[0], t) for t in TABLES}


@pytest.fixture(scope="module")
def acts(raw: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Clean activities with the rep's local day and seq_in_day."""
    frame = with_local_day(clean(raw, "activities"), clean(raw, "reps"), "occurred_at")
    return frame.with_columns(
        in_period=pl.col("day").is_between(START, END, closed="left"),
        seq=pl.col("occurred_at").rank("ordinal").over("rep_id", "day"),
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_sample(out, seed=3, scale=0.25)


# ---------------------------------------------------------------- determinism
def test_same_seed_gives_byte_identical_files(small, tmp_path: Path) -> None:
    again = generate_sample(tmp_path, seed=3, scale=0.25)
    for name in [*(f"{t}.csv" for t in TABLES), "planted.json"]:
        assert (tmp_path / name).read_bytes() == (small[0] / name).read_bytes(), name
    assert again == small[1]


def test_different_seed_gives_different_data(small, tmp_path: Path) -> None:
    other = generate_sample(tmp_path, seed=4, scale=0.25)
    for table in ("activities", "meetings", "opportunities"):
        assert (tmp_path / f"{table}.csv").read_bytes() != (small[0] / f"{table}.csv").read_bytes()
    assert other["fatigue"]["p_rep"] != small[1]["fatigue"]["p_rep"]


def test_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_sample(tmp_path, scale=0)


# ---------------------------------------------------------------- files and dirty rows
def test_files_use_canonical_column_names(sample, raw) -> None:
    assert sorted(p.name for p in sample[0].iterdir()) == sorted(
        [*(f"{t}.csv" for t in TABLES), "planted.json"]
    )
    for table in TABLES:
        assert raw[table].columns == list(SCHEMAS[table].columns()), table


def test_every_dirty_row_fails_exactly_one_rule(raw, planted) -> None:
    for table in TABLES:
        flags = reason_flags(raw, table)
        reasons = [c for c in flags.columns if c not in raw[table].columns and c != "_row"]
        n_reasons = flags.select(pl.sum_horizontal(reasons).alias("n"))["n"]
        assert n_reasons.max() <= 1, table
        observed = {r: int(flags[r].sum()) for r in reasons if flags[r].sum() > 0}
        assert observed == planted["dirty_rows"][table], table
        assert planted["input_rows"][table] == raw[table].height
        dirty = sum(planted["dirty_rows"][table].values())
        assert planted["clean_rows"][table] == raw[table].height - dirty
        assert int((n_reasons == 0).sum()) == planted["clean_rows"][table]


def test_dirty_counts_cover_the_requested_cases(planted) -> None:
    dirty = planted["dirty_rows"]
    assert dirty["activities"]["duplicate"] == 40
    assert dirty["activities"]["unknown_rep"] == 25
    assert dirty["activities"]["unparseable_value"] >= 10
    assert dirty["activities"]["missing_required_value"] == 5
    assert dirty["meetings"]["missing_required_value"] == 1
    assert dirty["opportunities"]["unknown_rep"] >= 1
    assert dirty["opportunities"]["unparseable_value"] >= 1
    assert dirty["reps"] == {"duplicate": 1}


def test_copies_follow_their_original(raw) -> None:
    # "first kept" must keep the clean row: the copy comes later in the file.
    flags = reason_flags(raw, "meetings")
    for row in flags.filter(pl.col("duplicate_key")).iter_rows(named=True):
        first = flags.filter(pl.col("meeting_id") == row["meeting_id"])["_row"].min()
        assert first < row["_row"]
        assert flags.filter(pl.col("_row") == first)["duplicate_key"].item() is False


# ---------------------------------------------------------------- shape
def test_organisation_shape(raw, planted) -> None:
    reps = clean(raw, "reps")
    assert reps["team"].n_unique() >= 3
    role = pl.col("role").replace({"SDR": "BDR"})
    for r in ("BDR", "AE"):
        zones = reps.filter(role == r)["timezone"].drop_nulls().n_unique()
        assert zones >= 3, r
    assert reps.filter(pl.col("role") == "SDR").height >= 1
    assert reps.filter(pl.col("timezone").is_null())["rep_id"].to_list() == [
        planted["empty_timezone_rep"]["rep_id"]
    ]
    assert set(reps["role"].unique()) == {"MANAGER", "BDR", "SDR", "AE"}
    managers = reps.filter(pl.col("role") == "MANAGER")["rep_id"]
    assert reps.filter(pl.col("role") != "MANAGER")["manager_id"].is_in(managers.implode()).all()


def test_activities_mostly_inside_the_quarter(acts, planted) -> None:
    inside = int(acts["in_period"].sum())
    assert 200_000 <= acts.height <= 400_000
    assert inside / acts.height > 0.99
    assert acts.height - inside > 100  # some late-June / early-October activity to filter
    assert inside == planted["decisions"]["activities_in_period"]
    assert acts["activity_type"].is_in(["call", "email", "meeting", "task", "note", "stage_change", "linkedin"]).all()  # fmt: skip
    # local days differ from UTC days for evening West-coast and morning APAC work
    utc_day = pl.col("occurred_at").dt.date()
    assert acts.filter(pl.col("day") != utc_day).height > 1_000
    # Monday to Friday, mostly 08:00-19:00 local
    local = acts.filter(pl.col("in_period"), pl.col("activity_type") != "stage_change")
    weekday = local.filter(pl.col("day").dt.weekday() <= 5).height / local.height
    assert weekday > 0.99


def test_timestamps_mix_forms_and_offsets_are_local(acts, raw) -> None:
    text = raw["activities"]["occurred_at"].drop_nulls()
    z = text.str.ends_with("Z").mean()
    offset = text.str.contains(r"[+-]\d\d:\d\d$").mean()
    naive = text.str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$").mean()
    assert z > 0.7 and offset > 0.05 and naive > 0.03
    assert z + offset + naive == pytest.approx(1.0, abs=1e-3)
    # an offset is the rep's zone offset at that instant: wall clocks agree
    with_off = (
        acts.join(
            raw["activities"].select("activity_id", text="occurred_at"),
            on="activity_id",
        )
        .filter(pl.col("text").str.contains(r"[+-]\d\d:\d\d$"))
        .with_columns(wall=pl.col("text").str.slice(0, 10).str.to_date())
    )
    assert with_off.height > 10_000
    assert (with_off["wall"] == with_off["day"]).all()


def test_decision_mix_and_coverage(acts, planted) -> None:
    pairs = acts.select("activity_type", "subject").unique()
    decided = pairs.with_columns(
        decision=pl.Series([classify(t, s) for t, s in pairs.iter_rows()], dtype=pl.String)
    )
    inside = acts.filter("in_period").join(decided, on=["activity_type", "subject"])
    counts = dict(inside.group_by("decision").len().iter_rows())
    assert counts == planted["decisions"]["by_decision"]
    share = counts["unclassified"] / inside.height
    assert 0.03 <= share <= 0.05
    klass = pl.col("decision").replace_strict(
        {
            "prioritization": "pr",
            "sequencing": "pr",
            "next_best_action": "pr",
            "qualification": "j",
            "objection_handling": "j",
            "close_strategy": "j",
            "unclassified": "u",
        }
    )
    by_role = (
        inside.with_columns(k=klass, r=pl.col("role").replace({"SDR": "BDR"}))
        .group_by("r")
        .agg(pr=(pl.col("k") == "pr").mean(), j=(pl.col("k") == "j").mean())
    )
    roles = {r: (pr, j) for r, pr, j in by_role.iter_rows()}
    assert roles["BDR"][0] > 0.7
    assert roles["AE"][1] > 0.6


# ---------------------------------------------------------------- 1. fatigue
def test_fatigue_drop_after_45_decisions(acts, planted) -> None:
    q = acts.filter("in_period", pl.col("outcome").is_in(["positive", "negative"])).with_columns(
        after=pl.col("seq") > 45, pos=pl.col("outcome") == "positive"
    )
    before = q.filter(~pl.col("after"))["pos"]
    after = q.filter("after")["pos"]
    expected = planted["fatigue"]["empirical"]["all"]
    assert (before.len(), after.len()) == (expected["n_before"], expected["n_after"])
    assert before.mean() == pytest.approx(expected["quality_before"], abs=1e-6)
    assert after.mean() == pytest.approx(expected["quality_after"], abs=1e-6)
    # within rep (Mantel-Haenszel risk ratio) in the teams with the step: the planted 30%
    steps = q.filter(pl.col("team").is_in(planted["fatigue"]["teams"]))
    assert steps["team"].n_unique() == 3
    per_rep = steps.group_by("rep_id").agg(
        n1=pl.col("after").sum(),
        n0=(~pl.col("after")).sum(),
        a=(pl.col("after") & pl.col("pos")).sum(),
        b=(~pl.col("after") & pl.col("pos")).sum(),
    )
    n = per_rep["n1"] + per_rep["n0"]
    ratio = (per_rep["a"] * per_rep["n0"] / n).sum() / (per_rep["b"] * per_rep["n1"] / n).sum()
    assert 1 - ratio == pytest.approx(planted["fatigue"]["relative_drop"], abs=0.03)
    assert planted["fatigue"]["threshold"] == 45
    # just below the threshold there is no drop yet
    near = steps.filter(pl.col("seq").is_between(31, 45))["pos"].mean()
    assert near == pytest.approx(steps.filter(~pl.col("after"))["pos"].mean(), abs=0.02)


def test_fatigue_confound_team_looks_fatigued_but_has_no_step(acts, planted) -> None:
    confound = planted["fatigue"]["confound"]
    assert confound["team"] not in planted["fatigue"]["teams"] and not confound["fatigue_step"]
    q = acts.filter(
        "in_period",
        pl.col("team") == confound["team"],
        pl.col("outcome").is_in(["positive", "negative"]),
    ).with_columns(pos=pl.col("outcome") == "positive", after=pl.col("seq") > 45)
    # the raw before/after comparison within rep is fooled: a large "drop"
    per_rep = q.group_by("rep_id").agg(
        a=pl.col("pos").filter("after").mean(), b=pl.col("pos").filter(~pl.col("after")).mean()
    )
    assert (1 - per_rep["a"] / per_rep["b"]).median() > 0.1
    assert confound["empirical"]["relative_drop_within_rep"] > 0.1
    # late afternoons (local clock) are worse ...
    local = q.with_columns(
        hour=pl.col("occurred_at").dt.convert_time_zone("Australia/Sydney").dt.hour()
    ).filter(pl.col("zone") == "Australia/Sydney")
    late = local.filter(pl.col("hour") >= confound["late_from_hour"])["pos"].mean()
    early = local.filter(pl.col("hour").is_between(9, 14))["pos"].mean()
    assert early - late > 0.08
    # ... and busy days are worse days (rep-days split at the rep's median count)
    days = (
        acts.filter("in_period", pl.col("team") == confound["team"])
        .group_by("rep_id", "day")
        .agg(count=pl.len())
        .with_columns(busy=pl.col("count") > pl.col("count").median().over("rep_id"))
    )
    by_day = q.join(days, on=["rep_id", "day"]).filter(pl.col("seq") <= 20)
    quiet, busy = (by_day.filter(pl.col("busy") == b)["pos"].mean() for b in (False, True))
    assert quiet - busy > 0.03


def test_daily_decision_counts_straddle_the_threshold(acts, planted) -> None:
    load = acts.filter("in_period").group_by("rep_id", "day").len()
    over = load.filter(pl.col("len") > 45).height / load.height
    assert 0.5 < over < 0.9
    assert load.height == planted["decisions"]["rep_days"]
    ics = acts.filter("in_period", pl.col("role") != "MANAGER").group_by("rep_id", "day").len()
    assert ics["len"].quantile(0.1) < 45 < ics["len"].quantile(0.9)


# ---------------------------------------------------------------- 2. weak BDR
def _bdr_funnel(raw: dict[str, pl.DataFrame]) -> pl.DataFrame:
    meetings = clean(raw, "meetings").filter(
        pl.col("booked_at").is_between(START_TS, END_TS, closed="left")
    )
    opps = clean(raw, "opportunities")
    won = (
        opps.filter(pl.col("is_won"), pl.col("closed_at").is_between(START, END, closed="left"))
        .group_by(rep_id="sourced_by")
        .agg(won=pl.len())
    )
    booked = meetings.group_by(rep_id="booked_by").agg(booked=pl.len())
    reps = clean(raw, "reps").select("rep_id", "team")
    return (
        booked.join(won, on="rep_id", how="left")
        .join(reps, on="rep_id")
        .with_columns(pl.col("won").fill_null(0))
        .with_columns(rate=pl.col("won") / pl.col("booked"))
        .sort("rep_id")
    )


def test_weak_bdr_books_plenty_but_wins_a_quarter(raw, planted) -> None:
    funnel = _bdr_funnel(raw)
    weak = planted["weak_bdr"]
    team = funnel.filter(pl.col("team") == weak["team"])
    me = team.filter(pl.col("rep_id") == weak["rep_id"]).row(0, named=True)
    others = team.filter(pl.col("rep_id") != weak["rep_id"])
    assert me["booked"] >= team["booked"].median()
    assert me["rate"] <= 0.35 * others["rate"].median()
    assert me["rate"] == pytest.approx(weak["won_per_meeting"], abs=1e-6)
    assert others["rate"].min() > 0.12
    for row in funnel.iter_rows(named=True):
        expected = planted["bdr_funnel"][row["rep_id"]]
        assert (row["booked"], row["won"]) == (expected["meetings_booked"], expected["won"])
    # no BDR of another team looks weak by accident
    median = funnel.group_by("team").agg(m=pl.col("rate").median())
    rest = funnel.join(median, on="team").filter(pl.col("rep_id") != weak["rep_id"])
    assert (rest["rate"] > 0.7 * rest["m"]).all()


# ---------------------------------------------------------------- 3. skill gap
def test_skill_gap_ratio_and_edge_cases(raw, planted) -> None:
    opps = clean(raw, "opportunities")
    in_period = pl.col("closed_at").is_between(START, END, closed="left") & pl.col("is_closed")
    per_ae = opps.group_by("owner_id").agg(
        closed=in_period.sum(), won=(in_period & pl.col("is_won")).sum(), owned=pl.len()
    )
    stats = {r["owner_id"]: r for r in per_ae.iter_rows(named=True)}
    gap = planted["skill_gap"]
    top, weak = stats[gap["top_ae"]], stats[gap["weak_ae"]]
    ratio = (weak["won"] / weak["closed"]) / (top["won"] / top["closed"])
    assert ratio == pytest.approx(gap["true_ratio"], abs=0.03)
    assert ratio == pytest.approx(gap["observed_ratio"], abs=1e-6)
    for ae in [gap["top_ae"], gap["weak_ae"], *gap["other_aes"]]:
        assert stats[ae]["closed"] >= 60
    assert (stats[gap["too_few_ae"]]["closed"], stats[gap["too_few_ae"]]["won"]) == (3, 3)
    assert stats[gap["open_only_ae"]]["closed"] == 0
    assert stats[gap["open_only_ae"]]["owned"] > 0
    for ae, expected in planted["skill_gaps"].items():
        assert (stats[ae]["closed"], stats[ae]["won"]) == (expected["closed"], expected["won"])
    # the top AE is the best of the team's sufficient AEs
    team = [gap["top_ae"], gap["weak_ae"], *gap["other_aes"]]
    rates = {ae: stats[ae]["won"] / stats[ae]["closed"] for ae in team}
    assert max(rates, key=rates.get) == gap["top_ae"]


# ---------------------------------------------------------------- 4. hygiene
def test_hygiene_dirty_team_scores_low(raw, acts, planted) -> None:
    reps = clean(raw, "reps").select("rep_id", "team")
    opps = clean(raw, "opportunities").join(reps, left_on="owner_id", right_on="rep_id")
    stage = pl.col("stage")
    consistent = (
        pl.when(pl.col("is_closed") & pl.col("is_won"))
        .then(stage == "Closed Won")
        .when(pl.col("is_closed"))
        .then(stage == "Closed Lost")
        .otherwise(~stage.is_in(["Closed Won", "Closed Lost"]))
    )
    spine = pl.all_horizontal(
        pl.col(c).is_not_null()
        for c in ("spine_situation", "spine_pain", "spine_impact", "spine_next_steps", "spine_economic_buyer")
    )  # fmt: skip
    lost = pl.col("is_closed") & ~pl.col("is_won")
    opp_parts = opps.group_by("team").agg(
        stage_consistent=consistent.mean(),
        lost_with_reason=pl.col("lost_reason").is_not_null().filter(lost).mean(),
        spine_complete=spine.mean(),
    )
    inside = acts.filter("in_period")
    act_parts = inside.group_by("team").agg(
        calls_with_notes=pl.col("notes").is_not_null().filter(pl.col("activity_type") == "call").mean(),
        activity_linked=(pl.col("lead_id").is_not_null() | pl.col("opportunity_id").is_not_null()).mean(),
    )  # fmt: skip
    parts = opp_parts.join(act_parts, on="team")
    components = ["stage_consistent", "lost_with_reason", "calls_with_notes", "spine_complete", "activity_linked"]  # fmt: skip
    dirty = planted["dirty_team"]
    for row in parts.iter_rows(named=True):
        expected = planted["hygiene"]["teams"][row["team"]]
        for c in components:
            assert row[c] == pytest.approx(expected[c], abs=1e-6), (row["team"], c)
        score = 100 * sum(row[c] for c in components) / len(components)
        if row["team"] == dirty:
            assert 40 <= score <= 55
            assert row["calls_with_notes"] < 0.5 and row["spine_complete"] < 0.5
            assert row["stage_consistent"] < 0.9 and row["activity_linked"] < 0.7
        else:
            assert score >= 80
            assert min(row[c] for c in components) > 0.85, row["team"]
    assert inside.filter(pl.col("team") == dirty, pl.col("lead_id").is_null(), pl.col("opportunity_id").is_null()).height > 10_000  # fmt: skip


# ---------------------------------------------------------------- 5. handoffs
def _handoffs(raw: dict[str, pl.DataFrame], acts: pl.DataFrame) -> pl.DataFrame:
    meetings = clean(raw, "meetings").filter(
        pl.col("booked_at").is_between(START_TS, END_TS, closed="left")
    )
    touches = acts.select("rep_id", "occurred_at", "lead_id", "opportunity_id")
    by_lead = meetings.join(
        touches.drop("opportunity_id").drop_nulls("lead_id"),
        left_on=["owner_id", "lead_id"],
        right_on=["rep_id", "lead_id"],
    )
    by_opp = meetings.drop_nulls("opportunity_id").join(
        touches.drop("lead_id").drop_nulls("opportunity_id"),
        left_on=["owner_id", "opportunity_id"],
        right_on=["rep_id", "opportunity_id"],
    )
    first = (
        pl.concat([f.select("meeting_id", "booked_at", "occurred_at") for f in (by_lead, by_opp)])
        .filter(pl.col("occurred_at") >= pl.col("booked_at"))
        .group_by("meeting_id")
        .agg(first=pl.col("occurred_at").min())
    )
    reps = clean(raw, "reps").select("rep_id", "team")
    return (
        meetings.join(first, on="meeting_id", how="left")
        .join(reps, left_on="booked_by", right_on="rep_id")
        .with_columns(latency=(pl.col("first") - pl.col("booked_at")).dt.total_seconds() / 3600)
        .with_columns(
            censored=pl.col("first").is_null()
            & (pl.col("booked_at") >= END_TS - timedelta(hours=24))
        )
        .with_columns(
            within=pl.when("censored").then(None).otherwise(pl.col("latency").fill_null(1e9) <= 24)
        )
    )


def test_handoffs_slow_in_one_team_and_censored_at_the_end(raw, acts, planted) -> None:
    h = _handoffs(raw, acts)
    slow = planted["slow_handoff_team"]
    for team, frame in h.group_by("team"):
        expected = planted["handoffs"]["teams"][team[0]]
        share = frame["within"].drop_nulls().mean()
        assert share == pytest.approx(expected["share_within_24h"], abs=1e-6)
        assert int(frame["censored"].sum()) == expected["censored"]
        if team[0] == slow:
            assert share < 0.25
            assert frame["latency"].median() > 24
        else:
            assert share > 0.9
            assert frame["latency"].median() < 8
    censored = h.filter("censored")
    assert censored.height >= 3
    assert sorted(censored["meeting_id"]) == planted["handoffs"]["censored_meeting_ids"]
    assert (censored["status"] == "scheduled").all()
    last_12h = censored.filter(pl.col("booked_at") >= END_TS - timedelta(hours=12))
    assert last_12h.height >= 3
    # never-touched meetings exist outside the censoring window too
    assert h.filter(pl.col("first").is_null(), ~pl.col("censored")).height > 10
    # owners are AEs of the booking BDR's team
    reps = clean(raw, "reps").select("rep_id", owner_team="team", owner_role="role")
    owners = h.join(reps, left_on="owner_id", right_on="rep_id")
    assert (owners["owner_team"] == owners["team"]).all()
    assert (owners["owner_role"] == "AE").all()


# ---------------------------------------------------------------- 6. funnel
def test_funnel_statuses_opportunities_and_stage_history(raw, planted) -> None:
    meetings = clean(raw, "meetings")
    opps = clean(raw, "opportunities")
    status = meetings["status"].value_counts(normalize=True)
    shares = dict(status.iter_rows())
    assert 0.68 < shares["held"] < 0.8
    assert 0.1 < shares["no_show"] < 0.2
    assert 0.04 < shares["canceled"] < 0.11
    assert 0 < shares["scheduled"] < 0.06
    linked = opps.join(
        meetings.select(
            "opportunity_id",
            "booked_by",
            "scheduled_for",
            meeting_owner="owner_id",
            m_status="status",
        ),
        on="opportunity_id",
    )
    assert linked.height == planted["funnel"]["from_meetings"]
    assert (linked["sourced_by"] == linked["booked_by"]).all()
    assert (linked["m_status"] == "held").all()
    assert (linked["created_at"] > linked["scheduled_for"]).all()
    changed = linked.filter(pl.col("owner_id") != pl.col("meeting_owner"))
    assert changed.height == len(planted["funnel"]["owner_changed"]) >= 3
    in_q = pl.col("closed_at").is_between(START, END, closed="left")
    early = opps.filter(pl.col("created_at") < START_TS)
    assert early.filter(in_q).height > 100
    assert opps.filter(pl.col("is_closed"), ~in_q).height == (
        planted["funnel"]["closed_after_period"] + planted["funnel"]["closed_before_period"]
    )
    assert opps.filter(~pl.col("is_closed"))["closed_at"].is_null().all()
    assert set(opps["segment"].unique()) == {"SMB", "Mid-Market", "Enterprise"}
    assert opps.filter(pl.col("is_closed"))["closed_at"].is_not_null().all()
    # stage_history: time-ordered path; the last stage tells the truth about the flags
    order = {"Prospecting": 0, "Qualification": 1, "Proposal": 2, "Negotiation": 3, "Closed Won": 4, "Closed Lost": 4}  # fmt: skip
    history = clean(raw, "stage_history").with_columns(rank=pl.col("stage").replace_strict(order))
    path = (
        history.sort("opportunity_id", "entered_at")
        .group_by("opportunity_id")
        .agg(
            ranks=pl.col("rank"), last=pl.col("stage").last(), first_at=pl.col("entered_at").first()
        )
    )
    assert path["ranks"].list.eval(pl.element().diff().drop_nulls().min()).explode().drop_nulls().min() >= 1  # fmt: skip
    truth = opps.join(path, on="opportunity_id")
    assert truth.height == opps.height
    assert (truth["first_at"] == truth["created_at"]).all()
    assert ((truth["last"] == "Closed Won") == (truth["is_closed"] & truth["is_won"])).all()
    assert ((truth["last"] == "Closed Lost") == (truth["is_closed"] & ~truth["is_won"])).all()


# ---------------------------------------------------------------- small scale
def test_small_scale_keeps_every_effect_in_direction(small) -> None:
    p = small[1]
    fatigue = p["fatigue"]["empirical"]["all"]
    assert fatigue["relative_drop_within_rep"] > 0.15
    weak = p["weak_bdr"]
    assert weak["won_per_meeting"] < 0.5 * weak["others_median_won_per_meeting"]
    assert weak["meetings_booked"] >= weak["team_median_meetings_booked"]
    gap = p["skill_gap"]
    assert gap["observed_ratio"] < 0.8
    assert gap["per_ae"][gap["too_few_ae"]]["closed"] == 3
    assert gap["per_ae"][gap["open_only_ae"]]["win_rate"] is None
    scores = {t: v["score_equal_weights"] for t, v in p["hygiene"]["teams"].items()}
    dirty = scores.pop(p["dirty_team"])
    assert dirty < min(scores.values()) - 20
    shares = {t: v["share_within_24h"] for t, v in p["handoffs"]["teams"].items()}
    slow = shares.pop(p["slow_handoff_team"])
    assert slow < 0.5 * min(shares.values())
    assert p["dirty_rows"]["activities"]["duplicate"] == 40
    assert p["clean_rows"]["activities"] < 100_000
