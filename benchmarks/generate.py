"""Generate a large synthetic canonical dataset for the scale benchmark.

Usage::

    .venv/bin/python benchmarks/generate.py --activities 15000000 --out benchmarks/out/data/15000000

Writes ``reps``, ``activities``, ``meetings``, ``opportunities`` and
``stage_history`` as parquet (CONTRACT section 2, the dtypes of
``analysis/canonical/schemas.py``) for one quarter (2026Q3). Activities are
generated with numpy in chunks of ``--chunk`` rows and appended as row groups
to ONE ``activities.parquet`` through ``pyarrow.parquet.ParquetWriter``, so
memory stays bounded (a few hundred MB) whatever the row count.

The organisation: 2,000 reps in 20 teams (each team has 1 manager, 55 BDRs and
44 AEs) spread over five time zones. Leads belong to a BDR and an AE of one
team; activities are done on leads by their BDR (60 %) or AE (40 %), during
local working hours, on weekdays mostly. The activity mix, subjects and
outcomes are realistic enough to exercise every rule of
``analysis/decisions/default_taxonomy.toml`` (plus ~6 % unclassified). A mild
fatigue effect is planted (the chance of a positive outcome falls through the
local day) so the fatigue fit has something to find.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

N_TEAMS = 20
REPS_PER_TEAM = 100  # 1 manager, 55 BDRs, 44 AEs
N_BDR_PER_TEAM = 55
N_AE_PER_TEAM = 44
#: Five zones; all five are on summer time for the whole of 2026Q3, so the
#: UTC offsets below are exact for the quarter (EU ends DST 25 Oct, US 1 Nov).
ZONES = {
    "America/New_York": -4,
    "America/Chicago": -5,
    "America/Los_Angeles": -7,
    "Europe/London": 1,
    "Europe/Berlin": 2,
}
Q_START = datetime(2026, 7, 1)  # local midnight of the first day
Q_DAYS = 92
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
EPOCH_Q_START_US = int((Q_START.replace(tzinfo=UTC).timestamp()) * 1_000_000)

# activity type -> share of all activities
TYPE_MIX = {
    "email": 0.38,
    "call": 0.30,
    "linkedin": 0.08,
    "task": 0.09,
    "note": 0.05,
    "meeting": 0.05,
    "stage_change": 0.03,
    "sms": 0.02,
}
# subjects per type; the rule each one should hit is noted for the reader.
SUBJECTS: dict[str, list[str | None]] = {
    "email": [
        "Intro: Globex x Acme",  # first-touch
        "Follow-up on my last note",  # follow-up
        "Re: quick question",  # follow-up (^re:)
        "Step 3 - checking in",  # follow-up
        "Sharing the case study",  # next-step
        "Proposal and pricing",  # close-plan
        "Budget concern",  # objection
        "Demo recap",  # discovery
        None,  # bare-outbound-touch
        "Hello",  # bare-outbound-touch
    ],
    "call": [
        "Cold call",  # first-touch
        "Discovery call",  # discovery
        "Follow up call",  # follow-up
        "Pricing negotiation",  # close-plan
        "Competitor pushback",  # objection
        "Schedule next step",  # next-step
        None,  # bare-outbound-touch
        "Call",  # bare-outbound-touch
    ],
    "linkedin": ["Connection request - new lead", "Bump", "InMail", None],
    "task": [
        "Send deck",  # next-step
        "Follow-up reminder",  # follow-up
        "Prepare order form",  # close-plan
        "Update CRM",  # unclassified
        "Admin",  # unclassified
    ],
    "note": [
        "Qualification notes (MEDDIC)",  # discovery
        "Security review concern",  # objection
        "Internal sync",  # unclassified
        None,  # unclassified
    ],
    "meeting": [
        "Discovery meeting",  # discovery
        "Demo",  # discovery
        "Contract redline review",  # close-plan
        "Calendar invite",  # next-step
        "Meeting",  # bare-meeting
    ],
    "stage_change": [
        "Stage: Proposal",  # stage-change-close
        "Stage: Negotiation",  # stage-change-close
        "Stage: Qualified",  # stage-change-qualify
        "Stage: Discovery",  # stage-change-qualify
    ],
    "sms": ["Quick follow up", "Reminder for tomorrow", "Hi"],
}
# outcomes per type: (outcome, weight). "positive"/"negative" are re-drawn from
# the planted quality model below for types that carry decision quality.
OUTCOMES: dict[str, list[tuple[str | None, float]]] = {
    "email": [
        ("sent", 0.55),
        ("replied", 0.12),
        ("positive", 0.1),
        ("negative", 0.1),
        ("bounced", 0.03),
        (None, 0.10),
    ],
    "call": [
        ("no_answer", 0.35),
        ("positive", 0.22),
        ("negative", 0.22),
        ("voicemail", 0.16),
        ("connected", 0.05),
    ],
    "linkedin": [("sent", 0.6), ("positive", 0.15), ("negative", 0.15), (None, 0.1)],
    "task": [("completed", 0.8), (None, 0.2)],
    "note": [(None, 1.0)],
    "meeting": [("positive", 0.45), ("negative", 0.35), ("held", 0.2)],
    "stage_change": [("advanced", 0.7), ("lost", 0.3)],
    "sms": [("sent", 0.7), ("positive", 0.15), ("negative", 0.15)],
}
SUBJECT_VOCAB: list[str | None] = list(dict.fromkeys(x for v in SUBJECTS.values() for x in v))
OUTCOME_VOCAB: list[str | None] = list(dict.fromkeys(o for v in OUTCOMES.values() for o, _ in v))
NOTES = [
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    "Left voicemail, will try again Thursday.",
    "Prospect asked for pricing for 50 seats; budget is approved for Q4.",
]
STAGES_OPEN = ["Discovery", "Qualified", "Proposal", "Negotiation"]
MEETING_STATUS = (["held", "no_show", "canceled", "scheduled"], [0.7, 0.12, 0.08, 0.10])

ACTIVITY_SCHEMA = pa.schema(
    [
        ("activity_id", pa.string()),
        ("rep_id", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("activity_type", pa.string()),
        ("outcome", pa.string()),
        ("subject", pa.string()),
        ("notes", pa.string()),
        ("lead_id", pa.string()),
        ("opportunity_id", pa.string()),
        ("duration_s", pa.float64()),
    ]
)


# ----------------------------------------------------------------- org --
def make_reps() -> pl.DataFrame:
    """2,000 reps in 20 teams; each team sits in one of the five zones."""
    zones = list(ZONES)
    rows = []
    for t in range(N_TEAMS):
        team = f"Team {t + 1:02d}"
        tz = zones[t % len(zones)]
        manager = f"R{t * REPS_PER_TEAM:05d}"
        for i in range(REPS_PER_TEAM):
            rid = f"R{t * REPS_PER_TEAM + i:05d}"
            if i == 0:
                role = "MANAGER"
            elif i <= N_BDR_PER_TEAM:
                role = "BDR"
            else:
                role = "AE"
            rows.append(
                {
                    "rep_id": rid,
                    "name": f"Rep {rid}",
                    "role": role,
                    "team": team,
                    "manager_id": None if i == 0 else manager,
                    "timezone": tz,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"manager_id": pl.String})


def _team_members(t: int) -> tuple[np.ndarray, np.ndarray]:
    base = t * REPS_PER_TEAM
    bdrs = np.arange(base + 1, base + 1 + N_BDR_PER_TEAM)
    aes = np.arange(base + 1 + N_BDR_PER_TEAM, base + REPS_PER_TEAM)
    return bdrs, aes


def make_leads(n_leads: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each lead: team, BDR, AE (rep numbers), opportunity number or -1."""
    team = rng.integers(0, N_TEAMS, n_leads)
    bdr_off = rng.integers(0, N_BDR_PER_TEAM, n_leads)
    ae_off = rng.integers(0, N_AE_PER_TEAM, n_leads)
    bdr = team * REPS_PER_TEAM + 1 + bdr_off
    ae = team * REPS_PER_TEAM + 1 + N_BDR_PER_TEAM + ae_off
    has_opp = rng.random(n_leads) < 0.10
    opp = np.full(n_leads, -1, dtype=np.int64)
    opp[has_opp] = np.arange(int(has_opp.sum()))
    return {"team": team, "bdr": bdr, "ae": ae, "opp": opp}


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return pl.select(
        pl.format(
            prefix + "{}",
            pl.Series(numbers).cast(pl.String).str.zfill(width),
        )
    ).to_series()


