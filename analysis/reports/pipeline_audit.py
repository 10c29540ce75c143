"""The "Where deals stall" report section: time in stage, conversion, the manager's exceptions.

Reads the process-audit tables ``run_metrics`` wrote (``stage_durations``,
``stage_survival``, ``stage_conversion``, ``stalled_deals``, ``pipeline_exceptions``) for
one team; never recomputes them. Visible exceptions, not averages: the list names every
stalled, repeatedly pushed or past-due deal by its AE.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from analysis.reports import tables
from analysis.reports.data import MetricsBundle

__all__ = [
    "PROCESS_TABLES",
    "conversion_table",
    "exceptions_table",
    "stage_survival_plot",
    "where_deals_stall_section",
]

PROCESS_TABLES = (
    "stage_durations",
    "stage_survival",
    "stage_conversion",
    "stalled_deals",
    "pipeline_exceptions",
)
Items = list[Any]


def _team(df: pl.DataFrame | None, team: str | None) -> pl.DataFrame | None:
    if df is None or team is None or "team" not in df.columns:
        return df
    return df.filter(pl.col("team") == team)


def stage_survival_plot(survival: pl.DataFrame | None, *, team: str | None) -> Figure:
    """Kaplan–Meier curves of time in stage: one panel per stage, the team against all teams."""
    from analysis.reports.plots import PALETTE, _empty, _figure, _title

    if survival is None or survival.height == 0:
        return _empty("Time in stage", "no stage history")
    stages = (
        survival.select("stage", "stage_rank").unique().sort("stage_rank")["stage"].to_list()
    )
    n = len(stages)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    with _figure(3.0 * cols + 0.5, 2.6 * rows + 0.8) as (fig, ax0):
        fig.delaxes(ax0)
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
        for i, stage in enumerate(stages):
            ax = axes[i // cols][i % cols]
            for who, color, style in (("all", PALETTE["muted"], "--"), (team, PALETTE["flag"], "-")):
                curve = survival.filter(pl.col("stage") == stage, pl.col("team") == who)
                if curve.height:
                    label = "all teams" if who == "all" else str(who)
                    ax.step(
                        curve["days"].to_numpy(),
                        curve["survival"].to_numpy(),
                        where="post",
                        color=color,
                        linestyle=style,
                        label=label,
                    )
            ax.axhline(0.5, color=PALETTE["line"], linewidth=0.6, alpha=0.5)
            ax.axhline(0.2, color=PALETTE["line"], linewidth=0.6, alpha=0.3, linestyle=":")
            ax.set_title(str(stage), loc="left", fontsize=10)
            ax.set_xlabel("days in stage")
            ax.set_ylim(0, 1.02)
            if i % cols == 0:
                ax.set_ylabel("share still in stage")
        for j in range(n, rows * cols):
            axes[j // cols][j % cols].set_axis_off()
        axes[0][0].legend(loc="upper right", fontsize=8, frameon=False)
        _title(
            axes[0][0],
            f"Time in stage — {team}" if team else "Time in stage",
            "Kaplan–Meier; deals still in a stage are censored at as-of (median at the solid line, "
            "80th percentile at the dotted one)",
        )
    return fig


def conversion_table(
    conversion: pl.DataFrame | None, durations: pl.DataFrame | None = None
) -> Styler:
    """Per stage: time in stage (KM median with interval, p80) and how entries ended."""
    conv = tables._pandas(conversion)
    if conv.empty:
        return tables.style(pd.DataFrame({"": ["no stage history"]}))
    conv = conv.sort_values("stage_rank")
    dur = tables._pandas(durations)
    if not dur.empty:
        conv = conv.merge(dur, on=["team", "stage"], how="left", suffixes=("", "_d"))
    out = pd.DataFrame(
        {
            "stage": conv["stage"],
            "entered": conv["entered"].map(tables.fmt_count),
            "median days in stage (95% CI)": [
                tables.fmt_interval(m, lo, hi, pct=False)
                for m, lo, hi in zip(
                    tables._col(conv, "median_days"),
                    tables._col(conv, "median_ci_low"),
                    tables._col(conv, "median_ci_high"),
                    strict=True,
                )
            ],
            "p80 days": tables._col(conv, "p80_days").map(tables.fmt_num),
            "advanced": conv["advanced"].map(tables.fmt_count),
            "lost": conv["lost"].map(tables.fmt_count),
            "moved back": conv["moved_back"].map(tables.fmt_count),
            "still open": conv["open"].map(tables.fmt_count),
            "share advanced (95% CI)": [
                tables.fmt_interval(s, lo, hi)
                for s, lo, hi in zip(
                    conv["share_advanced"], conv["ci_low"], conv["ci_high"], strict=True
                )
            ],
        }
    )
    return tables.style(
        out,
        "Stage by stage: time in stage (Kaplan–Meier, censored at as-of; — where the curve "
        "never gets there) and how the entries ended. Share advanced is among the decided entries.",
    )


def exceptions_table(stalled: pl.DataFrame | None) -> Styler:
    """The manager's list: every open deal that is stalled, pushed twice or more, or past due."""
    d = tables._pandas(stalled)
    if d.empty:
        return tables.style(pd.DataFrame({"": ["no open deals"]}))
    pushes = d["close_date_pushes"].astype("Float64")
    flagged = (
        d["stalled"].astype("boolean").fillna(False)
        | (pushes >= 2).fillna(False)
        | d["past_due"].astype("boolean").fillna(False)
    )
    d = d[flagged.astype(bool)].copy()
    if d.empty:
        return tables.style(pd.DataFrame({"": ["no stalled, repeatedly pushed or past-due deals"]}))
    d["_ae"] = tables._names(d, "owner_id").astype(str)
    d = d.sort_values(["_ae", "days_in_stage"], ascending=[True, False])

    def why(row: pd.Series) -> str:
        reasons = []
        if row["stalled"] is True:
            reasons.append("stalled")
        if not tables._missing(row["close_date_pushes"]) and row["close_date_pushes"] >= 2:
            reasons.append(f"pushed {int(row['close_date_pushes'])}×")
        if row["past_due"] is True:
            reasons.append("past due")
        return ", ".join(reasons)

    out = pd.DataFrame(
        {
            "AE": d["_ae"],
            "deal": d["opportunity_id"].astype(str),
            "stage": d["stage"].astype(str),
            "days in stage": d["days_in_stage"].map(lambda x: tables.fmt_num(x, 0)),
            "team p80 for the stage": d["stage_p80_days"].map(lambda x: tables.fmt_num(x, 0)),
            "close-date pushes": d["close_date_pushes"].map(tables.fmt_count),
            "expected close": d["expected_close_date"].map(
                lambda x: tables.NULL if tables._missing(x) else str(x)
            ),
            "why": d.apply(why, axis=1),
        }
    )
    return tables.style(out, "Exceptions: open deals a manager should look at, by AE")


