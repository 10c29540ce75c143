"""A small canonical dataset with a planted rollout, for tests and calibration of the impact analysis.

Two quarters of BDR meetings and their deals in ``n_teams`` teams. Every team's meeting
volume steps up by ``trend`` at the start of the second quarter (season, a new quota);
the ``treated_team`` gets a change at that moment whose effect multiplies its meetings
per BDR-week by ``1 + volume_effect`` and its won-per-meeting by ``1 + conversion_effect``.
Deals close 5 to 55 days after the meeting; those closing after as-of are still open.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

__all__ = ["simulate_rollout"]


def simulate_rollout(
    *,
    seed: int = 0,
    n_teams: int = 4,
    bdrs_per_team: int = 10,
    weekly_meetings: float = 8.0,
    won_rate: float = 0.25,
    volume_effect: float = 0.20,
    conversion_effect: float = -0.27,
    trend: float = 0.10,
    first_quarter: date = date(2026, 4, 1),
    treated_team: str = "T1",
    placebo_team: str | None = None,
) -> dict[str, pl.DataFrame]:
    """Canonical tables ``reps``, ``meetings``, ``opportunities``, ``changes`` (clean).

    Examples
    --------
    >>> tables = simulate_rollout(seed=1, n_teams=2, bdrs_per_team=2)
    >>> sorted(tables), tables["changes"]["team"].to_list()
    (['changes', 'meetings', 'opportunities', 'reps'], ['T1'])
    """
    rng = np.random.default_rng(seed)
    start = datetime.combine(first_quarter, datetime.min.time(), tzinfo=UTC)
    change_at = start + timedelta(weeks=13)
    weeks = 26
    as_of = start + timedelta(weeks=weeks)
    teams = [f"T{i + 1}" for i in range(n_teams)]
    rep_rows, meet_rows, opp_rows = [], [], []
    for t, team in enumerate(teams):
        ae = f"{team}-ae"
        rep_rows.append((ae, "AE", team))
        for b in range(bdrs_per_team):
            rep = f"{team}-b{b}"
            rep_rows.append((rep, "BDR", team))
            base = weekly_meetings * rng.lognormal(0.0, 0.25)
            p_rep = float(np.clip(won_rate * rng.lognormal(0.0, 0.2), 0.01, 0.9))
            for w in range(weeks):
                after = w >= 13
                treated = after and team == treated_team
                lam = base * (1 + trend * after) * (1 + volume_effect * treated)
                p = p_rep * (1 + conversion_effect * treated)
                for _ in range(rng.poisson(lam)):
                    booked = start + timedelta(weeks=w, seconds=float(rng.uniform(0, 7 * 86_400)))
                    mid = f"m{len(meet_rows)}"
                    won = rng.random() < p
                    has_opp = won or rng.random() < 0.4
                    oid = f"o{len(opp_rows)}" if has_opp else None
                    meet_rows.append((mid, rep, ae, booked, "held", oid))
                    if has_opp:
                        closed = booked + timedelta(days=float(rng.uniform(5, 55)))
                        done = closed < as_of
                        opp_rows.append(
                            (
                                oid,
                                ae,
                                rep,
                                booked + timedelta(days=1),
                                ("Closed Won" if won else "Closed Lost") if done else "Proposal",
                                done,
                                done and won,
                                closed.date() if done else None,
                                10_000.0,
                            )
                        )
        _ = t
    reps = pl.DataFrame(rep_rows, schema=["rep_id", "role", "team"], orient="row").with_columns(
        timezone=pl.lit("UTC")
    )
    meetings = pl.DataFrame(
        meet_rows,
        schema={
            "meeting_id": pl.String,
            "booked_by": pl.String,
            "owner_id": pl.String,
            "booked_at": pl.Datetime("us", "UTC"),
            "status": pl.String,
            "opportunity_id": pl.String,
        },
        orient="row",
    )
    opportunities = pl.DataFrame(
        opp_rows,
        schema={
            "opportunity_id": pl.String,
            "owner_id": pl.String,
            "sourced_by": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "stage": pl.String,
            "is_closed": pl.Boolean,
            "is_won": pl.Boolean,
            "closed_at": pl.Date,
            "amount": pl.Float64,
        },
        orient="row",
    )
    change_rows = [("rollout", "AI assistant", change_at, treated_team)]
    if placebo_team is not None:
        change_rows.append(("placebo", "placebo", change_at, placebo_team))
    changes = pl.DataFrame(
        change_rows,
        schema={
            "change_id": pl.String,
            "name": pl.String,
            "started_at": pl.Datetime("us", "UTC"),
            "team": pl.String,
        },
        orient="row",
    ).with_columns(rep_id=pl.lit(None, pl.String))
    return {"reps": reps, "meetings": meetings, "opportunities": opportunities, "changes": changes}