def _nullable_ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    s = pl.Series(numbers)
    return pl.select(
        pl.when(s >= 0).then(pl.lit(prefix) + s.cast(pl.String).str.zfill(width))
    ).to_series()


def _pick(options: list, idx: np.ndarray) -> pl.Series:
    return pl.Series(options, dtype=pl.String).gather(idx)


# ---------------------------------------------------------- activities --
def activities_chunk(
    start: int, n: int, leads: dict[str, np.ndarray], rng: np.random.Generator
) -> pa.Table:
    """``n`` activities with ids ``start .. start + n - 1`` as an arrow table."""
    n_leads = len(leads["team"])
    lead = rng.integers(0, n_leads, n)
    by_bdr = rng.random(n) < 0.6
    rep = np.where(by_bdr, leads["bdr"][lead], leads["ae"][lead])
    team = leads["team"][lead]
    zone_offset = np.array(list(ZONES.values()))[team % len(ZONES)]

    # local day: weekdays 95 %, weekends 5 %; local time 08:00-18:00 skewed to the morning
    day = rng.integers(0, Q_DAYS, n)
    weekday = (day + 2) % 7  # 2026-07-01 is a Wednesday (Mon=0)
    weekend = weekday >= 5
    redraw = weekend & (rng.random(n) < 0.9)
    day[redraw] = rng.integers(0, Q_DAYS, int(redraw.sum()))
    local_us = (8 * US_PER_HOUR + rng.beta(1.6, 2.2, n) * 10 * US_PER_HOUR).astype(np.int64)
    utc_us = EPOCH_Q_START_US + day * US_PER_DAY + local_us - zone_offset * US_PER_HOUR
    local_hour = local_us / US_PER_HOUR

    types = list(TYPE_MIX)
    type_idx = rng.choice(len(types), n, p=np.array(list(TYPE_MIX.values())))
    subject = np.zeros(n, dtype=np.int64)
    outcome = np.zeros(n, dtype=np.int64)
    # planted fatigue: P(positive | quality outcome) falls from ~0.6 at 08:00 to ~0.35 at 18:00
    p_pos = 0.6 - 0.025 * (local_hour - 8)
    quality_draw = rng.random(n) < p_pos
    pos, neg = OUTCOME_VOCAB.index("positive"), OUTCOME_VOCAB.index("negative")
    for k, name in enumerate(types):
        mask = type_idx == k
        m = int(mask.sum())
        if not m:
            continue
        codes = np.array([SUBJECT_VOCAB.index(x) for x in SUBJECTS[name]])
        subject[mask] = codes[rng.integers(0, len(codes), m)]
        outs, weights = zip(*OUTCOMES[name], strict=True)
        w = np.array(weights) / sum(weights)
        out_codes = np.array([OUTCOME_VOCAB.index(x) for x in outs])
        drawn = out_codes[rng.choice(len(outs), m, p=w)]
        qual = (drawn == pos) | (drawn == neg)
        drawn[qual] = np.where(quality_draw[mask][qual], pos, neg)
        outcome[mask] = drawn
    duration = np.where(
        (type_idx == types.index("call")) | (type_idx == types.index("meeting")),
        rng.gamma(2.0, 150.0, n).round(),
        np.nan,
    )
    opp = leads["opp"][lead]
    opp = np.where(~by_bdr & (rng.random(n) < 0.8), opp, -1)
    lead_no = np.where(rng.random(n) < 0.97, lead, -1)
    notes_idx = rng.integers(0, len(NOTES), n)

    frame = pl.DataFrame(
        {
            "activity_id": _ids("A", np.arange(start, start + n), 9),
            "rep_id": _ids("R", rep, 5),
            "occurred_at": pl.Series(utc_us).cast(pl.Datetime("us", "UTC")),
            "activity_type": _pick(types, type_idx),
            "outcome": _pick(OUTCOME_VOCAB, outcome),
            "subject": _pick(SUBJECT_VOCAB, subject),
            "notes": _pick(NOTES, notes_idx),
            "lead_id": _nullable_ids("L", lead_no, 8),
            "opportunity_id": _nullable_ids("O", opp, 7),
            "duration_s": pl.Series(duration).fill_nan(None),
        }
    )
    return frame.to_arrow().cast(ACTIVITY_SCHEMA)