def where_deals_stall_section(bundle: MetricsBundle, *, stall_quantile: float = 0.8) -> Items:
    """Where deals stall: KM curves of time in stage, the conversion table, the exceptions."""
    present = {name: bundle.get(name) for name in PROCESS_TABLES}
    if present["stage_durations"] is None:
        note = bundle.unavailable_note("stage_durations") or "not available"
        return [f"> **Where deals stall**: {note}."]
    team = bundle.team
    durations = _team(present["stage_durations"], team)
    if durations is None or durations.height == 0:
        return [f"> No stage history for **{team}**."]
    q = bundle.thresholds.get("stall_quantile", stall_quantile)
    out: Items = []
    # headline figures come from team_summary (one definition per number)
    summary = _team(bundle.get("team_summary"), team)
    figures = summary.row(0, named=True) if summary is not None and summary.height else {}
    slowest = durations.filter(pl.col("stage") == figures.get("slowest_stage"))
    everyone = present["stage_durations"].filter(pl.col("team") == "all")
    if slowest.height:
        top = slowest.row(0, named=True)
        ref = everyone.filter(pl.col("stage") == top["stage"])
        ref_median = ref["median_days"][0] if ref.height else None
        naive = top.get("mean_exited_days")
        out.append(
            f"Deals in **{team}** sit longest in **{top['stage']}**: a median of "
            f"**{tables.fmt_interval(top['median_days'], top['median_ci_low'], top['median_ci_high'], pct=False)} days** "
            f"(all teams: {tables.fmt_num(ref_median)} days); one in five stays longer than "
            f"{tables.fmt_num(top['p80_days'], 0)} days. {tables.fmt_count(top['censored'])} of "
            f"{tables.fmt_count(top['entered'])} deals are still in it, so a plain average over the "
            f"deals that already left ({tables.fmt_num(naive)} days) would mislead."
        )
    out.append(stage_survival_plot(present["stage_survival"], team=team))
    conv = _team(present["stage_conversion"], team)
    if conv is not None:
        out.append(conversion_table(conv, durations))
    hygiene = bundle.get("stage_hygiene")
    hyg = None if hygiene is None else hygiene.filter(pl.col("rep_id").is_null())
    hyg = _team(hyg, team)
    if hyg is not None and hyg.height:
        h = hyg.row(0, named=True)
        out.append(
            f"Stage history hygiene: of {tables.fmt_count(h['deals'])} deals with a history, "
            f"{tables.fmt_count(h['skipped_stage'])} skipped a stage and "
            f"{tables.fmt_count(h['went_backwards'])} went back to an earlier one; "
            f"{tables.fmt_count(h['closed_not_in_history'])} of "
            f"{tables.fmt_count(h['closed_deals'])} closed deals never reach a closed stage in "
            "their history."
        )
    stalled = _team(present["stalled_deals"], team)
    if stalled is not None and stalled.height:
        pushed_text = (
            "close dates are not in the data"
            if figures.get("past_due_deals") is None
            else f"**{tables.fmt_count(figures.get('pushed_twice_or_more'))}** pushed twice or "
            f"more, **{tables.fmt_count(figures.get('past_due_deals'))}** past their expected "
            "close date"
        )
        unknown = int(stalled["stalled"].null_count())
        out.append(
            f"Of **{tables.fmt_count(figures.get('open_deals'))}** open deals, "
            f"**{tables.fmt_count(figures.get('stalled_deals'))}** are stalled (in their stage "
            f"longer than {tables.fmt_pct(q)} of the team's deals took"
            + (f"; {unknown} in stages with too few exits to judge" if unknown else "")
            + f"), {pushed_text}."
        )
        out.append(exceptions_table(stalled))
    return out
