"""Planted synthetic data for the outcome-metric tests (funnel, handoffs, skill gaps, hygiene).

Every builder returns a LazyFrame typed exactly like the clean canonical table
(``analysis.canonical.schemas.polars_schema``); rows list only the columns that matter,
the others are null.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from analysis.canonical.schemas import SPINE_FIELDS, polars_schema
from analysis.periods import Period

Q3 = Period.quarter("2026Q3")
Q3_START = datetime(2026, 7, 1, tzinfo=UTC)
Q3_END = datetime(2026, 10, 1, tzinfo=UTC)


def frame(table: str, rows: list[dict]) -> pl.LazyFrame:
    """A clean canonical table from partial rows (missing columns are null)."""
    schema = polars_schema(table)
    data = {name: [row.get(name) for row in rows] for name in schema.names()}
    return pl.DataFrame(data, schema=schema).lazy()


def rep(rep_id: str, role: str, team: str, tz: str = "UTC") -> dict:
    return {"rep_id": rep_id, "role": role, "team": team, "timezone": tz, "name": rep_id}


SPINE_FULL = dict.fromkeys(SPINE_FIELDS, "captured")


# --------------------------------------------------------------------------------------
# BDR funnel

#: (team, bdr, meetings booked, held, won) - won opportunities come from held meetings;
#: every other held meeting gets a lost opportunity when ``lost`` says so.
FUNNEL_PLAN = [
    ("east", "b_weak", 120, 100, 2),
    ("east", "b_n1", 100, 80, 15),
    ("east", "b_n2", 90, 75, 14),
    ("east", "b_n3", 80, 70, 12),
    ("east", "b_small", 4, 3, 0),
    ("west", "b_w1", 60, 50, 9),
    ("west", "b_w2", 50, 45, 7),
]


def funnel_dataset() -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(meetings, opportunities, reps) with a planted weak BDR (``b_weak``).

    Per BDR: ``held`` meetings held, the rest no-shows; the first ``won`` held meetings
    link a won opportunity, the next 10 a lost one, the rest no opportunity. Every won
    deal changes owner (``owner_id`` differs from the meeting's AE). Noise that must not
    count: a meeting booked before the period, and a meeting booked by an AE.
    """
    reps = [rep(b, "BDR", team) for team, b, *_ in FUNNEL_PLAN]
    reps += [rep("ae1", "AE", "east"), rep("ae2", "AE", "east"), rep("ae_w", "AE", "west")]
    meetings, opps = [], []
    for team, bdr, booked, held, won in FUNNEL_PLAN:
        for i in range(booked):
            mid = f"{bdr}-m{i}"
            booked_at = Q3_START + timedelta(hours=7 + i * 13)
            status = "held" if i < held else "no_show"
            opp_id = None
            if i < held and i < won + 10:
                opp_id = f"{bdr}-o{i}"
                is_won = i < won
                opps.append(
                    {
                        "opportunity_id": opp_id,
                        "owner_id": "ae2" if is_won else ("ae_w" if team == "west" else "ae1"),
                        "sourced_by": None,
                        "created_at": booked_at + timedelta(days=3),
                        "stage": "Closed Won" if is_won else "Closed Lost",
                        "is_closed": True,
                        "is_won": is_won,
                        "closed_at": (booked_at + timedelta(days=20)).date(),
                    }
                )
            meetings.append(
                {
                    "meeting_id": mid,
                    "booked_by": bdr,
                    "owner_id": "ae_w" if team == "west" else "ae1",
                    "booked_at": booked_at,
                    "status": status,
                    "lead_id": f"{bdr}-l{i}",
                    "opportunity_id": opp_id,
                }
            )
    # noise: before the period (Q2), and booked by an AE
    meetings.append(
        {
            "meeting_id": "old",
            "booked_by": "b_n1",
            "booked_at": datetime(2026, 6, 30, 12, tzinfo=UTC),
            "status": "held",
        }
    )
    meetings.append(
        {
            "meeting_id": "ae-self",
            "booked_by": "ae1",
            "booked_at": datetime(2026, 7, 3, 12, tzinfo=UTC),
            "status": "held",
        }
    )
    return frame("meetings", meetings), frame("opportunities", opps), frame("reps", reps)


# --------------------------------------------------------------------------------------
# handoffs