# ------------------------------------------------ meetings, opportunities --
def make_meetings(n: int, leads: dict[str, np.ndarray], rng: np.random.Generator) -> pl.DataFrame:
    """Meetings booked by a lead's BDR for its AE, during the quarter."""
    lead = rng.integers(0, len(leads["team"]), n)
    team = leads["team"][lead]
    zone_offset = np.array(list(ZONES.values()))[team % len(ZONES)]
    day = rng.integers(0, Q_DAYS, n)
    local_us = (9 * US_PER_HOUR + rng.random(n) * 8 * US_PER_HOUR).astype(np.int64)
    booked = EPOCH_Q_START_US + day * US_PER_DAY + local_us - zone_offset * US_PER_HOUR
    scheduled = booked + rng.integers(1, 10, n) * US_PER_DAY
    names, p = MEETING_STATUS
    status = rng.choice(len(names), n, p=np.array(p))
    no_owner = rng.random(n) < 0.01
    return pl.DataFrame(
        {
            "meeting_id": _ids("M", np.arange(n), 8),
            "booked_by": _ids("R", leads["bdr"][lead], 5),
            "owner_id": _nullable_ids("R", np.where(no_owner, -1, leads["ae"][lead]), 5),
            "booked_at": pl.Series(booked).cast(pl.Datetime("us", "UTC")),
            "scheduled_for": pl.Series(scheduled).cast(pl.Datetime("us", "UTC")),
            "status": _pick(names, status),
            "lead_id": _ids("L", lead, 8),
            "opportunity_id": _nullable_ids("O", leads["opp"][lead], 7),
        }
    )


