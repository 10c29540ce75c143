"""Deterministic synthetic sales organisation (``decision-stack sample-data``).

`generate_sample` writes the canonical tables as CSV (the five core ones plus
``close_date_changes``, see :mod:`analysis.sample.pipeline_audit`) plus ``planted.json``,
which records every planted effect with its exact parameters, the exact number
of dirty rows per table and reason, and the values the metrics should recover
(computed from the clean rows the generator wrote). ``docs/sample_data.md``
describes the organisation and the effects in prose.

Everything is vectorised numpy (one ``np.random.default_rng(seed)``) plus
polars; loops run over teams, reps or time zones only. The same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.canonical.schemas import MEETING_STATUSES
from analysis.periods import Period
from analysis.sample import catalogue as cat
from analysis.sample import fatigue_scenarios as fs
from analysis.sample import pipeline_audit

DAY = 86_400
HOUR = 3_600
EPOCH = date(1970, 1, 1)

# ---------------------------------------------------------------------------
# Parameters (all recorded in planted.json under "parameters")
# ---------------------------------------------------------------------------
FATIGUE_THRESHOLD = 45
FATIGUE_RELATIVE_DROP = 0.30
P_REP_RANGE = (0.45, 0.65)
BDR_DAILY_MEAN = (85.0, 145.0)
AE_DAILY_MEAN = (45.0, 100.0)
MANAGER_DAILY_MEAN = 3.0
DAILY_SHAPE = 6.0  # gamma shape of the day-to-day variation (negative binomial counts)
DAILY_CLIP = (10, 200)
ATTENDANCE = 0.95
LATE_SHARE = 0.03  # share of activities logged 19:00-22:00 local
OUTSIDE_DAYS = 2  # working days before and after the quarter with a little activity

MEETINGS_PER_BDR = (80, 111)  # integers, upper bound exclusive, times min(scale, 1)
MEETING_FLOOR = 12
WEAK_BDR_MEETING_FACTOR = 1.08  # weak BDR books this times the team median
N_CENSORED = 6
N_MEETINGS_BEFORE_PERIOD = 8
NEVER_TOUCHED_SHARE = 0.02
HELD_NO_SHOW_CANCELED = (0.78, 0.15, 0.07)
P_OPP_FROM_HELD = 0.70
P_OPP_FROM_HELD_WEAK = 0.40
WON_PER_MEETING = 0.16
WON_PER_MEETING_WEAK = 0.04
PRE_QUARTER_OPPS_PER_AE = (18, 27)
PRE_QUARTER_WIN_RATE = 0.35
PRE_QUARTER_OPEN_SHARE = 0.10
SKILL_CLOSED_TARGET = 66  # closes in the period per regular AE of the skill-gap team
N_OWNER_CHANGES = 8
N_CLOSED_AFTER_PERIOD = 5
N_CLOSED_BEFORE_PERIOD = 5

SKILL_RATES = {"top": 0.45, "weak": 0.27, "other_1": 0.36, "other_2": 0.32}
NEW_HIRE_CLOSED = 3
NEW_HIRE_OPEN = 2
OPEN_ONLY_OPEN = 4

HYGIENE = {  # per component: (clean teams, dirty team)
    "stage_consistent": (1.0, 0.80),
    "lost_with_reason": (0.95, 0.35),
    "calls_with_notes": (0.92, 0.30),
    "spine_complete": (0.90, 0.20),
    "activity_linked": (0.97, 0.55),
}
DIRTY_SPINE_FIELD_FILL = 0.30
HELD_MEETING_NOTES = (0.85, 0.40)

TS_FORMS = ("Z", "offset", "naive")
TS_FORM_P = (0.80, 0.12, 0.08)

STAGE_TIME = (9 * HOUR, 18 * HOUR)  # local working hours for deal events

SEGMENT_AMOUNT = {"SMB": 9_000.0, "Mid-Market": 32_000.0, "Enterprise": 110_000.0}
PRE_QUARTER_SOURCES = ("Inbound", "Partner", "Event", "Referral")
LOST_REASONS = ("Price", "Competitor", "No decision", "Timing", "No budget", "Product fit")
SPINE_TEXT = {
    "spine_situation": ("Legacy tooling", "Spreadsheet process", "Rapid growth", "New VP"),
    "spine_pain": ("Manual reporting", "Missed SLAs", "High churn", "Slow onboarding"),
    "spine_impact": ("~10% cost saving", "2 FTE freed", "Faster close", "Lower churn"),
    "spine_next_steps": ("Technical review", "Exec sponsor call", "Pilot scope", "Pricing"),
    "spine_economic_buyer": ("CFO", "VP Sales", "COO", "Head of RevOps"),
}
NOTE_TEXT = (
    "Spoke with decision maker; interested in Q4 rollout",
    "Gatekeeper; asked to call back next week",
    "Budget approved, timing unclear",
    "Using a competitor, contract ends in spring",
    "Wants pricing for 50 seats",
    "Champion identified, needs exec buy-in",
    "Not the right contact, referred to ops lead",
    "Good call, agreed on a demo",
)
FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rafael", "Sofia", "Tomas",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amir", "Bianca", "Carlos", "Dana",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Khan", "Lopez", "Meyer", "Nguyen", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka", "Weber",
)  # fmt: skip


@dataclass(frozen=True)
class _TeamSpec:
    name: str
    manager_zone: str
    bdr_zones: tuple[str, ...]
    ae_zones: tuple[str, ...]
    segments: tuple[tuple[str, float], ...]


NY, CHI, LA, DEN = "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Denver"
BER, LON, SYD, SIN = "Europe/Berlin", "Europe/London", "Australia/Sydney", "Asia/Singapore"
TEAMS = (
    _TeamSpec(
        "Enterprise East",
        NY,
        (NY, NY, NY, NY, CHI),
        (NY, NY, NY, NY, NY, CHI),
        (("Enterprise", 0.55), ("Mid-Market", 0.35), ("SMB", 0.10)),
    ),
    _TeamSpec(
        "Mid-Market West",
        LA,
        (LA, LA, LA, DEN, LA),
        (LA, LA, LA, LA, DEN, LA),
        (("Mid-Market", 0.60), ("SMB", 0.30), ("Enterprise", 0.10)),
    ),
    _TeamSpec(
        "EMEA",
        BER,
        (BER, LON, BER, "", BER),  # "" = empty timezone: falls back to --tz (UTC)
        (BER, BER, LON, BER, BER, LON),
        (("Mid-Market", 0.45), ("SMB", 0.35), ("Enterprise", 0.20)),
    ),
    _TeamSpec(
        "APAC",
        SYD,
        (SYD, SIN, SYD, SIN, SYD),
        (SYD, SYD, SIN, SYD, SIN, SYD),
        (("SMB", 0.45), ("Mid-Market", 0.40), ("Enterprise", 0.15)),
    ),
)
SKILL_GAP_TEAM = "Enterprise East"
WEAK_BDR_TEAM = "Mid-Market West"
DIRTY_TEAM = "EMEA"
SLOW_HANDOFF_TEAM = "APAC"
WEAK_BDR_POSITION = 2  # third BDR of its team
SKILL_POSITIONS = {"other_1": 0, "weak": 1, "other_2": 2, "top": 3, "too_few": 4, "open_only": 5}
SDR_LABELLED = {("EMEA", 4), ("APAC", 1)}  # (team, BDR position) written with role "SDR"

# First AE touch after booking, hours: (share, low, high) uniform pieces or lognormal.
FAST_TOUCH = {"lognormal_median_h": 3.5, "lognormal_sigma": 0.45, "late_share": 0.03, "late_h": (24.0, 60.0)}  # fmt: skip
SLOW_TOUCH = {"early_share": 0.12, "early_h": (3.0, 22.0), "late_h": (30.0, 62.0)}

DIRTY_BAD_TIMESTAMPS = ("not-a-date", "2026-13-45T99:00:00", "TBD", "31.31.2026 25:61")


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _day_number(d: date) -> int:
    return (d - EPOCH).days


def _to_days(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]").astype(np.int64)


def _busday_offset(day_numbers: np.ndarray, offsets: np.ndarray | int, roll: str) -> np.ndarray:
    dates = np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]")
    return _to_days(np.busday_offset(dates, offsets, roll=roll))


def _busday_count(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.busday_count(
        np.asarray(a, dtype=np.int64).astype("datetime64[D]"),
        np.asarray(b, dtype=np.int64).astype("datetime64[D]"),
    ).astype(np.int64)


def _utc_offsets(utc_s: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Seconds to add to each UTC instant to get the wall-clock time in its zone."""
    out = np.zeros(len(utc_s), dtype=np.int64)
    for zone in sorted(set(zones.tolist())):
        mask = zones == zone
        local = (
            pl.Series("t", utc_s[mask])
            .to_frame()
            .select(
                pl.from_epoch("t", "s")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(zone)
                .dt.replace_time_zone(None)
                .dt.epoch("s")
            )
            .to_series()
            .to_numpy()
        )
        out[mask] = local - utc_s[mask]
    return out