def handoff_dataset() -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, dict[str, float | None]]:
    """(meetings, activities, reps, planted latency in hours or None for no touch)."""
    reps = [
        rep("b1", "BDR", "east"),
        rep("b2", "BDR", "west"),
        rep("ae1", "AE", "east"),
        rep("ae2", "AE", "east"),
    ]
    t0 = datetime(2026, 8, 3, 9, tzinfo=UTC)
    meetings, acts = [], []
    planted: dict[str, float | None] = {}

    def meeting(mid: str, bdr: str, booked_at: datetime, *, lead=None, opp=None, ae="ae1"):
        meetings.append(
            {
                "meeting_id": mid,
                "booked_by": bdr,
                "owner_id": ae,
                "booked_at": booked_at,
                "status": "held",
                "lead_id": lead,
                "opportunity_id": opp,
            }
        )

    def act(aid: str, rep_id: str, at: datetime, *, lead=None, opp=None, kind="call"):
        acts.append(
            {
                "activity_id": aid,
                "rep_id": rep_id,
                "occurred_at": at,
                "activity_type": kind,
                "lead_id": lead,
                "opportunity_id": opp,
            }
        )

    # h1: touched 2.5 h after booking on the lead; a later touch too
    meeting("h1", "b1", t0, lead="L1")
    act("a1", "ae1", t0 + timedelta(hours=2.5), lead="L1")
    act("a1b", "ae1", t0 + timedelta(hours=40), lead="L1")
    planted["h1"] = 2.5
    # h2: touch before booking is ignored; first touch 30 h after, via the opportunity
    meeting("h2", "b1", t0 + timedelta(days=1), lead="L2", opp="O2")
    act("a2pre", "ae1", t0 + timedelta(days=1) - timedelta(hours=1), lead="L2")
    act("a2", "ae1", t0 + timedelta(days=1, hours=30), opp="O2")
    planted["h2"] = 30.0
    # h3: a different rep touches at 1 h (ignored); the owner at 20 h
    meeting("h3", "b1", t0 + timedelta(days=2), lead="L3")
    act("a3x", "ae2", t0 + timedelta(days=2, hours=1), lead="L3")
    act("a3", "ae1", t0 + timedelta(days=2, hours=20), lead="L3")
    planted["h3"] = 20.0
    # h4: touched exactly at booked_at (at or after counts)
    meeting("h4", "b2", t0 + timedelta(days=3), lead="L4", ae="ae2")
    act("a4", "ae2", t0 + timedelta(days=3), lead="L4")
    planted["h4"] = 0.0
    # h5: never touched, long before the period end -> False
    meeting("h5", "b2", t0 + timedelta(days=4), lead="L5", ae="ae2")
    planted["h5"] = None
    # edge: no touch, booked 10 h before the period end -> censored (null)
    meeting("edge10", "b2", Q3_END - timedelta(hours=10), lead="L6", ae="ae2")
    planted["edge10"] = None
    # edge: no touch, booked 30 h before the period end -> False
    meeting("edge30", "b2", Q3_END - timedelta(hours=30), lead="L7", ae="ae2")
    planted["edge30"] = None
    # edge: booked 5 h before the end, touched 6 h later (after the end): a real latency
    meeting("edge5", "b2", Q3_END - timedelta(hours=5), lead="L8", ae="ae2")
    act("a8", "ae2", Q3_END + timedelta(hours=1), lead="L8")
    planted["edge5"] = 6.0
    # outside the period: not a row
    meeting("outside", "b1", Q3_START - timedelta(hours=1), lead="L9")
    return frame("meetings", meetings), frame("activities", acts), frame("reps", reps), planted


# --------------------------------------------------------------------------------------
# skill gaps


def _deals(
    owner: str,
    n: int,
    won: int,
    *,
    prefix: str,
    segment="smb",
    source="inbound",
    amount=1000.0,
    closed_at=date(2026, 8, 15),
) -> list[dict]:
    rows = []
    for i in range(n):
        is_won = i < won
        rows.append(
            {
                "opportunity_id": f"{prefix}-{owner}-{i}",
                "owner_id": owner,
                "created_at": datetime(2026, 5, 1, tzinfo=UTC),
                "stage": "Closed Won" if is_won else "Closed Lost",
                "is_closed": True,
                "is_won": is_won,
                "closed_at": closed_at,
                "amount": amount * (1 + (i % 3)),
                "segment": segment,
                "lead_source": source,
            }
        )
    return rows


#: planted (true) win rates of the "core" AE team, ~80 closed deals each
SKILL_CORE = {
    "ae_top": 0.60,
    "ae_weak": 0.36,
    "ae_low": 0.30,
    "ae_mid1": 0.42,
    "ae_mid2": 0.48,
    "ae_mid3": 0.55,
}


