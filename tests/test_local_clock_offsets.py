"""The offset lookup of ``local_clock(between=...)`` equals converting every row (issue 16)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from analysis.decisions.classify import local_clock, zone_offsets

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kolkata",  # +05:30, no DST
    "America/St_Johns",  # -03:30 with DST
    "Pacific/Chatham",  # +12:45 with DST
    "Africa/Casablanca",  # DST suspended during Ramadan: four changes a year
    "America/Santiago",
    "UTC",
]
LO, HI = datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)


def _frame(instants: list[int], zones: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "occurred_at": pl.Series(instants, dtype=pl.Int64)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            "timezone": zones,
        }
    )


def test_offsets_equal_conversion_at_random_instants_and_at_every_transition() -> None:
    rng = np.random.default_rng(16)
    lo_us, hi_us = int(LO.timestamp() * 1e6), int(HI.timestamp() * 1e6)
    instants = rng.integers(lo_us, hi_us, 200_000).tolist()
    zones = rng.choice(ZONES, len(instants)).tolist()
    transitions = 0
    for zone in ZONES:
        for start, _ in zone_offsets(zone, LO, HI)[1:]:
            transitions += 1
            t = int(start.timestamp() * 1e6)
            for delta in (-1_000_000, -1, 0, 1, 1_000_000):
                instants.append(t + delta)
                zones.append(zone)
    assert transitions >= 20  # DST zones change twice a year (Casablanca more)
    df = _frame(instants, zones)
    chained = df.select(local_clock(ZONES)).to_series()
    looked_up = df.select(local_clock(ZONES, between=(LO, HI))).to_series()
    assert looked_up.null_count() == 0
    assert (chained == looked_up).all()


def test_transitions_are_found_to_the_second() -> None:
    # Berlin: 2026-03-29 01:00 UTC (+1 -> +2) and 2026-10-25 01:00 UTC (+2 -> +1)
    pieces = zone_offsets("Europe/Berlin", LO, HI)
    hours = {t: off // 3_600_000_000 for t, off in pieces}
    assert hours[datetime(2026, 3, 29, 1, tzinfo=UTC)] == 2
    assert hours[datetime(2026, 10, 25, 1, tzinfo=UTC)] == 1
    # Lord Howe moves by 30 minutes
    lord_howe = [off for _, off in zone_offsets("Australia/Lord_Howe", LO, HI)]
    assert {o // 60_000_000 for o in lord_howe} == {630, 660}
    assert zone_offsets("UTC", LO, LO + timedelta(days=3)) == [(LO, 0)]


def test_unlisted_zone_gives_null() -> None:
    df = _frame([int(LO.timestamp() * 1e6) + 5], ["Europe/Paris"])
    assert df.select(local_clock(["Europe/Berlin"], between=(LO, HI))).item() is None