def make_opportunities(
    leads: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One opportunity per lead that has one; about 45 % close in the quarter."""
    has = leads["opp"] >= 0
    opp_no = leads["opp"][has]
    n = len(opp_no)
    owner = leads["ae"][has]
    bdr = leads["bdr"][has]
    created_day = rng.integers(-60, Q_DAYS - 5, n)
    created = EPOCH_Q_START_US + created_day * US_PER_DAY + rng.integers(13, 22, n) * US_PER_HOUR
    closed = rng.random(n) < 0.45
    # per-AE skill: win probability varies by owner (drawn per rep number)
    skill = np.random.default_rng(99).uniform(0.15, 0.45, N_TEAMS * REPS_PER_TEAM)
    won = closed & (rng.random(n) < skill[owner])
    close_day = np.minimum(np.maximum(created_day, 0) + rng.integers(5, 60, n), Q_DAYS - 1)
    closed_at = pl.Series(np.where(closed, close_day, -99999)).cast(pl.Int32)
    open_stage = rng.integers(0, len(STAGES_OPEN), n)
    stage_codes = np.where(won, 0, np.where(closed, 1, 2 + open_stage))

    def spine(p: float, text: str) -> pl.Series:
        return _pick([None, text], (rng.random(n) < p).astype(np.int64))

    opps = pl.DataFrame(
        {
            "opportunity_id": _ids("O", opp_no, 7),
            "owner_id": _ids("R", owner, 5),
            "sourced_by": _ids("R", bdr, 5),
            "created_at": pl.Series(created).cast(pl.Datetime("us", "UTC")),
            "stage": _pick(["Closed Won", "Closed Lost", *STAGES_OPEN], stage_codes),
            "is_closed": closed,
            "is_won": won,
            "closed_at": pl.select(
                pl.when(closed_at > -99999).then(
                    pl.lit(Q_START.date()) + pl.duration(days=closed_at)
                )
            )
            .to_series()
            .cast(pl.Date),
            "amount": rng.lognormal(10, 0.8, n).round(2),
            "lead_source": _pick(
                ["Outbound", "Inbound", "Event", "Partner"], rng.integers(0, 4, n)
            ),
            "segment": _pick(["SMB", "Mid-Market", "Enterprise"], rng.integers(0, 3, n)),
            "lost_reason": _pick(
                [None, "Price", "Timing", "Competitor", "No decision"],
                np.where(closed & ~won, rng.integers(1, 5, n), 0),
            ),
            "spine_situation": spine(0.8, "Growing team, manual process"),
            "spine_pain": spine(0.7, "Reports take a week"),
            "spine_impact": spine(0.5, "Two FTEs of analyst time"),
            "spine_next_steps": spine(0.6, "Security review next week"),
            "spine_economic_buyer": spine(0.4, "VP Sales"),
        }
    )
    # stage history: 1-4 stages entered after creation
    k = rng.integers(1, 5, n)
    idx = np.repeat(np.arange(n), k)
    step = np.concatenate([np.arange(m) for m in k]) if n else np.array([], dtype=np.int64)
    entered = created[idx] + step * rng.integers(2, 9, len(idx)) * US_PER_DAY
    history = pl.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].gather(idx),
            "stage": _pick(STAGES_OPEN, np.minimum(step, 3)),
            "entered_at": pl.Series(entered).cast(pl.Datetime("us", "UTC")),
        }
    )
    return opps, history


# -------------------------------------------------------------- driver --
def generate(
    out: str | Path, *, activities: int, seed: int = 0, chunk: int = 1_000_000, quiet: bool = False
) -> dict[str, int]:
    """Write the benchmark dataset into ``out``; return rows per table.

    Examples
    --------
    >>> import tempfile
    >>> generate(tempfile.mkdtemp(), activities=1000, quiet=True)["activities"]
    1000
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    reps = make_reps()
    reps.write_parquet(out / "reps.parquet")
    n_leads = max(activities // 15, 1000)
    leads = make_leads(n_leads, rng)

    tmp = out / "activities.parquet.tmp"
    with pq.ParquetWriter(tmp, ACTIVITY_SCHEMA, compression="zstd") as writer:
        done = 0
        while done < activities:
            n = min(chunk, activities - done)
            writer.write_table(activities_chunk(done, n, leads, rng), row_group_size=n)
            done += n
            if not quiet:
                print(f"  activities {done:,}/{activities:,}", file=sys.stderr, flush=True)
    tmp.replace(out / "activities.parquet")

    meetings = make_meetings(max(activities // 200, 10), leads, rng)
    meetings.write_parquet(out / "meetings.parquet")
    opps, history = make_opportunities(leads, rng)
    opps.write_parquet(out / "opportunities.parquet")
    history.write_parquet(out / "stage_history.parquet")
    rows = {
        "reps": reps.height,
        "activities": activities,
        "meetings": meetings.height,
        "opportunities": opps.height,
        "stage_history": history.height,
    }
    meta = {"rows": rows, "seed": seed, "seconds": round(time.perf_counter() - t0, 1)}
    (out / "benchmark_meta.json").write_text(json.dumps(meta, indent=2))
    if not quiet:
        print(f"generated {rows} in {meta['seconds']}s -> {out}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1_500_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    generate(args.out, activities=args.activities, seed=args.seed, chunk=args.chunk)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