def skill_dataset() -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(opportunities, reps).

    Team ``core`` (AE): the SKILL_CORE rates on 80 closed deals each (exact counts), plus
    ``ae_lucky`` (3 closed, all won: too few), ``ae_open`` (only open deals).
    Team ``mix`` (AE): everyone has the same skill (SMB 60 %, enterprise 20 %), but
    ``ae_hard`` works 70 enterprise + 10 SMB deals while ``ae_easy`` and ``ae_even`` work
    mostly SMB or a balanced mix - ``ae_hard``'s raw rate is low only because of the mix.
    Noise: a deal closed before the period (not counted).
    """
    reps = [rep(r, "AE", "core") for r in [*SKILL_CORE, "ae_lucky", "ae_open"]]
    reps += [rep(r, "AE", "mix") for r in ("ae_easy", "ae_hard", "ae_even")]
    reps += [rep("bdr_x", "BDR", "core")]
    opps: list[dict] = []
    for owner, rate in SKILL_CORE.items():
        opps += _deals(owner, 80, round(80 * rate), prefix="c")
    opps += _deals("ae_lucky", 3, 3, prefix="c")
    for i in range(4):
        opps.append(
            {
                "opportunity_id": f"open-{i}",
                "owner_id": "ae_open",
                "created_at": datetime(2026, 7, 10, tzinfo=UTC),
                "stage": "Discovery",
                "is_closed": False,
                "is_won": False,
            }
        )
    # old deal, closed in Q2: not in the period
    opps += _deals("ae_top", 5, 0, prefix="old", closed_at=date(2026, 6, 10))
    # team "mix": SMB wins 60 %, enterprise 20 %, for everyone
    for owner, n_smb, n_ent in (("ae_easy", 70, 10), ("ae_hard", 10, 70), ("ae_even", 40, 40)):
        opps += _deals(owner, n_smb, round(n_smb * 0.6), prefix="s", segment="smb")
        opps += _deals(owner, n_ent, round(n_ent * 0.2), prefix="e", segment="enterprise")
    return frame("opportunities", opps), frame("reps", reps)


# --------------------------------------------------------------------------------------
# hygiene


def hygiene_dataset() -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(opportunities, activities, reps): team ``clean`` is tidy, team ``dirty`` is not.

    Hand case, rep ``c1`` (team clean), all in Q3:

    * opportunities: o1 won & consistent & SPINE full; o2 lost with reason, consistent,
      SPINE full; o3 open, consistent, SPINE missing pain; o4 lost without reason,
      stage "Closed Lost" -> consistent; SPINE full.
      -> stage_consistent 4/4, lost_with_reason 1/2, spine_complete 3/4.
    * activities: 3 calls (2 with notes), 1 email; all linked but the email.
      -> calls_with_notes 2/3, activities_linked 3/4.

    Rep ``c2`` (team clean) has activities only, all emails: calls_with_notes has no
    evidence (n = 0) and must be left out of its score.
    Team ``dirty`` (rep ``d1``): stage says won but not won, lost without reasons, no
    SPINE, calls without notes, unlinked activities.
    """
    reps = [rep("c1", "AE", "clean"), rep("c2", "BDR", "clean"), rep("d1", "AE", "dirty")]
    day = datetime(2026, 8, 1, 12, tzinfo=UTC)
    closed = date(2026, 8, 20)
    opps = [
        {
            "opportunity_id": "o1",
            "owner_id": "c1",
            "created_at": day,
            "stage": "Closed Won",
            "is_closed": True,
            "is_won": True,
            "closed_at": closed,
            **SPINE_FULL,
        },
        {
            "opportunity_id": "o2",
            "owner_id": "c1",
            "created_at": day,
            "stage": "Closed Lost",
            "is_closed": True,
            "is_won": False,
            "closed_at": closed,
            "lost_reason": "price",
            **SPINE_FULL,
        },
        {
            "opportunity_id": "o3",
            "owner_id": "c1",
            "created_at": day,
            "stage": "Proposal",
            "is_closed": False,
            "is_won": False,
            **SPINE_FULL,
            "spine_pain": "  ",
        },
        {
            "opportunity_id": "o4",
            "owner_id": "c1",
            "created_at": day,
            "stage": "Closed Lost",
            "is_closed": True,
            "is_won": False,
            "closed_at": closed,
            **SPINE_FULL,
        },
        # out of scope: created and closed in Q2
        {
            "opportunity_id": "o_old",
            "owner_id": "c1",
            "created_at": datetime(2026, 4, 1, tzinfo=UTC),
            "stage": "Closed Lost",
            "is_closed": True,
            "is_won": False,
            "closed_at": date(2026, 5, 1),
        },
    ]
    for i in range(6):
        opps.append(
            {
                "opportunity_id": f"d{i}",
                "owner_id": "d1",
                "created_at": day,
                "stage": "Closed Won" if i < 3 else "Closed Lost",
                "is_closed": True,
                "is_won": False,
                "closed_at": closed,
            }
        )
    acts = []

    def act(aid, rep_id, kind, notes=None, lead=None, at=day):
        acts.append(
            {
                "activity_id": aid,
                "rep_id": rep_id,
                "occurred_at": at,
                "activity_type": kind,
                "notes": notes,
                "lead_id": lead,
            }
        )

    act("c1a", "c1", "call", "pain: churn", "L1")
    act("c1b", "c1", "call", "budget ok", "L2")
    act("c1c", "c1", "call", None, "L3")
    act("c1d", "c1", "email", None, None)
    act("c1old", "c1", "call", None, None, at=datetime(2026, 6, 1, tzinfo=UTC))  # out of period
    for i in range(5):
        act(f"c2{i}", "c2", "email", None, f"L{i}")
    for i in range(8):
        act(f"d{i}", "d1", "call", None, None)
    return frame("opportunities", opps), frame("activities", acts), frame("reps", reps)