def _local_to_utc(local_s: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of wall-clock times (epoch seconds) in each row's zone."""
    out = np.zeros(len(local_s), dtype=np.int64)
    for zone in sorted(set(zones.tolist())):
        mask = zones == zone
        utc = (
            pl.Series("t", local_s[mask])
            .to_frame()
            .select(
                pl.from_epoch("t", "s")
                .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
                .dt.epoch("s")
            )
            .to_series()
        )
        if utc.null_count():
            raise AssertionError(f"generated a non-existent local time in {zone}")
        out[mask] = utc.to_numpy()
    return out


def _group_rank(keys: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal (sorted) keys."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, keys[1:] != keys[:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    return np.arange(n) - starts


def _strictly_increasing(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Nudge sorted ``values`` up by whole units so they are distinct within each group."""
    pos = _group_rank(groups)
    big = int(values.max() - values.min() + len(values) + 10) if len(values) else 1
    shifted = values - pos + groups.astype(np.int64) * big
    return np.maximum.accumulate(shifted) - groups.astype(np.int64) * big + pos


def _balanced_table(cap: np.ndarray, rows: np.ndarray, col_target: np.ndarray) -> np.ndarray:
    """Integers ``0 <= w <= cap`` with exact row sums and column sums near ``col_target``."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_r, n_c = cap.shape
    n_w = n_r * n_c
    # variables: w (row-major), then d+ and d- per column
    c = np.r_[np.zeros(n_w), np.ones(2 * n_c)]
    a_rows = np.zeros((n_r, n_w + 2 * n_c))
    for i in range(n_r):
        a_rows[i, i * n_c : (i + 1) * n_c] = 1
    a_cols = np.zeros((n_c, n_w + 2 * n_c))
    for j in range(n_c):
        a_cols[j, j:n_w:n_c] = 1
        a_cols[j, n_w + j] = -1
        a_cols[j, n_w + n_c + j] = 1
    result = milp(
        c,
        constraints=[
            LinearConstraint(a_rows, rows, rows),
            LinearConstraint(a_cols, col_target, col_target),
        ],
        integrality=np.r_[np.ones(n_w), np.zeros(2 * n_c)],
        bounds=Bounds(np.zeros(n_w + 2 * n_c), np.r_[cap.ravel(), np.full(2 * n_c, np.inf)]),
    )
    if not result.success:
        raise AssertionError(f"no balanced win table: {result.message}")
    return np.round(result.x[:n_w]).astype(np.int64).reshape(n_r, n_c)


def _choose_per_group(
    rng: np.random.Generator, groups: np.ndarray, quota: np.ndarray
) -> np.ndarray:
    """Indices of a random subset with ``quota[g]`` rows from each group ``g``."""
    key = rng.random(len(groups))
    order = np.lexsort((key, groups))
    rank = _group_rank(groups[order])
    return np.sort(order[rank < quota[groups[order]]])


def _fmt_ts(utc_s: np.ndarray, offset_s: np.ndarray, form: np.ndarray) -> pl.Series:
    """ISO 8601 strings: ``Z`` (UTC), local time with ``+HH:MM``, or naive (UTC)."""
    df = pl.DataFrame({"t": utc_s, "o": offset_s, "f": form})
    sign = pl.when(pl.col("o") < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    absolute = pl.col("o").abs()
    hh = (absolute // HOUR).cast(pl.String).str.zfill(2)
    mm = ((absolute % HOUR) // 60).cast(pl.String).str.zfill(2)
    base = pl.from_epoch("t", "s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    local = pl.from_epoch(pl.col("t") + pl.col("o"), "s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    expr = (
        pl.when(pl.col("f") == 0)
        .then(base + pl.lit("Z"))
        .when(pl.col("f") == 1)
        .then(pl.concat_str([local, sign, hh, pl.lit(":"), mm]))
        .otherwise(base)
    )
    return df.select(expr.alias("ts")).to_series()


def _fmt_date(day_numbers: np.ndarray, valid: np.ndarray) -> pl.Series:
    s = pl.Series("d", np.where(valid, day_numbers, 0).astype(np.int32)).cast(pl.Date)
    return pl.select(pl.when(pl.Series(valid)).then(s.dt.strftime("%Y-%m-%d"))).to_series()


def _id_strings(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return pl.select(
        pl.lit(prefix) + pl.Series(numbers).cast(pl.String).str.zfill(width)
    ).to_series()


def _nullable(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(valid)).then(pl.Series(values))).to_series()


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------
class _Org:
    """Holds the random state and the tables while they are built."""

    def __init__(self, seed: int, period: Period, scale: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.period = period
        self.scale = scale
        self.volume = min(scale, 1.0)
        self.start_day = _day_number(period.start)
        self.end_day = _day_number(period.end)
        self.start_s = self.start_day * DAY
        self.end_s = self.end_day * DAY
        first = _busday_offset(np.array([self.start_day]), -OUTSIDE_DAYS, roll="forward")[0]
        after = _busday_offset(np.array([self.end_day]), OUTSIDE_DAYS, roll="forward")[0]
        all_days = np.arange(first, after + 1, dtype=np.int64)
        self.window_days = all_days[np.is_busday(all_days.astype("datetime64[D]"))]
        self.window_days = self.window_days[self.window_days < after]
        self.window_first = int(self.window_days[0])
        self.window_last = int(self.window_days[-1])
        # The snapshot: every local day of the window has ended everywhere.
        self.as_of_s = (self.window_last + 1) * DAY + 12 * HOUR
        self.templates = cat.all_templates()
        self.tindex = {t: i for i, t in enumerate(self.templates)}

    # -- reps ---------------------------------------------------------------
    def build_reps(self) -> None:
        rng = self.rng
        n_bdr = max(5, round(5 * self.scale))
        n_ae = max(6, round(6 * self.scale))
        rows: list[dict[str, Any]] = []
        self.special: dict[str, int] = {}
        for t, spec in enumerate(TEAMS):
            manager = len(rows)
            rows.append(
                {"team": t, "role": "MANAGER", "zone": spec.manager_zone, "manager": -1, "pos": 0}
            )
            for i in range(n_bdr):
                zone = spec.bdr_zones[i % 5]
                zone = spec.manager_zone if (zone == "" and i >= 5) else zone
                rows.append({"team": t, "role": "BDR", "zone": zone, "manager": manager, "pos": i})
            for i in range(n_ae):
                rows.append(
                    {
                        "team": t,
                        "role": "AE",
                        "zone": spec.ae_zones[i % 6],
                        "manager": manager,
                        "pos": i,
                    }
                )
        n = len(rows)
        self.n_reps = n
        self.rep_team = np.array([r["team"] for r in rows], dtype=np.int64)
        self.rep_role = np.array([r["role"] for r in rows], dtype=object)
        self.rep_pos = np.array([r["pos"] for r in rows], dtype=np.int64)
        self.rep_zone_written = np.array([r["zone"] for r in rows], dtype=object)
        self.rep_zone = np.where(self.rep_zone_written == "", "UTC", self.rep_zone_written)
        self.rep_manager = np.array([r["manager"] for r in rows], dtype=np.int64)
        self.rep_ids = np.array([f"R{i + 1:03d}" for i in range(n)], dtype=object)
        names = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))[:n]
        self.rep_names = np.array(
            [
                f"{FIRST_NAMES[k % len(FIRST_NAMES)]} {LAST_NAMES[k // len(FIRST_NAMES)]}"
                for k in names
            ],
            dtype=object,
        )
        is_ic = self.rep_role != "MANAGER"
        self.p_rep = np.where(is_ic, rng.uniform(*P_REP_RANGE, size=n), np.nan)
        bdr_mean = rng.uniform(*BDR_DAILY_MEAN, size=n)
        ae_mean = rng.uniform(*AE_DAILY_MEAN, size=n)
        self.daily_mean = np.where(
            self.rep_role == "BDR",
            bdr_mean,
            np.where(self.rep_role == "AE", ae_mean, MANAGER_DAILY_MEAN),
        )
        team_names = [spec.name for spec in TEAMS]
        self.team_names = team_names
        written_role = self.rep_role.copy()
        for t, pos in SDR_LABELLED:
            mask = (self.rep_team == team_names.index(t)) & (self.rep_role == "BDR")
            written_role[mask & (self.rep_pos == pos)] = "SDR"
        self.rep_role_written = written_role

        def find(team: str, role: str, pos: int) -> int:
            hit = np.flatnonzero(
                (self.rep_team == team_names.index(team))
                & (self.rep_role == role)
                & (self.rep_pos == pos)
            )
            return int(hit[0])

        self.weak_bdr = find(WEAK_BDR_TEAM, "BDR", WEAK_BDR_POSITION)
        self.skill = {k: find(SKILL_GAP_TEAM, "AE", p) for k, p in SKILL_POSITIONS.items()}
        self.skill_team = team_names.index(SKILL_GAP_TEAM)
        self.dirty_team = team_names.index(DIRTY_TEAM)
        self.slow_team = team_names.index(SLOW_HANDOFF_TEAM)
        self.empty_tz_rep = int(np.flatnonzero(self.rep_zone_written == "")[0])
        special_ae = {self.skill["too_few"], self.skill["open_only"]}
        self.regular_ae = np.array(
            [i for i in range(n) if self.rep_role[i] == "AE" and i not in special_ae]
        )

    # -- background activity ------------------------------------------------
    def build_background(self) -> None:
        rng = self.rng
        days = self.window_days
        in_q = (days >= self.start_day) & (days < self.end_day)
        n_days = len(days)
        shape = (self.n_reps, n_days)
        lam = rng.gamma(DAILY_SHAPE, self.daily_mean[:, None] / DAILY_SHAPE, size=shape)
        n_in = np.clip(rng.poisson(lam), *DAILY_CLIP)
        n_mgr = np.clip(rng.poisson(MANAGER_DAILY_MEAN, size=shape), 0, 8)
        n_out = rng.integers(3, 11, size=shape)
        attend = rng.random(shape)
        is_mgr = (self.rep_role == "MANAGER")[:, None]
        attendance = ATTENDANCE * self.volume
        counts = np.where(
            in_q[None, :],
            np.where(attend < attendance, n_in, 0),
            np.where(attend < 0.5, n_out, 0),
        )
        counts = np.where(is_mgr, np.where(in_q[None, :] & (attend < 0.9), n_mgr, 0), counts)
        flat = counts.ravel()
        group = np.repeat(np.arange(flat.size), flat)
        rep = group // n_days
        day = days[group % n_days]
        n = len(group)
        late = rng.random(n) < LATE_SHARE
        secs = np.where(
            late,
            rng.integers(19 * HOUR, 22 * HOUR, size=n),
            rng.integers(8 * HOUR, 19 * HOUR, size=n),
        )
        order = np.lexsort((secs, group))
        secs = _strictly_increasing(secs[order], group)
        local = day * DAY + secs
        utc = _local_to_utc(local, self.rep_zone[rep])
        self.bg_rep = rep
        self.bg_utc = utc
        mixes = {"BDR": cat.BDR_MIX, "AE": cat.AE_MIX, "MANAGER": cat.MANAGER_MIX}
        tmpl = np.zeros(n, dtype=np.int64)
        for role, mix in mixes.items():
            mask = self.rep_role[rep] == role
            ids = np.array([self.tindex[t] for t, _ in mix])
            weights = np.array([w for _, w in mix])
            tmpl[mask] = rng.choice(ids, size=int(mask.sum()), p=weights / weights.sum())
        self.bg_tmpl = tmpl

    # -- meetings ------------------------------------------------------------
    def build_meetings(self) -> None:
        rng = self.rng
        rep, utc = self.bg_rep, self.bg_utc
        is_bdr = self.rep_role == "BDR"
        quota = np.zeros(self.n_reps, dtype=np.int64)
        lo, hi = MEETINGS_PER_BDR
        for t in range(len(TEAMS)):
            bdrs = np.flatnonzero(is_bdr & (self.rep_team == t))
            quota[bdrs] = np.maximum(
                MEETING_FLOOR, np.round(rng.integers(lo, hi, size=len(bdrs)) * self.volume)
            )
        others = np.flatnonzero(
            is_bdr
            & (self.rep_team == self.rep_team[self.weak_bdr])
            & (np.arange(self.n_reps) != self.weak_bdr)
        )
        quota[self.weak_bdr] = int(np.ceil(WEAK_BDR_MEETING_FACTOR * np.median(quota[others])))
        regular_window = is_bdr[rep] & (utc >= self.start_s) & (utc < self.end_s - 12 * HOUR)
        cand = np.flatnonzero(regular_window)
        chosen = cand[_choose_per_group(rng, rep[cand], quota)]
        kinds = [np.zeros(len(chosen), dtype=np.int64)]
        rows = [chosen]
        # censored: booked in the last 12 hours of the quarter, no AE touch yet
        americas = np.isin(self.rep_team, [0, 1]) & is_bdr
        americas[self.weak_bdr] = False
        late = np.flatnonzero(americas[rep] & (utc >= self.end_s - 12 * HOUR) & (utc < self.end_s))
        censored = np.sort(rng.choice(late, size=min(N_CENSORED, len(late)), replace=False))
        rows.append(censored)
        kinds.append(np.ones(len(censored), dtype=np.int64))
        # a few meetings booked before the quarter (outside the period)
        early = np.flatnonzero(
            is_bdr[rep] & (utc < self.start_s) & (utc >= self.window_first * DAY)
        )
        early = np.sort(
            rng.choice(early, size=min(N_MEETINGS_BEFORE_PERIOD, len(early)), replace=False)
        )
        rows.append(early)
        kinds.append(np.full(len(early), 2, dtype=np.int64))
        row = np.concatenate(rows)
        kind = np.concatenate(kinds)
        order = np.lexsort((row, utc[row]))
        row, kind = row[order], kind[order]
        m = len(row)
        self.m_row = row  # background row of the booking activity
        self.m_kind = kind  # 0 regular, 1 censored, 2 before the period
        self.m_bdr = rep[row]
        self.m_booked = utc[row]
        self.m_team = self.rep_team[self.m_bdr]
        self.m_lead = np.arange(m, dtype=np.int64) + 100_001
        # owner: a regular AE of the same team
        owner = np.zeros(m, dtype=np.int64)
        for t in range(len(TEAMS)):
            mask = self.m_team == t
            aes = self.regular_ae[self.rep_team[self.regular_ae] == t]
            owner[mask] = aes[rng.integers(0, len(aes), size=int(mask.sum()))]
        self.m_owner = owner
        # scheduled_for: 1-7 working days later, a little later in the day
        booked_day = self.m_booked // DAY
        gap = rng.integers(1, 8, size=m)
        sched_day = _busday_offset(booked_day, gap, roll="forward")
        self.m_sched = sched_day * DAY + self.m_booked % DAY + rng.integers(600, 3 * HOUR, size=m)
        future_day = _busday_offset(
            np.full(m, self.window_last), rng.integers(2, 7, size=m), roll="forward"
        )
        future = future_day * DAY + 15 * HOUR + rng.integers(0, 3 * HOUR, size=m)
        self.m_sched = np.where(kind == 1, future, self.m_sched)
        never = (kind == 0) & (rng.random(m) < NEVER_TOUCHED_SHARE)
        status = rng.choice(
            np.array(["held", "no_show", "canceled"], dtype=object),
            size=m,
            p=HELD_NO_SHOW_CANCELED,
        )
        status = np.where(self.m_sched > self.as_of_s, "scheduled", status)
        never_status = np.where(rng.random(m) < 0.5, "no_show", "canceled")
        never_status = np.where(self.m_sched > self.as_of_s, "canceled", never_status)
        status = np.where(never, never_status, status)
        status = np.where(kind == 2, "held", status)
        self.m_status = status.astype(object)
        self.m_never = never
        # first AE touch
        slow = self.m_team == self.slow_team
        fast_h = np.exp(
            np.log(FAST_TOUCH["lognormal_median_h"])
            + FAST_TOUCH["lognormal_sigma"] * rng.standard_normal(m)
        )
        fast_h = np.where(
            rng.random(m) < FAST_TOUCH["late_share"], rng.uniform(*FAST_TOUCH["late_h"], m), fast_h
        )
        slow_h = np.where(
            rng.random(m) < SLOW_TOUCH["early_share"],
            rng.uniform(*SLOW_TOUCH["early_h"], m),
            rng.uniform(*SLOW_TOUCH["late_h"], m),
        )
        latency_s = np.round(np.where(slow, slow_h, fast_h) * HOUR).astype(np.int64)
        self.m_touch = self.m_booked + np.maximum(latency_s, 60)
        self.m_touch_type = np.where(rng.random(m) < 0.6, "email", "call")
        has_touch = ~never & (kind != 1) & (self.m_touch < self.as_of_s)
        held = self.m_status == "held"
        first = np.minimum(
            np.where(has_touch, self.m_touch, np.iinfo(np.int64).max),
            np.where(held, self.m_sched, np.iinfo(np.int64).max),
        )
        # booked in the last 24 h and no touch before the end: make it a censored meeting
        to_censor = (kind == 0) & (self.m_booked >= self.end_s - 24 * HOUR) & (first >= self.end_s)
        self.m_kind = np.where(to_censor, 1, self.m_kind)
        self.m_sched = np.where(to_censor, future, self.m_sched)
        self.m_status = np.where(to_censor | (self.m_kind == 1), "scheduled", self.m_status).astype(
            object
        )
        self.m_has_touch = has_touch & ~to_censor
        self.m_has_meeting_act = (self.m_status == "held") & (self.m_sched < self.as_of_s)
        self.m_opp = np.full(m, -1, dtype=np.int64)

    # -- opportunities -------------------------------------------------------
    def build_opportunities(self) -> None:
        rng = self.rng
        m = len(self.m_row)
        # From held meetings in the period
        p_opp = np.where(self.m_bdr == self.weak_bdr, P_OPP_FROM_HELD_WEAK, P_OPP_FROM_HELD)
        creates = (self.m_status == "held") & (self.m_kind == 0) & (rng.random(m) < p_opp)
        owner_zone = self.rep_zone[self.m_owner]
        sched_local_day = (self.m_sched + _utc_offsets(self.m_sched, owner_zone)) // DAY
        created_day = _busday_offset(sched_local_day, rng.integers(1, 4, size=m), roll="forward")
        created_secs = rng.integers(*STAGE_TIME, size=m)
        created_utc = _local_to_utc(created_day * DAY + created_secs, owner_zone)
        creates &= created_utc < self.as_of_s
        mi = np.flatnonzero(creates)
        n_m = len(mi)
        cycle = rng.integers(4, 40, size=n_m)
        close_day = _busday_offset(created_day[mi], cycle, roll="forward")
        closed = close_day < self.end_day
        owner = self.m_owner[mi].copy()
        team = self.m_team[mi]
        # Special AEs of the skill-gap team take over a few meetings (and their deals).
        in_skill = team == self.skill_team
        free = np.ones(n_m, dtype=bool)

        def take(mask: np.ndarray, k: int) -> np.ndarray:
            cand = np.flatnonzero(mask & free)
            pick = np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False))
            free[pick] = False
            return pick

        too_few, open_only = self.skill["too_few"], self.skill["open_only"]
        for pick, ae in (
            (take(in_skill & closed, NEW_HIRE_CLOSED), too_few),
            (take(in_skill & ~closed, NEW_HIRE_OPEN), too_few),
            (take(in_skill & ~closed, OPEN_ONLY_OPEN), open_only),
        ):
            owner[pick] = ae
            self.m_owner[mi[pick]] = ae
        no_opp = np.flatnonzero(
            (self.m_team == self.skill_team)
            & ~creates
            & (self.m_kind == 0)
            & np.isin(self.m_status, ["no_show", "canceled"])
            & ~self.m_never
        )
        extra = rng.choice(no_opp, size=min(4, len(no_opp)), replace=False)
        self.m_owner[np.sort(extra)[:2]] = too_few
        self.m_owner[np.sort(extra)[2:]] = open_only
        # Owner changes after creation: the deal moves to another AE of the team.
        changed = take(np.ones(n_m, dtype=bool), N_OWNER_CHANGES)
        for k in changed:
            aes = self.regular_ae[self.rep_team[self.regular_ae] == team[k]]
            aes = aes[aes != owner[k]]
            owner[k] = aes[rng.integers(0, len(aes))]
        # Recompute the owner's local creation time (the owner may have changed zone).
        meeting_opps = {
            "meeting": mi,
            "owner": owner,
            "sourced_by": self.m_bdr[mi],
            "created_day": created_day[mi],
            "created_secs": created_secs[mi],
            "close_day": np.where(closed, close_day, -1),
            "lead_source": np.full(n_m, "Outbound", dtype=object),
        }
        # Opportunities created before the quarter, without a meeting in the data.
        # The skill-gap team's AEs get enough of them to reach SKILL_CLOSED_TARGET closes.
        skill_target = max(15, round(SKILL_CLOSED_TARGET * self.volume))
        pre_owner = []
        for ae in self.regular_ae:
            k = max(4, round(rng.integers(*PRE_QUARTER_OPPS_PER_AE) * self.volume))
            if self.rep_team[ae] == self.skill_team:
                k = max(k // 2, skill_target - int(((owner == ae) & closed).sum()))
            pre_owner.extend([ae] * k)
        pre_owner_arr = np.array(pre_owner, dtype=np.int64)
        n_p = len(pre_owner_arr)
        pre_skill = self.rep_team[pre_owner_arr] == self.skill_team
        q_first = _busday_offset(np.array([self.start_day - 91]), 0, roll="forward")[0]
        q_last = _busday_offset(np.array([self.start_day - 3]), 0, roll="backward")[0]
        span = _busday_count(np.array([q_first]), np.array([q_last]))[0]
        p_created = _busday_offset(
            np.full(n_p, q_first), rng.integers(0, span + 1, size=n_p), roll="forward"
        )
        n_q_bdays = _busday_count(np.array([self.start_day]), np.array([self.end_day]))[0]
        p_close = _busday_offset(
            np.full(n_p, self.start_day), rng.integers(0, n_q_bdays, size=n_p), roll="forward"
        )
        p_open = (rng.random(n_p) < PRE_QUARTER_OPEN_SHARE) & ~pre_skill
        p_close = np.where(p_open, -1, p_close)
        special = rng.choice(
            np.flatnonzero(~p_open & ~pre_skill),
            size=N_CLOSED_AFTER_PERIOD + N_CLOSED_BEFORE_PERIOD,
            replace=False,
        )
        after, before = special[:N_CLOSED_AFTER_PERIOD], special[N_CLOSED_AFTER_PERIOD:]
        p_close[after] = _busday_offset(
            np.full(len(after), self.end_day), rng.integers(0, OUTSIDE_DAYS, len(after)), "forward"
        )
        p_created[before] = _busday_offset(np.full(len(before), q_first), 0, "forward")
        p_close[before] = _busday_offset(
            np.full(len(before), self.start_day), -rng.integers(1, 6, len(before)), "forward"
        )
        pre_opps = {
            "meeting": np.full(n_p, -1, dtype=np.int64),
            "owner": pre_owner_arr,
            "sourced_by": np.full(n_p, -1, dtype=np.int64),
            "created_day": p_created,
            "created_secs": rng.integers(*STAGE_TIME, size=n_p),
            "close_day": p_close,
            "lead_source": rng.choice(np.array(PRE_QUARTER_SOURCES, dtype=object), size=n_p),
        }
        o = {k: np.concatenate([pre_opps[k], meeting_opps[k]]) for k in meeting_opps}
        zone = self.rep_zone[o["owner"]]
        o["created_utc"] = _local_to_utc(o["created_day"] * DAY + o["created_secs"], zone)
        order = np.lexsort((o["owner"], o["created_utc"]))
        o = {k: v[order] for k, v in o.items()}
        n = len(order)
        o["team"] = self.rep_team[o["owner"]]
        o["closed"] = o["close_day"] >= 0
        o["in_period"] = (
            o["closed"] & (o["close_day"] >= self.start_day) & (o["close_day"] < self.end_day)
        )
        self.m_opp[o["meeting"][o["meeting"] >= 0]] = np.flatnonzero(o["meeting"] >= 0)
        self.o = o
        self.n_opps = n
        self.ensure_closable()
        self.assign_wins()
        self.describe_opps()

    def ensure_closable(self) -> None:
        """Close a few more of a BDR's open deals when too few closed for their quota.

        Only matters at small ``scale``: each BDR needs at least
        ``round(0.16 * meetings) + 1`` sourced deals closed in the period so that the
        exact win quotas below are feasible.
        """
        rng = self.rng
        o = self.o
        booked_in = self.m_kind != 2
        special = np.isin(o["owner"], [self.skill["too_few"], self.skill["open_only"]])
        room = _busday_count(o["created_day"], np.full(self.n_opps, self.end_day))
        for b in np.flatnonzero(self.rep_role == "BDR"):
            rate = WON_PER_MEETING_WEAK if b == self.weak_bdr else WON_PER_MEETING
            need = round(rate * int(((self.m_bdr == b) & booked_in).sum())) + 1
            short = need - int((o["in_period"] & (o["sourced_by"] == b)).sum())
            cand = np.flatnonzero((o["sourced_by"] == b) & ~o["closed"] & ~special & (room >= 2))
            if short <= 0 or len(cand) == 0:
                continue
            pick = np.sort(rng.choice(cand, size=min(short, len(cand)), replace=False))
            offset = 1 + np.floor(rng.random(len(pick)) * (room[pick] - 1)).astype(np.int64)
            o["close_day"][pick] = _busday_offset(o["created_day"][pick], offset, "forward")
            o["closed"][pick] = True
            o["in_period"][pick] = True

    def assign_wins(self) -> None:
        """Decide which closed deals are won.

        Outside the skill-gap team: exactly ``round(rate * meetings booked)`` wins per
        BDR among the deals their meetings sourced, and Bernoulli wins for the other
        deals. Inside it: exactly ``round(rate * closed)`` wins per AE, spread over
        the BDRs in proportion to their meetings (a tiny integer program), so no
        BDR of that team looks weak by accident.
        """
        rng = self.rng
        o = self.o
        n = self.n_opps
        won = o["closed"] & (rng.random(n) < PRE_QUARTER_WIN_RATE)
        booked_in = self.m_kind != 2
        in_period = o["in_period"]
        for b in np.flatnonzero(self.rep_role == "BDR"):
            if self.rep_team[b] == self.skill_team:
                continue
            pool = np.flatnonzero(in_period & (o["sourced_by"] == b))
            meetings = int(((self.m_bdr == b) & booked_in).sum())
            rate = WON_PER_MEETING_WEAK if b == self.weak_bdr else WON_PER_MEETING
            k = min(round(rate * meetings), len(pool))
            won[pool] = False
            won[rng.choice(pool, size=k, replace=False)] = True
        # skill-gap team
        rates = {self.skill[k]: r for k, r in SKILL_RATES.items()}
        rates[self.skill["too_few"]] = 1.0
        aes = np.array(sorted(rates))
        bdrs = np.flatnonzero((self.rep_role == "BDR") & (self.rep_team == self.skill_team))
        from_meeting = in_period & (o["sourced_by"] >= 0)
        cap = np.array(
            [
                [
                    int((from_meeting & (o["owner"] == a) & (o["sourced_by"] == b)).sum())
                    for b in bdrs
                ]
                for a in aes
            ]
        )
        pre = np.array(
            [int((in_period & (o["sourced_by"] < 0) & (o["owner"] == a)).sum()) for a in aes]
        )
        totals = np.array([round(rates[a] * (cap[i].sum() + pre[i])) for i, a in enumerate(aes)])
        row = np.array([min(round(rates[a] * cap[i].sum()), totals[i]) for i, a in enumerate(aes)])
        pre_wins = np.minimum(totals - row, pre)
        meetings = np.array([int(((self.m_bdr == b) & booked_in).sum()) for b in bdrs])
        table = _balanced_table(cap, row, meetings * row.sum() / meetings.sum())
        for i, a in enumerate(aes):
            pool = np.flatnonzero(in_period & (o["sourced_by"] < 0) & (o["owner"] == a))
            won[pool] = False
            won[rng.choice(pool, size=pre_wins[i], replace=False)] = True
            for j, b in enumerate(bdrs):
                pool = np.flatnonzero(from_meeting & (o["owner"] == a) & (o["sourced_by"] == b))
                won[pool] = False
                won[rng.choice(pool, size=table[i, j], replace=False)] = True
        o["won"] = won & o["closed"]

    def describe_opps(self) -> None:
        """Segment, amount, stage path, stage history, hygiene fields."""
        rng = self.rng
        o = self.o
        n = self.n_opps
        segment = np.empty(n, dtype=object)
        for t, spec in enumerate(TEAMS):
            mask = o["team"] == t
            names = np.array([s for s, _ in spec.segments], dtype=object)
            p = np.array([w for _, w in spec.segments])
            segment[mask] = rng.choice(names, size=int(mask.sum()), p=p / p.sum())
        median = np.array([SEGMENT_AMOUNT[s] for s in segment])
        o["segment"] = segment
        o["amount"] = np.round(median * np.exp(0.5 * rng.standard_normal(n)) / 100) * 100
        # stage path: number of open stages reached
        reached = rng.integers(1, 5, size=n)
        reached = np.where(o["won"], 4, reached)
        n_entries = reached + o["closed"].astype(np.int64)
        o["final_stage"] = np.where(
            o["closed"],
            np.where(o["won"], cat.WON_STAGE, cat.LOST_STAGE),
            np.array(cat.OPEN_STAGES, dtype=object)[reached - 1],
        ).astype(object)
        # positions in working-day units from the creation day
        p0 = (o["created_secs"] - STAGE_TIME[0]) / (STAGE_TIME[1] - STAGE_TIME[0])
        asof_day = self.window_last
        span_open = np.maximum(_busday_count(o["created_day"], np.full(n, asof_day)), 1)
        close_pos = np.where(
            o["closed"],
            _busday_count(o["created_day"], np.where(o["closed"], o["close_day"], 0))
            + rng.uniform(0.0, 0.999, n),
            p0 + rng.uniform(0.4, 0.95, n) * (span_open - p0),
        )
        close_pos = np.maximum(close_pos, p0 + 0.01)
        opp = np.repeat(np.arange(n), n_entries)
        j = _group_rank(opp)
        last = j == n_entries[opp] - 1
        u = rng.uniform(p0[opp], close_pos[opp])
        # sort the intermediate positions within each opportunity
        pos = np.where(j == 0, p0[opp], np.where(last, close_pos[opp], u))
        middle = (j > 0) & ~last
        key = np.where(middle, pos, np.where(j == 0, -1.0, 1e9))
        order = np.lexsort((key, opp))
        pos = pos[order]
        stage_names = np.array(cat.OPEN_STAGES, dtype=object)
        stage = np.where(
            last & o["closed"][opp], o["final_stage"][opp], stage_names[np.minimum(j, 3)]
        )
        whole = np.floor(pos).astype(np.int64)
        day = _busday_offset(o["created_day"][opp], whole, roll="forward")
        secs = STAGE_TIME[0] + np.round((pos - whole) * (STAGE_TIME[1] - STAGE_TIME[0] - 60))
        zone = self.rep_zone[o["owner"][opp]]
        entered = _local_to_utc(day * DAY + secs.astype(np.int64), zone)
        entered = _strictly_increasing(entered, opp)
        self.sh = {"opp": opp, "stage": stage.astype(object), "entered": entered, "day": day}
        o["created_utc"] = entered[j == 0]
        # hygiene
        dirty = o["team"] == self.dirty_team

        def rate(component: str) -> np.ndarray:
            clean, bad = HYGIENE[component]
            return np.where(dirty, bad, clean)

        consistent = rng.random(n) < rate("stage_consistent")
        wrong = np.where(
            o["closed"],
            np.where(o["won"], "Negotiation", cat.WON_STAGE),
            cat.LOST_STAGE,
        )
        o["stage_written"] = np.where(consistent, o["final_stage"], wrong).astype(object)
        lost = o["closed"] & ~o["won"]
        has_reason = lost & (rng.random(n) < rate("lost_with_reason"))
        o["lost_reason"] = np.where(
            has_reason, rng.choice(np.array(LOST_REASONS, dtype=object), n), None
        )
        complete = rng.random(n) < rate("spine_complete")
        drop_one = rng.integers(0, len(SPINE_TEXT), size=n)
        filled = np.stack(
            [
                complete | np.where(dirty, rng.random(n) < DIRTY_SPINE_FIELD_FILL, drop_one != f)
                for f in range(len(SPINE_TEXT))
            ]
        )
        # a row not drawn as complete always misses at least one field
        by_chance = ~complete & filled.all(axis=0)
        filled[drop_one[by_chance], np.flatnonzero(by_chance)] = False
        for f, (field, texts) in enumerate(SPINE_TEXT.items()):
            o[field] = np.where(filled[f], rng.choice(np.array(texts, dtype=object), n), None)

    # -- activities -----------------------------------------------------------
    def build_activities(self) -> None:
        rng = self.rng
        idx = self.tindex
        o = self.o
        parts: list[dict[str, np.ndarray]] = []
        # background (the booking rows become "Book meeting" with the meeting's lead)
        n_bg = len(self.bg_rep)
        bg_lead = np.full(n_bg, -1, dtype=np.int64)
        bg_kind = np.zeros(n_bg, dtype=np.int64)
        tmpl = self.bg_tmpl.copy()
        tmpl[self.m_row] = idx[cat.BOOKING]
        bg_lead[self.m_row] = self.m_lead
        bg_kind[self.m_row] = 1
        booking_meeting = np.full(n_bg, -1, dtype=np.int64)
        booking_meeting[self.m_row] = np.arange(len(self.m_row))
        parts.append(
            {
                "rep": self.bg_rep,
                "utc": self.bg_utc,
                "tmpl": tmpl,
                "lead": bg_lead,
                "opp": np.full(n_bg, -1, dtype=np.int64),
                "kind": bg_kind,
                "meeting": booking_meeting,
            }
        )
        # AE first touches and held meetings
        t = np.flatnonzero(self.m_has_touch)
        touch_t = np.where(
            self.m_touch_type[t] == "email", idx[cat.TOUCH_EMAIL], idx[cat.TOUCH_CALL]
        )
        h = np.flatnonzero(self.m_has_meeting_act)
        parts.append(
            {
                "rep": np.concatenate([self.m_owner[t], self.m_owner[h]]),
                "utc": np.concatenate([self.m_touch[t], self.m_sched[h]]),
                "tmpl": np.concatenate([touch_t, np.full(len(h), idx[cat.HELD_MEETING])]),
                "lead": np.concatenate([self.m_lead[t], self.m_lead[h]]),
                "opp": np.full(len(t) + len(h), -1, dtype=np.int64),
                "kind": np.concatenate([np.full(len(t), 2), np.full(len(h), 3)]),
                "meeting": np.full(len(t) + len(h), -1, dtype=np.int64),
            }
        )
        # stage changes inside the activity window
        sh = self.sh
        in_window = (sh["day"] >= self.window_first) & (sh["day"] <= self.window_last)
        k = np.flatnonzero(in_window)
        stage_tmpl = np.array([idx[cat.STAGE_CHANGES[s]] for s in sh["stage"][k]], dtype=np.int64)
        parts.append(
            {
                "rep": o["owner"][sh["opp"][k]],
                "utc": sh["entered"][k],
                "tmpl": stage_tmpl,
                "lead": np.full(len(k), -1, dtype=np.int64),
                "opp": sh["opp"][k],
                "kind": np.full(len(k), 4),
                "meeting": np.full(len(k), -1, dtype=np.int64),
            }
        )
        # deal work between creation and close (or the snapshot)
        n = self.n_opps
        n_work = rng.integers(2, 7, size=n)
        w_opp = np.repeat(np.arange(n), n_work)
        start_day = o["created_day"][w_opp]
        end_day = np.where(o["closed"][w_opp], o["close_day"][w_opp], self.window_last)
        count = np.maximum(_busday_count(start_day, end_day), 1)
        offset = 1 + np.floor(rng.random(len(w_opp)) * count).astype(np.int64)
        w_day = _busday_offset(start_day, np.minimum(offset, count), roll="forward")
        keep = (w_day >= self.window_first) & (w_day <= self.window_last) & (w_day <= end_day)
        keep &= w_day > start_day
        w_opp, w_day = w_opp[keep], w_day[keep]
        w_owner = o["owner"][w_opp]
        w_utc = _local_to_utc(
            w_day * DAY + rng.integers(*STAGE_TIME, size=len(w_opp)), self.rep_zone[w_owner]
        )
        ids = np.array([idx[tm] for tm, _ in cat.AE_DEAL_WORK])
        weights = np.array([wt for _, wt in cat.AE_DEAL_WORK])
        parts.append(
            {
                "rep": w_owner,
                "utc": w_utc,
                "tmpl": rng.choice(ids, size=len(w_opp), p=weights / weights.sum()),
                "lead": np.full(len(w_opp), -1, dtype=np.int64),
                "opp": w_opp,
                "kind": np.full(len(w_opp), 5),
                "meeting": np.full(len(w_opp), -1, dtype=np.int64),
            }
        )
        a = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        # one activity per rep per second: nudge later events by whole seconds
        order = np.lexsort((a["kind"], a["utc"], a["rep"]))
        a = {key: v[order] for key, v in a.items()}
        a["utc"] = _strictly_increasing(a["utc"], a["rep"])
        booking = a["meeting"] >= 0
        self.m_booked = self.m_booked.copy()
        self.m_booked[a["meeting"][booking]] = a["utc"][booking]
        # ids by time
        order = np.lexsort((a["rep"], a["utc"]))
        a = {key: v[order] for key, v in a.items()}
        n_a = len(a["rep"])
        zone = self.rep_zone[a["rep"]]
        a["offset"] = _utc_offsets(a["utc"], zone)
        a["local_day"] = (a["utc"] + a["offset"]) // DAY
        # seq_in_day: by time within the rep's local day, over every activity
        order = np.lexsort((a["utc"], a["local_day"], a["rep"]))
        grp = a["rep"][order] * 1_000_000 + a["local_day"][order]
        seq = np.empty(n_a, dtype=np.int64)
        seq[order] = _group_rank(grp) + 1
        a["seq"] = seq
        # outcomes: the planted fatigue effect
        quality = np.array([t.quality for t in self.templates])[a["tmpl"]]
        bearing = rng.random(n_a) < quality
        # one team has no step, only busy-day and late-afternoon confounds (fatigue_scenarios)
        confounded = self.rep_team[a["rep"]] == self.team_names.index(fs.SAMPLE_CONFOUND_TEAM)
        step = (seq > FATIGUE_THRESHOLD) & ~confounded
        p = self.p_rep[a["rep"]] * np.where(step, 1 - FATIGUE_RELATIVE_DROP, 1)
        p = fs.sample_quality_probability(
            p,
            confounded,
            rep=a["rep"],
            local_day=a["local_day"],
            local_hour=(a["utc"] + a["offset"]) % DAY // HOUR,
        )
        positive = rng.random(n_a) < np.nan_to_num(p)
        width = max(len(t.other) for t in self.templates)
        table = np.array(
            [[*t.other, *([t.other[0]] * (width - len(t.other)))] for t in self.templates],
            dtype=object,
        )
        n_other = np.array([len(t.other) for t in self.templates])[a["tmpl"]]
        pick = np.floor(rng.random(n_a) * n_other).astype(np.int64)
        other = table[a["tmpl"], pick]
        outcome = np.where(bearing, np.where(positive, "positive", "negative"), other)
        a["outcome"] = outcome.astype(object)
        a["bearing"] = bearing
        a["positive"] = bearing & positive
        a_type = np.array([t.activity_type for t in self.templates], dtype=object)[a["tmpl"]]
        a["type"] = a_type
        a["subject"] = np.array([t.subject for t in self.templates], dtype=object)[a["tmpl"]]
        a["decision"] = np.array([t.decision for t in self.templates], dtype=object)[a["tmpl"]]
        team = self.rep_team[a["rep"]]
        dirty = team == self.dirty_team
        # links: background activity gets a lead unless it is admin or the team is sloppy
        linked_p = np.where(dirty, HYGIENE["activity_linked"][1], HYGIENE["activity_linked"][0])
        background = a["kind"] == 0
        link = background & (a["decision"] != "unclassified") & (rng.random(n_a) < linked_p)
        pool_lead = 500_000 + a["rep"] * 1_000 + rng.integers(0, 800, size=n_a)
        a["lead"] = np.where(link, pool_lead, a["lead"])
        # notes
        notes_p = np.where(dirty, HYGIENE["calls_with_notes"][1], HYGIENE["calls_with_notes"][0])
        meet_p = np.where(dirty, HELD_MEETING_NOTES[1], HELD_MEETING_NOTES[0])
        has_note = np.where(
            a_type == "call",
            rng.random(n_a) < notes_p,
            np.where(a_type == "meeting", rng.random(n_a) < meet_p, a_type == "note"),
        )
        a["notes"] = np.where(
            has_note, rng.choice(np.array(NOTE_TEXT, dtype=object), n_a), None
        ).astype(object)
        missed = np.isin(outcome, ["no_answer", "voicemail"])
        duration = np.where(
            a_type == "call",
            np.where(missed, rng.integers(5, 45, n_a), rng.integers(60, 1_200, n_a)),
            np.where(a_type == "meeting", rng.integers(900, 3_600, n_a), -1),
        )
        a["duration"] = duration
        a["form"] = rng.choice(3, size=n_a, p=TS_FORM_P)
        a["in_period"] = (a["local_day"] >= self.start_day) & (a["local_day"] < self.end_day)
        self.a = a
        self.n_acts = n_a

    # -- string tables --------------------------------------------------------
    def tables(self) -> dict[str, pl.DataFrame]:
        """The clean tables as written (all columns strings; null = empty)."""
        rng = self.rng
        reps = pl.DataFrame(
            {
                "rep_id": self.rep_ids.tolist(),
                "name": self.rep_names.tolist(),
                "role": self.rep_role_written.tolist(),
                "team": [self.team_names[t] for t in self.rep_team],
                "manager_id": [
                    self.rep_ids[m] if m >= 0 else None for m in self.rep_manager.tolist()
                ],
                "timezone": [z if z else None for z in self.rep_zone_written.tolist()],
            },
            schema={
                c: pl.String for c in ("rep_id", "name", "role", "team", "manager_id", "timezone")
            },
        )
        a = self.a
        n_a = self.n_acts
        opp_ids = _id_strings("O", np.arange(1, self.n_opps + 1), 6)
        lead = pl.select(
            pl.when(pl.Series(a["lead"] >= 0)).then(
                pl.lit("L") + pl.Series(a["lead"]).cast(pl.String)
            )
        ).to_series()
        opp = pl.select(
            pl.when(pl.Series(a["opp"] >= 0)).then(opp_ids.gather(np.maximum(a["opp"], 0)))
        ).to_series()
        activities = pl.DataFrame(
            {
                "activity_id": _id_strings("A", np.arange(1, n_a + 1), 7),
                "rep_id": self.rep_ids[a["rep"]].tolist(),
                "occurred_at": _fmt_ts(a["utc"], a["offset"], a["form"]),
                "activity_type": a["type"].tolist(),
                "outcome": [x if x else None for x in a["outcome"].tolist()],
                "subject": a["subject"].tolist(),
                "notes": a["notes"].tolist(),
                "lead_id": lead,
                "opportunity_id": opp,
                "duration_s": _nullable(a["duration"].astype(str), a["duration"] >= 0),
            },
            schema_overrides={c: pl.String for c in ("notes", "outcome")},
        )
        m = len(self.m_row)
        order = np.lexsort((self.m_bdr, self.m_booked))
        self.m_order = order
        m_ids = _id_strings("M", np.arange(1, m + 1), 5)
        bdr_zone = self.rep_zone[self.m_bdr]
        booked_form = np.where(rng.random(m) < 0.10, 1, 0)
        sched_form = np.where(rng.random(m) < 0.10, 2, 0)
        m_opp = self.m_opp[order]
        meetings = pl.DataFrame(
            {
                "meeting_id": m_ids,
                "booked_by": self.rep_ids[self.m_bdr[order]].tolist(),
                "owner_id": self.rep_ids[self.m_owner[order]].tolist(),
                "booked_at": _fmt_ts(
                    self.m_booked[order],
                    _utc_offsets(self.m_booked[order], bdr_zone[order]),
                    booked_form,
                ),
                "scheduled_for": _fmt_ts(self.m_sched[order], np.zeros(m, np.int64), sched_form),
                "status": self.m_status[order].tolist(),
                "lead_id": pl.select(
                    pl.lit("L") + pl.Series(self.m_lead[order]).cast(pl.String)
                ).to_series(),
                "opportunity_id": pl.select(
                    pl.when(pl.Series(m_opp >= 0)).then(opp_ids.gather(np.maximum(m_opp, 0)))
                ).to_series(),
            }
        )
        self.meeting_ids = m_ids.to_numpy()[np.argsort(order)]
        o = self.o
        n = self.n_opps
        created_form = np.where(rng.random(n) < 0.15, 2, 0)
        bool_digits = rng.random(n) < 0.10

        def boolean(values: np.ndarray) -> list[str]:
            words = np.where(values, "true", "false")
            digits = np.where(values, "1", "0")
            return np.where(bool_digits, digits, words).tolist()

        opportunities = pl.DataFrame(
            {
                "opportunity_id": opp_ids,
                "owner_id": self.rep_ids[o["owner"]].tolist(),
                "sourced_by": [
                    self.rep_ids[b] if b >= 0 else None for b in o["sourced_by"].tolist()
                ],
                "created_at": _fmt_ts(o["created_utc"], np.zeros(n, np.int64), created_form),
                "stage": o["stage_written"].tolist(),
                "is_closed": boolean(o["closed"]),
                "is_won": boolean(o["won"]),
                "closed_at": _fmt_date(o["close_day"], o["closed"]),
                "amount": [f"{x:.2f}" for x in o["amount"].tolist()],
                "lead_source": o["lead_source"].tolist(),
                "segment": o["segment"].tolist(),
                "lost_reason": o["lost_reason"].tolist(),
                **{f: o[f].tolist() for f in SPINE_TEXT},
            },
            schema_overrides={c: pl.String for c in ("sourced_by", "lost_reason", *SPINE_TEXT)},
        )
        sh = self.sh
        stage_history = pl.DataFrame(
            {
                "opportunity_id": opp_ids.gather(sh["opp"]),
                "stage": sh["stage"].tolist(),
                "entered_at": _fmt_ts(
                    sh["entered"],
                    np.zeros(len(sh["opp"]), np.int64),
                    np.zeros(len(sh["opp"]), np.int64),
                ),
            }
        )
        return {
            "reps": reps,
            "activities": activities,
            "meetings": meetings,
            "opportunities": opportunities,
            "stage_history": stage_history,
        }

    # -- what the metrics should recover ---------------------------------------
    def typed_activities(self) -> pl.DataFrame:
        a = self.a
        return pl.DataFrame(
            {
                "rep": a["rep"],
                "team": self.rep_team[a["rep"]],
                "role": self.rep_role[a["rep"]].tolist(),
                "utc": a["utc"],
                "local_day": a["local_day"],
                "seq": a["seq"],
                "in_period": a["in_period"],
                "bearing": a["bearing"],
                "positive": a["positive"],
                "type": a["type"].tolist(),
                "decision": a["decision"].tolist(),
                "lead": a["lead"],
                "opp": a["opp"],
                "has_notes": np.array([x is not None for x in a["notes"]]),
            }
        )

    def planted(self) -> dict[str, Any]:
        acts = self.typed_activities()
        ids = self.rep_ids
        team_names = self.team_names
        result: dict[str, Any] = {
            "generator": {
                "seed": self.seed,
                "quarter": self.period.label,
                "scale": self.scale,
                "period_start": self.period.start.isoformat(),
                "period_end_exclusive": self.period.end.isoformat(),
                "activity_window": [
                    (EPOCH + timedelta(days=self.window_first)).isoformat(),
                    (EPOCH + timedelta(days=self.window_last)).isoformat(),
                ],
                "snapshot_utc": _iso_utc(self.as_of_s),
                "timestamp_forms": dict(zip(TS_FORMS, TS_FORM_P, strict=True)),
                "period_membership": (
                    "activities by the rep's local date (empty timezone = UTC); meetings by "
                    "booked_at in UTC; wins and losses by closed_at"
                ),
            },
            "parameters": self._parameters_block(),
            "teams": self._teams_block(),
            "dirty_team": DIRTY_TEAM,
            "slow_handoff_team": SLOW_HANDOFF_TEAM,
            "weak_bdr_team": WEAK_BDR_TEAM,
            "skill_gap_team": SKILL_GAP_TEAM,
            "empty_timezone_rep": {
                "rep_id": ids[self.empty_tz_rep],
                "team": team_names[self.rep_team[self.empty_tz_rep]],
                "assumed_zone": "UTC",
                "note": "timezone is empty in reps.csv; activity is generated in UTC (the --tz default)",
            },
            "sdr_labelled_reps": sorted(
                ids[i] for i in range(self.n_reps) if self.rep_role_written[i] == "SDR"
            ),
        }
        result["decisions"] = self._decisions_block(acts)
        result["fatigue"] = self._fatigue_block(acts)
        result["bdr_funnel"], result["weak_bdr"] = self._funnel_block()
        result["skill_gap"], result["skill_gaps"] = self._skill_block()
        result["hygiene"] = self._hygiene_block(acts)
        result["handoffs"] = self._handoff_block(acts)
        result["funnel"] = self._opps_block()
        return result

    @staticmethod
    def _parameters_block() -> dict[str, Any]:
        names = [
            "FATIGUE_THRESHOLD",
            "FATIGUE_RELATIVE_DROP",
            "P_REP_RANGE",
            "BDR_DAILY_MEAN",
            "AE_DAILY_MEAN",
            "MANAGER_DAILY_MEAN",
            "DAILY_SHAPE",
            "DAILY_CLIP",
            "ATTENDANCE",
            "LATE_SHARE",
            "OUTSIDE_DAYS",
            "MEETINGS_PER_BDR",
            "MEETING_FLOOR",
            "WEAK_BDR_MEETING_FACTOR",
            "N_CENSORED",
            "N_MEETINGS_BEFORE_PERIOD",
            "NEVER_TOUCHED_SHARE",
            "HELD_NO_SHOW_CANCELED",
            "P_OPP_FROM_HELD",
            "P_OPP_FROM_HELD_WEAK",
            "WON_PER_MEETING",
            "WON_PER_MEETING_WEAK",
            "PRE_QUARTER_OPPS_PER_AE",
            "PRE_QUARTER_WIN_RATE",
            "PRE_QUARTER_OPEN_SHARE",
            "SKILL_CLOSED_TARGET",
            "N_OWNER_CHANGES",
            "N_CLOSED_AFTER_PERIOD",
            "N_CLOSED_BEFORE_PERIOD",
            "SKILL_RATES",
            "NEW_HIRE_CLOSED",
            "NEW_HIRE_OPEN",
            "OPEN_ONLY_OPEN",
            "HYGIENE",
            "DIRTY_SPINE_FIELD_FILL",
            "HELD_MEETING_NOTES",
            "TS_FORM_P",
            "FAST_TOUCH",
            "SLOW_TOUCH",
        ]
        return {name.lower(): globals()[name] for name in names}

    def _teams_block(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t, name in enumerate(self.team_names):
            members = np.flatnonzero(self.rep_team == t)
            out[name] = {
                "slug": _slug(name),
                "manager": self.rep_ids[members[self.rep_role[members] == "MANAGER"][0]],
                "bdrs": [self.rep_ids[i] for i in members if self.rep_role[i] == "BDR"],
                "aes": [self.rep_ids[i] for i in members if self.rep_role[i] == "AE"],
                "timezones": sorted({self.rep_zone_written[i] or "(empty)" for i in members}),
            }
        return out

    def _decisions_block(self, acts: pl.DataFrame) -> dict[str, Any]:
        inp = acts.filter("in_period")
        by_decision = inp.group_by("decision").len().sort("decision").rows()
        classes = {d: cat.DECISION_CLASS[d] for d, _ in by_decision}
        by_class: dict[str, int] = {}
        for d, count in by_decision:
            by_class[classes[d]] = by_class.get(classes[d], 0) + count
        load = inp.group_by("rep", "local_day").len()
        by_role = (
            inp.filter(pl.col("role") != "MANAGER")
            .with_columns(
                pr=pl.col("decision").replace_strict(cat.DECISION_CLASS) == "pattern_recognition",
                jd=pl.col("decision").replace_strict(cat.DECISION_CLASS) == "judgment",
            )
            .group_by("role")
            .agg(pl.col("pr").mean(), pl.col("jd").mean())
            .sort("role")
        )
        return {
            "activities_total": int(acts.height),
            "activities_in_period": int(inp.height),
            "activities_outside_period": int(acts.height - inp.height),
            "by_decision": {d: int(c) for d, c in by_decision},
            "by_class": dict(sorted(by_class.items())),
            "unclassified_share": round(by_class.get("unclassified", 0) / inp.height, 6),
            "rep_days": int(load.height),
            "rep_days_over_threshold": int(load.filter(pl.col("len") > FATIGUE_THRESHOLD).height),
            "over_threshold_definition": "decisions > 45 on the rep's local day",
            "daily_decisions_min": int(load["len"].min()),
            "daily_decisions_median": float(load["len"].median()),
            "daily_decisions_max": int(load["len"].max()),
            "class_share_by_role": {
                role: {"pattern_recognition": round(pr, 4), "judgment": round(jd, 4)}
                for role, pr, jd in by_role.rows()
            },
            "seq_in_day_definition": (
                "rank by occurred_at among ALL of the rep's activities on that local day "
                "(classified or not, with or without a quality outcome)"
            ),
        }

    def _fatigue_block(self, acts: pl.DataFrame) -> dict[str, Any]:
        q = acts.filter("in_period", "bearing").with_columns(
            after=pl.col("seq") > FATIGUE_THRESHOLD
        )

        def summary(frame: pl.DataFrame) -> dict[str, Any]:
            before = frame.filter(~pl.col("after"))
            after = frame.filter("after")
            rb, ra = before["positive"].mean(), after["positive"].mean()
            per_rep = (
                frame.group_by("rep")
                .agg(
                    n1=pl.col("after").sum(),
                    n0=(~pl.col("after")).sum(),
                    a=(pl.col("after") & pl.col("positive")).sum(),
                    b=(~pl.col("after") & pl.col("positive")).sum(),
                )
                .with_columns(n=pl.col("n1") + pl.col("n0"))
            )
            num = (per_rep["a"] * per_rep["n0"] / per_rep["n"]).sum()
            den = (per_rep["b"] * per_rep["n1"] / per_rep["n"]).sum()
            return {
                "n_decisions": int(frame.height),
                "n_before": int(before.height),
                "n_after": int(after.height),
                "quality_before": round(float(rb), 6),
                "quality_after": round(float(ra), 6),
                "relative_drop_pooled": round(1 - float(ra) / float(rb), 6),
                "relative_drop_within_rep": round(1 - float(num) / float(den), 6),
            }

        teams = {
            name: summary(q.filter(pl.col("team") == t)) for t, name in enumerate(self.team_names)
        }
        step_teams = [t for t in self.team_names if t != fs.SAMPLE_CONFOUND_TEAM]
        confound_team = self.team_names.index(fs.SAMPLE_CONFOUND_TEAM)
        return {
            "threshold": FATIGUE_THRESHOLD,
            "relative_drop": FATIGUE_RELATIVE_DROP,
            "teams": step_teams,
            "model": (
                "P(outcome = positive | quality-bearing) = p_rep if seq_in_day <= 45, "
                "else 0.70 * p_rep (teams listed in 'teams'); "
                "quality-bearing = outcome positive or negative"
            ),
            "confound": {
                "team": fs.SAMPLE_CONFOUND_TEAM,
                "fatigue_step": False,
                **fs.SAMPLE_CONFOUNDS,
                "model": (
                    "no step; logit P = logit p_rep + day_logit * z(rep-day activity count, "
                    "standardised within the rep) + late_logit * [local hour >= 16]"
                ),
                "empirical": summary(q.filter(pl.col("team") == confound_team)),
            },
            "p_rep_range": list(P_REP_RANGE),
            "p_rep": {
                self.rep_ids[i]: round(float(self.p_rep[i]), 6)
                for i in range(self.n_reps)
                if self.rep_role[i] != "MANAGER"
            },
            "empirical": {"all": summary(q), **teams},
        }

    def _funnel_block(self) -> tuple[dict[str, Any], dict[str, Any]]:
        o = self.o
        in_period = self.m_kind != 2
        rows: dict[str, Any] = {}
        for b in np.flatnonzero(self.rep_role == "BDR"):
            mine = (self.m_bdr == b) & in_period
            booked = int(mine.sum())
            held = int((mine & (self.m_status == "held")).sum())
            opps = o["sourced_by"] == b
            won = int((opps & o["won"] & o["in_period"]).sum())
            rows[self.rep_ids[b]] = {
                "team": self.team_names[self.rep_team[b]],
                "meetings_booked": booked,
                "meetings_held": held,
                "opportunities": int(opps.sum()),
                "won": won,
                "won_per_meeting": round(won / booked, 6) if booked else None,
            }
        weak_id = self.rep_ids[self.weak_bdr]
        team = self.team_names[self.rep_team[self.weak_bdr]]
        others = [v for k, v in rows.items() if v["team"] == team and k != weak_id]
        mates = [v for v in rows.values() if v["team"] == team]
        weak = {
            "rep_id": weak_id,
            "team": team,
            "true_won_per_meeting": WON_PER_MEETING_WEAK,
            "others_true_won_per_meeting": WON_PER_MEETING,
            "p_opportunity_from_held": P_OPP_FROM_HELD_WEAK,
            "others_p_opportunity_from_held": P_OPP_FROM_HELD,
            **{k: rows[weak_id][k] for k in ("meetings_booked", "won", "won_per_meeting")},
            "team_median_meetings_booked": float(np.median([v["meetings_booked"] for v in mates])),
            "team_median_won_per_meeting": float(np.median([v["won_per_meeting"] for v in mates])),
            "others_median_won_per_meeting": float(
                np.median([v["won_per_meeting"] for v in others])
            ),
            "rule": (
                "won = opportunities sourced_by the BDR that are won with closed_at in the "
                "period; every such opportunity comes from a meeting booked in the period"
            ),
        }
        return rows, weak

    def _skill_block(self) -> tuple[dict[str, Any], dict[str, Any]]:
        o = self.o
        per_ae: dict[str, Any] = {}
        for ae in np.flatnonzero(self.rep_role == "AE"):
            mine = o["owner"] == ae
            if not mine.any():
                continue
            closed = int((mine & o["in_period"]).sum())
            won = int((mine & o["in_period"] & o["won"]).sum())
            per_ae[self.rep_ids[ae]] = {
                "team": self.team_names[self.rep_team[ae]],
                "owned": int(mine.sum()),
                "closed": closed,
                "won": won,
                "win_rate": round(won / closed, 6) if closed else None,
            }
        s = {k: self.rep_ids[v] for k, v in self.skill.items()}
        top, weak = per_ae[s["top"]], per_ae[s["weak"]]
        block = {
            "team": SKILL_GAP_TEAM,
            "top_ae": s["top"],
            "weak_ae": s["weak"],
            "other_aes": [s["other_1"], s["other_2"]],
            "too_few_ae": s["too_few"],
            "open_only_ae": s["open_only"],
            "true_win_rates": {s[k]: r for k, r in SKILL_RATES.items()},
            "true_ratio": round(SKILL_RATES["weak"] / SKILL_RATES["top"], 6),
            "observed_ratio": round(weak["win_rate"] / top["win_rate"], 6),
            "per_ae": {
                s[k]: per_ae.get(s[k], {"closed": 0, "won": 0, "win_rate": None})
                for k in ("top", "weak", "other_1", "other_2", "too_few", "open_only")
            },
            "rule": (
                "wins are exact: round(rate * closed) of each AE's deals closed in the period; "
                "closed/won count deals by final owner_id with closed_at in the period"
            ),
        }
        return block, per_ae

    def _hygiene_block(self, acts: pl.DataFrame) -> dict[str, Any]:
        o = self.o
        consistent = np.where(
            o["closed"],
            o["stage_written"] == np.where(o["won"], cat.WON_STAGE, cat.LOST_STAGE),
            ~np.isin(o["stage_written"], [cat.WON_STAGE, cat.LOST_STAGE]),
        )
        spine = np.all(np.stack([o[f] != None for f in SPINE_TEXT]), axis=0)  # noqa: E711
        lost = o["closed"] & ~o["won"]
        reason = o["lost_reason"] != None  # noqa: E711
        inp = acts.filter("in_period")
        calls = (
            inp.filter(pl.col("type") == "call").group_by("team").agg(pl.col("has_notes").mean())
        )
        linked = inp.group_by("team").agg(((pl.col("lead") >= 0) | (pl.col("opp") >= 0)).mean())
        calls_d = dict(calls.rows())
        linked_d = dict(linked.rows())
        teams: dict[str, Any] = {}
        for t, name in enumerate(self.team_names):
            mine = o["team"] == t
            comps = {
                "stage_consistent": float(consistent[mine].mean()),
                "lost_with_reason": float(reason[mine & lost].mean()),
                "calls_with_notes": float(calls_d[t]),
                "spine_complete": float(spine[mine].mean()),
                "activity_linked": float(linked_d[t]),
            }
            comps = {k: round(v, 6) for k, v in comps.items()}
            comps["score_equal_weights"] = round(100 * float(np.mean(list(comps.values()))), 4)
            teams[name] = comps
        return {
            "dirty_team": DIRTY_TEAM,
            "components": {
                "stage_consistent": "stage agrees with is_closed/is_won (all opportunities)",
                "lost_with_reason": "closed lost opportunities with a lost_reason",
                "calls_with_notes": "calls in the period with notes",
                "spine_complete": "opportunities with all five spine_* fields",
                "activity_linked": "activities in the period with a lead_id or opportunity_id",
            },
            "planted_rates": {k: {"clean": v[0], "dirty": v[1]} for k, v in HYGIENE.items()},
            "teams": teams,
            "note": "opportunities are attributed to the owner's team; all opportunities in the file count",
        }

    def _handoff_block(self, acts: pl.DataFrame) -> dict[str, Any]:
        m = len(self.m_row)
        meetings = pl.DataFrame(
            {
                "m": np.arange(m),
                "owner": self.m_owner,
                "lead": self.m_lead,
                "opp": self.m_opp,
                "booked": self.m_booked,
                "team": self.m_team,
                "kind": self.m_kind,
            }
        )
        touches = acts.select("rep", "utc", "lead", "opp")
        by_lead = meetings.join(
            touches.filter(pl.col("lead") >= 0).select("rep", "utc", "lead"),
            left_on=["owner", "lead"],
            right_on=["rep", "lead"],
        )
        by_opp = meetings.filter(pl.col("opp") >= 0).join(
            touches.filter(pl.col("opp") >= 0).select("rep", "utc", "opp"),
            left_on=["owner", "opp"],
            right_on=["rep", "opp"],
        )
        first = (
            pl.concat([by_lead.select("m", "utc", "booked"), by_opp.select("m", "utc", "booked")])
            .filter(pl.col("utc") >= pl.col("booked"))
            .group_by("m")
            .agg(first=pl.col("utc").min())
        )
        h = (
            meetings.filter((pl.col("booked") >= self.start_s) & (pl.col("booked") < self.end_s))
            .join(first, on="m", how="left")
            .with_columns(latency_h=(pl.col("first") - pl.col("booked")) / HOUR)
            .with_columns(
                censored=pl.col("first").is_null() & (pl.col("booked") >= self.end_s - 24 * HOUR),
            )
            .with_columns(
                within_24h=pl.when(pl.col("censored"))
                .then(None)
                .otherwise(pl.col("latency_h").fill_null(1e9) <= 24)
            )
        )
        teams: dict[str, Any] = {}
        for t, name in enumerate(self.team_names):
            f = h.filter(pl.col("team") == t)
            decided = f.filter(pl.col("within_24h").is_not_null())
            teams[name] = {
                "meetings": int(f.height),
                "censored": int(f["censored"].sum()),
                "touched": int(f["first"].is_not_null().sum()),
                "never_touched_uncensored": int((f["first"].is_null() & ~f["censored"]).sum()),
                "within_24h_true": int(decided["within_24h"].sum()),
                "within_24h_false": int((~decided["within_24h"]).sum()),
                "share_within_24h": round(float(decided["within_24h"].mean()), 6),
                "median_latency_hours": round(float(f["latency_h"].median()), 4),
                "touched_after_period_end": int((f["first"] >= self.end_s).sum()),
            }
        ids = self.meeting_ids
        censored = h.filter("censored")["m"].to_numpy()
        return {
            "slow_team": SLOW_HANDOFF_TEAM,
            "latency_model_hours": {"default": FAST_TOUCH, "slow_team": SLOW_TOUCH},
            "definition": (
                "first activity of the meeting's owner_id with the meeting's lead_id or "
                "opportunity_id at or after booked_at (any activity in the file); censored = no "
                "touch and booked under 24 h before the period end; within_24h = latency <= 24 h"
            ),
            "teams": teams,
            "censored_meeting_ids": sorted(ids[censored].tolist()),
            "meetings_booked_before_period": int((self.m_kind == 2).sum()),
        }

    def _opps_block(self) -> dict[str, Any]:
        o = self.o
        opp_ids = np.array([f"O{i + 1:06d}" for i in range(self.n_opps)], dtype=object)
        m_owner = np.where(o["meeting"] >= 0, self.m_owner[np.maximum(o["meeting"], 0)], -1)
        changed = (o["meeting"] >= 0) & (m_owner != o["owner"])
        status = {s: int((self.m_status[self.m_kind != 2] == s).sum()) for s in MEETING_STATUSES}
        return {
            "meetings_by_status": status,
            "opportunities": int(self.n_opps),
            "from_meetings": int((o["meeting"] >= 0).sum()),
            "created_before_period": int((o["created_day"] < self.start_day).sum()),
            "closed_in_period": int(o["in_period"].sum()),
            "won_in_period": int((o["in_period"] & o["won"]).sum()),
            "open": int((~o["closed"]).sum()),
            "closed_after_period": int((o["closed"] & (o["close_day"] >= self.end_day)).sum()),
            "closed_before_period": int((o["closed"] & (o["close_day"] < self.start_day)).sum()),
            "owner_changed": [
                {
                    "opportunity_id": opp_ids[k],
                    "meeting_id": self.meeting_ids[o["meeting"][k]],
                    "meeting_owner": self.rep_ids[m_owner[k]],
                    "opportunity_owner": self.rep_ids[o["owner"][k]],
                    "sourced_by": self.rep_ids[o["sourced_by"][k]],
                }
                for k in np.flatnonzero(changed)
            ],
        }


def _iso_utc(seconds: int) -> str:
    return (datetime(1970, 1, 1) + timedelta(seconds=int(seconds))).isoformat() + "Z"


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


# ---------------------------------------------------------------------------
# Dirty rows
# ---------------------------------------------------------------------------
def _with(frame: pl.DataFrame, **values: Any) -> pl.DataFrame:
    return frame.with_columns(
        **{
            k: pl.Series(k, v, dtype=pl.String) if isinstance(v, list) else pl.lit(v, pl.String)
            for k, v in values.items()
        }
    )


def _make_dirty(
    tables: dict[str, pl.DataFrame], rng: np.random.Generator
) -> tuple[dict[str, pl.DataFrame], dict[str, dict[str, int]]]:
    """Append dirty rows (each wrong in exactly one way) and interleave them."""
    out: dict[str, pl.DataFrame] = {}
    counts: dict[str, dict[str, int]] = {}

    def sample(frame: pl.DataFrame, k: int) -> np.ndarray:
        return np.sort(rng.choice(frame.height, size=k, replace=False))

    # activities
    acts = tables["activities"]
    n = acts.height
    picks = sample(acts, 85)
    dup, dupkey, unknown, badts, missing = np.split(picks[rng.permutation(85)], [40, 43, 68, 80])
    new_ids = [f"A{i:07d}" for i in range(n + 1, n + 1 + 25 + 12 + 5)]
    parts = [
        (acts[dup], dup, "duplicate"),
        (_with(acts[dupkey], notes="Edited after sync"), dupkey, "duplicate_key"),
        (
            _with(
                acts[unknown],
                activity_id=new_ids[:25],
                rep_id=[f"R{90001 + i}" for i in range(25)],
            ),
            None,
            "unknown_rep",
        ),
        (
            _with(
                acts[badts],
                activity_id=new_ids[25:37],
                occurred_at=[DIRTY_BAD_TIMESTAMPS[i % 4] for i in range(12)],
            ),
            None,
            "unparseable_value",
        ),
    ]
    miss = acts[missing]
    miss = pl.concat(
        [
            _with(miss[0:1], activity_id=[None]),
            _with(miss[1:3], activity_id=new_ids[37:39], occurred_at=[None, None]),
            _with(miss[3:5], activity_id=new_ids[39:41], activity_type=[None, None]),
        ]
    )
    parts.append((miss, None, "missing_required_value"))
    out["activities"], counts["activities"] = _interleave(acts, parts, rng, shuffle=True)

    # meetings
    meet = tables["meetings"]
    n = meet.height
    picks = sample(meet, 8)
    new_ids = [f"M{i:05d}" for i in range(n + 1, n + 6)]
    status = meet["status"].to_numpy()
    other_status = ["canceled" if s != "canceled" else "held" for s in status[picks[7:8]]]
    parts = [
        (
            _with(meet[picks[0:1]], meeting_id=new_ids[0:1], booked_by=[None]),
            None,
            "missing_required_value",
        ),
        (
            _with(meet[picks[1:3]], meeting_id=new_ids[1:3], booked_by=["R90101", "R90102"]),
            None,
            "unknown_rep",
        ),
        (
            _with(meet[picks[3:5]], meeting_id=new_ids[3:5], status=["rescheduled", "pending"]),
            None,
            "invalid_value",
        ),
        (meet[picks[5:7]], picks[5:7], "duplicate"),
        (_with(meet[picks[7:8]], status=other_status), picks[7:8], "duplicate_key"),
    ]
    out["meetings"], counts["meetings"] = _interleave(meet, parts, rng, shuffle=False)

    # opportunities
    opps = tables["opportunities"]
    n = opps.height
    picks = sample(opps, 6)
    new_ids = [f"O{i:06d}" for i in range(n + 1, n + 6)]
    parts = [
        (
            _with(opps[picks[0:2]], opportunity_id=new_ids[0:2], owner_id=["R90201", "R90202"]),
            None,
            "unknown_rep",
        ),
        (
            _with(opps[picks[2:3]], opportunity_id=new_ids[2:3], is_closed=["maybe"]),
            None,
            "unparseable_value",
        ),
        (
            _with(
                opps[picks[3:4]], opportunity_id=new_ids[3:4], created_at=["2026-07-32T10:00:00Z"]
            ),
            None,
            "unparseable_value",
        ),
        (
            _with(opps[picks[4:5]], opportunity_id=new_ids[4:5], stage=[None]),
            None,
            "missing_required_value",
        ),
        (opps[picks[5:6]], picks[5:6], "duplicate"),
    ]
    out["opportunities"], counts["opportunities"] = _interleave(opps, parts, rng, shuffle=False)

    # reps: one exact duplicate of a BDR row
    reps = tables["reps"]
    bdr_rows = np.flatnonzero(reps["role"].to_numpy() == "BDR")
    pick = np.array([rng.choice(bdr_rows)])
    out["reps"], counts["reps"] = _interleave(
        reps, [(reps[pick], pick, "duplicate")], rng, shuffle=False
    )

    # stage history
    sh = tables["stage_history"]
    picks = sample(sh, 5)
    parts = [
        (sh[picks[0:3]], picks[0:3], "duplicate"),
        (_with(sh[picks[3:4]], entered_at=["yesterday"]), None, "unparseable_value"),
        (_with(sh[picks[4:5]], stage=[None]), None, "missing_required_value"),
    ]
    out["stage_history"], counts["stage_history"] = _interleave(sh, parts, rng, shuffle=False)
    return out, counts


def _interleave(
    clean: pl.DataFrame,
    parts: list[tuple[pl.DataFrame, np.ndarray | None, str]],
    rng: np.random.Generator,
    *,
    shuffle: bool,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Mix dirty rows into the clean rows; copies of a row always come after it."""
    n = clean.height
    key = rng.permutation(n).astype(np.float64) if shuffle else np.arange(n, dtype=np.float64)
    keys = [key]
    frames = [clean]
    counts: dict[str, int] = {}
    for frame, after, reason in parts:
        if after is None:
            k = rng.uniform(0, n, size=frame.height)
        else:
            k = key[after] + rng.uniform(0.01, 1.0, size=frame.height) * (n - key[after])
        keys.append(k)
        frames.append(frame)
        counts[reason] = counts.get(reason, 0) + frame.height
    all_keys = np.concatenate(keys)
    order = np.argsort(all_keys, kind="stable")
    return pl.concat(frames)[order], dict(sorted(counts.items()))


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def generate_sample(
    out_dir: Path,
    *,
    seed: int = 7,
    quarter: str = "2026Q3",
    scale: float = 1.0,
    previous_quarter: bool = False,
) -> dict[str, Any]:
    """Write the synthetic canonical dataset and ``planted.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory to write ``reps.csv``, ``activities.csv``, ``meetings.csv``,
        ``opportunities.csv``, ``stage_history.csv`` and ``planted.json`` into
        (created if missing; existing files of those names are replaced).
    seed
        Seed of the one random generator; the same seed gives byte-identical files.
    quarter
        The quarter the activity covers, e.g. ``"2026Q3"``.
    scale
        Volume knob. Below 1 the reps work on fewer days and book fewer meetings
        (effects stay recoverable in direction at 0.25); above 1 each team gets
        more BDRs and AEs. The default, 1.0, is what the metric tests use.
    previous_quarter
        Also write the quarter before, with a planted rollout (a ``changes`` table) and a
        common trend: see :mod:`analysis.sample.history`. The sample quarter is unchanged.

    Returns
    -------
    dict
        The content of ``planted.json``: every planted effect with its
        parameters, the exact dirty-row counts, and the expected clean row counts.

    Examples
    --------
    >>> import tempfile
    >>> planted = generate_sample(Path(tempfile.mkdtemp()), seed=1, scale=0.1)
    >>> planted["dirty_rows"]["reps"]
    {'duplicate': 1}
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    period = Period.quarter(quarter)
    org = _Org(seed, period, scale)
    org.build_reps()
    org.build_background()
    org.build_meetings()
    org.build_opportunities()
    org.build_activities()
    clean = org.tables()
    planted = org.planted()
    planted["process_audit"] = pipeline_audit.plant(org, clean)  # re-times stage_history
    changes = None
    if previous_quarter:
        from analysis.sample.history import add_previous_quarter

        clean, planted["previous_quarter"] = add_previous_quarter(clean, period=period, seed=seed)
        changes = clean.pop("changes")
    written, dirty = _make_dirty(clean, org.rng)
    written["close_date_changes"], dirty["close_date_changes"] = pipeline_audit.dirty_close_dates(
        clean["close_date_changes"], np.random.default_rng([seed, 14])
    )
    if changes is not None:
        written["changes"] = changes
    planted["clean_rows"] = {name: int(frame.height) for name, frame in clean.items()}
    planted["dirty_rows"] = dirty
    planted["input_rows"] = {name: int(frame.height) for name, frame in written.items()}
    planted["dirty_row_rules"] = {
        "duplicate": "exact copy of a clean row (every column equal), written after it",
        "duplicate_key": "same key as an earlier clean row, different content",
        "unknown_rep": "activities.rep_id / meetings.booked_by / opportunities.owner_id not in reps",
        "unparseable_value": "a present value that cannot be parsed (timestamp or boolean)",
        "missing_required_value": "an empty required column",
        "invalid_value": "meetings.status outside scheduled/held/no_show/canceled",
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in written.items():
        frame.write_csv(out_dir / f"{name}.csv")
    text = json.dumps(planted, indent=2, ensure_ascii=False) + "\n"
    (out_dir / "planted.json").write_text(text, encoding="utf-8")
    return json.loads(text)
