"""Seaborn figure builders for the team reports.

Every builder takes DataFrames (polars or pandas) and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas. Nothing touches pyplot's
global state, so the builders are headless, thread-safe and never auto-display twice
in a notebook; show them with :func:`analysis.reports.display.show`.
An empty or missing frame gives a figure that says so instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = [
    "bdr_funnel",
    "decision_mix",
    "fatigue_curve",
    "handoff_latency",
    "hygiene_components",
    "load_distribution",
    "skill_gap_forest",
    "wilson_interval",
]

Frame = pl.DataFrame | pd.DataFrame | None

PALETTE = {
    "pattern_recognition": "#4C72B0",
    "judgment": "#DD8452",
    "unclassified": "#B0B0B0",
    "flag": "#C44E52",
    "ok": "#4C72B0",
    "muted": "#9A9A9A",
    "line": "#333333",
}
CLASS_LABELS = {
    "pattern_recognition": "pattern recognition (automatable)",
    "judgment": "judgment",
    "unclassified": "unclassified",
}
HYGIENE_COMPONENTS = {
    "stage_consistent": "stage history consistent",
    "lost_with_reason": "lost deals with a reason",
    "calls_with_notes": "calls with notes",
    "spine_complete": "SPINE fields complete",
    "activities_linked": "activities linked to lead/opp",
}


def _pandas(df: Frame) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame()
    if isinstance(df, pl.DataFrame):
        return df.to_pandas()
    return df


def _pick(data: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that is a column of ``data`` (pipeline names first)."""
    return next((n for n in names if n in data), None)


@contextmanager
def _figure(width: float = 8.0, height: float = 4.5) -> Iterator[tuple[Figure, Axes]]:
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.95):
        fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        yield fig, ax


def _empty(title: str, message: str) -> Figure:
    with _figure(8.0, 2.2) as (fig, ax):
        ax.set_axis_off()
        _title(ax, title)
        ax.text(0.5, 0.45, message, ha="center", va="center", fontsize=12, color="#555555")
    return fig


def _title(ax: Axes, title: str, subtitle: str | None = None) -> None:
    fig = ax.get_figure()
    if fig is not None:
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=13)
    if subtitle:
        ax.set_title(subtitle, loc="left", fontsize=9, color="#555555")


def wilson_interval(k: Any, n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes of ``n`` (NaN where ``n`` is 0), via statsmodels.

    Examples
    --------
    >>> lo, hi = wilson_interval([5], [10])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.237, 0.763)
    """
    from analysis.metrics.stats import wilson_interval as shared

    ci = shared(np.asarray(k, dtype=float), np.asarray(n, dtype=float), alpha=alpha)
    return ci["ci_low"].to_numpy().astype(float), ci["ci_high"].to_numpy().astype(float)


def _rep_names(data: pd.DataFrame, column: str = "rep_id") -> pd.Series:
    """Display names for plot labels: ``rep_name`` (from ``load_metrics``), else the id."""
    name = {"rep_id": "rep_name", "bdr_id": "bdr_name"}.get(column, "")
    ids = data[column].astype(object)
    if name in data:
        return data[name].astype(object).where(data[name].notna(), ids)
    return ids


def _bin_edges(values: np.ndarray, *, bins: int = 40) -> np.ndarray:
    """Histogram bin edges of whole-number width that always hold every value.

    One value, or all values equal, get a single bin one unit wide around them (the
    automatic bins of a zero-width range are what crashed uniform teams).

    Examples
    --------
    >>> _bin_edges(np.array([30.0, 30.0])).tolist()
    [29.5, 30.5]
    >>> edges = _bin_edges(np.array([0.0, 100.0]))
    >>> bool(edges[0] <= 0 and edges[-1] >= 100)
    True
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    width = max(1, math.ceil((hi - lo) / bins))
    start = math.floor(lo)
    count = math.ceil((hi - start) / width) + 1
    return start + width * np.arange(count + 1, dtype=float)


def load_distribution(
    decision_load: Frame,
    *,
    threshold: float,
    team: str | None = None,
    median: float | None = None,
    share_over: float | None = None,
) -> Figure:
    """Histogram of decisions per rep per local day, with the fatigue threshold line.

    ``median`` and ``share_over`` (the team's ``team_summary`` figures) label the plot;
    without them the plotted rows' own median and share over the threshold are used.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a", "a", "b"], "decisions": [30, 50, 41]})
    >>> load_distribution(df, threshold=45).axes[0].get_xlabel()
    'decisions per rep per local day'
    """
    title = "Daily decision load" + (f": {team}" if team else "")
    data = _pandas(decision_load)
    values = (
        pd.to_numeric(data["decisions"], errors="coerce").dropna().astype(float)
        if "decisions" in data
        else pd.Series(dtype=float)
    )
    if values.empty:
        return _empty(title, "No rep-days with decisions in this period.")
    data = data.loc[values.index]
    over = float((values > threshold).mean()) if share_over is None else share_over
    with _figure() as (fig, ax):
        sns.histplot(
            x=values.to_numpy(),
            ax=ax,
            color=PALETTE["ok"],
            bins=_bin_edges(values.to_numpy()),
        )
        ax.axvline(threshold, color=PALETTE["flag"], ls="--", lw=2)
        ax.text(
            threshold,
            ax.get_ylim()[1] * 0.95,
            f"  threshold {threshold:g} (heuristic)",
            color=PALETTE["flag"],
            va="top",
            fontsize=9,
        )
        median = float(values.median() if median is None else median)
        ax.axvline(median, color=PALETTE["line"], ls=":", lw=1.5)
        ax.text(
            median,
            ax.get_ylim()[1] * 0.85,
            f"median {median:g} ",
            ha="right",
            va="top",
            fontsize=9,
            color=PALETTE["line"],
        )
        ax.set_xlabel("decisions per rep per local day")
        ax.set_ylabel("rep-days")
        _title(ax, title, f"{len(data)} rep-days; {over:.0%} above the threshold")
    return fig


def decision_mix(decision_load: Frame, *, team: str | None = None) -> Figure:
    """Stacked bars per rep: share of judgment, pattern-recognition and unclassified decisions.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a", "b"], "pattern_recognition": [6, 2],
    ...                    "judgment": [3, 7], "unclassified": [1, 1]})
    >>> decision_mix(df).axes[0].get_xlabel()
    'share of the rep’s decisions'
    """
    title = "Judgment vs pattern-recognition decisions per rep" + (f": {team}" if team else "")
    data = _pandas(decision_load)
    classes = [c for c in CLASS_LABELS if c in data]
    if data.empty or not classes:
        return _empty(title, "No classified decisions in this period.")
    data = data.assign(rep_id=_rep_names(data))
    per_rep = data.groupby("rep_id")[classes].sum()
    total = per_rep.sum(axis=1).replace(0, np.nan)
    shares = per_rep.div(total, axis=0).fillna(0.0)
    order = shares.sort_values("judgment" if "judgment" in shares else classes[0]).index.tolist()
    long = (
        shares.reset_index()
        .melt(id_vars="rep_id", var_name="class", value_name="share")
        .assign(label=lambda d: d["class"].map(CLASS_LABELS))
    )
    long["rep_id"] = pd.Categorical(long["rep_id"], categories=order, ordered=True)
    height = max(3.0, 0.32 * len(order) + 1.6)
    with _figure(8.0, height) as (fig, ax):
        sns.histplot(
            data=long,
            y="rep_id",
            hue="label",
            weights="share",
            multiple="stack",
            discrete=True,
            shrink=0.8,
            ax=ax,
            hue_order=[CLASS_LABELS[c] for c in classes],
            palette=[PALETTE[c] for c in classes],
            edgecolor="white",
            linewidth=0.5,
        )
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("share of the rep’s decisions")
        ax.set_ylabel("rep")
        legend = ax.get_legend()
        if legend is not None:
            legend.set_title("decision class")
            sns.move_legend(
                ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, title=None
            )
        _title(ax, title)
    return fig


def fatigue_shape(estimate: Mapping[str, Any] | None) -> str | None:
    """The fatigue row's ``shape``; older tables without it: ``threshold`` if estimated.

    Examples
    --------
    >>> fatigue_shape({"shape": "gradual"}), fatigue_shape({"threshold_estimate": 44})
    ('gradual', 'threshold')
    """
    est = dict(estimate or {})
    shape = est.get("shape")
    if isinstance(shape, str):
        return shape
    value = est.get("threshold_estimate")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return "threshold"


def fatigue_curve(
    curve: Frame,
    estimate: Mapping[str, Any] | None = None,
    *,
    threshold: float | None = None,
    team: str | None = None,
) -> Figure:
    """Decision quality by position in the rep's day: the within rep-day curve the verdict
    rests on, the raw curve faint beside it, and the threshold only when there is one.

    ``curve`` has one row per bin of positions: ``seq_from`` (or ``seq_bin``), ``n``,
    ``positives``, ``quality_rate`` (or ``quality``), when present ``ci_low`` /
    ``ci_high`` (else a 95% Wilson band is computed) and ``adjusted_quality`` (the
    within rep-day, same-hour curve, drawn as the main line). ``estimate`` is the team's
    ``fatigue`` row: for ``shape`` ``threshold`` its estimate and interval are drawn as a
    line and a band; otherwise the shape (or the ``reason``) is the subtitle.
    ``threshold`` is the configured heuristic, drawn dotted: the claim that was tested.

    Examples
    --------
    >>> c = pl.DataFrame({"seq_from": [1, 6, 11], "n": [90, 80, 70], "positives": [40, 30, 20],
    ...                   "quality_rate": [0.44, 0.375, 0.29]})
    >>> fatigue_curve(c, {"threshold_estimate": 8.0, "threshold_ci_low": 5.0,
    ...                   "threshold_ci_high": 11.0, "p_value": 0.01}).axes[0].get_ylabel()
    'decision quality (share positive)'
    """
    title = "Decision quality by position in the day" + (f": {team}" if team else "")
    data = _pandas(curve)
    xcol = _pick(data, "seq_from", "seq_bin")
    ycol = _pick(data, "quality_rate", "quality")
    if data.empty or xcol is None or ycol is None:
        return _empty(title, "No decisions with a quality outcome in this period.")
    data = data.copy()
    numeric = pd.api.types.is_numeric_dtype(data[xcol])
    if not numeric:
        data["x"] = np.arange(len(data))
    else:
        data = data.sort_values(xcol)
        data["x"] = data[xcol].astype(float)
    if "ci_low" in data and "ci_high" in data:
        lo, hi = data["ci_low"].to_numpy(float), data["ci_high"].to_numpy(float)
    else:
        lo, hi = wilson_interval(data["positives"], data["n"])
    est = dict(estimate or {})
    shape = fatigue_shape(est)
    adjusted = "adjusted_quality" in data and data["adjusted_quality"].notna().any()
    with _figure() as (fig, ax):
        raw_alpha = 0.35 if adjusted else 1.0
        ax.fill_between(
            data["x"],
            lo,
            hi,
            color=PALETTE["muted" if adjusted else "ok"],
            alpha=0.12 if adjusted else 0.18,
            lw=0,
            label="95% interval per bin (raw)" if adjusted else "95% interval per bin",
        )
        sns.lineplot(
            data=data,
            x="x",
            y=ycol,
            marker="o",
            ax=ax,
            color=PALETTE["muted" if adjusted else "ok"],
            alpha=raw_alpha,
            lw=1 if adjusted else 1.5,
            markersize=3 if adjusted else 6,
            label="raw share positive (not adjusted)" if adjusted else "share of positive outcomes",
        )
        if adjusted:
            sns.lineplot(
                data=data.dropna(subset=["adjusted_quality"]),
                x="x",
                y="adjusted_quality",
                marker="o",
                ax=ax,
                color=PALETTE["ok"],
                lw=2,
                label="within rep-day, same clock hour (the verdict's curve)",
            )
        if threshold is not None and numeric:
            ax.axvline(
                threshold,
                color=PALETTE["muted"],
                ls=":",
                lw=1.5,
                label=f"claimed heuristic {threshold:g} (tested)",
            )
        value = est.get("threshold_estimate")
        if shape == "threshold" and value is not None and numeric:
            low, high = est.get("threshold_ci_low"), est.get("threshold_ci_high")
            if low is not None and high is not None:
                ax.axvspan(
                    low,
                    high,
                    color=PALETTE["flag"],
                    alpha=0.12,
                    label=f"threshold interval {low:g}–{high:g}",
                )
            p = est.get("p_value")
            ptxt = "" if p is None else f", p = {p:.3g}"
            ax.axvline(
                value, color=PALETTE["flag"], lw=2, label=f"estimated threshold {value:g}{ptxt}"
            )
            subtitle = None
            drop = est.get("relative_drop")
            if drop is not None:
                word = "drops" if drop >= 0 else "rises"
                subtitle = f"quality {word} by {abs(drop):.0%} after the estimated threshold"
        elif shape == "gradual":
            subtitle = (
                "quality falls gradually" + _per_10(est.get("slope_per_10")) + "; no threshold"
            )
        elif shape == "none" and not est.get("reason"):
            subtitle = "no fatigue found: quality does not fall with the decisions of the day"
        else:
            reason = est.get("reason") or "not estimable"
            subtitle = f"threshold not estimated: {reason}"
        if not numeric:
            ax.set_xticks(data["x"], data[xcol].astype(str), rotation=45, ha="right")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, min(1.0, max(0.05, float(np.nanmax(hi)) * 1.15)))
        ax.set_xlabel("position of the decision in the rep’s local day (bin start)")
        ax.set_ylabel("decision quality (share positive)")
        ax.legend(loc="lower left", fontsize=8, frameon=True)
        _title(ax, title, subtitle)
    return fig


def _per_10(slope: Any) -> str:
    """``, about 2 points per 10 decisions`` (share points); empty when unknown."""
    if slope is None or (isinstance(slope, float) and math.isnan(slope)):
        return ""
    return f", about {abs(slope) * 100:.1f} points per 10 decisions"


def bdr_funnel(bdr_funnel: Frame, *, team: str | None = None) -> Figure:
    """Won deals per booked meeting per BDR with Wilson intervals, team median and flags.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a", "b"], "meetings_booked": [20, 40], "won": [5, 2],
    ...     "won_per_meeting": [0.25, 0.05], "ci_low": [0.1, 0.01], "ci_high": [0.47, 0.17],
    ...     "team_median_won_per_meeting": [0.15, 0.15], "flag": [False, True]})
    >>> bdr_funnel(df).axes[0].get_xlabel()
    'won deals per booked meeting'
    """
    title = "BDR funnel: wins per booked meeting" + (f": {team}" if team else "")
    data = _pandas(bdr_funnel)
    if data.empty or "won_per_meeting" not in data:
        return _empty(title, "No BDR booked a meeting in this period.")
    data = data.sort_values(["won_per_meeting", "rep_id"], na_position="first").reset_index(
        drop=True
    )
    flags = data.get("flag", pd.Series(False, index=data.index)).fillna(False).astype(bool)
    data["status"] = np.where(flags, "flagged", "not flagged")
    data["label"] = [
        f"{r} (n={int(n)})" for r, n in zip(_rep_names(data), data["meetings_booked"], strict=True)
    ]
    height = max(3.0, 0.38 * len(data) + 1.6)
    with _figure(8.0, height) as (fig, ax):
        y = np.arange(len(data))
        for status, colour in (("not flagged", PALETTE["ok"]), ("flagged", PALETTE["flag"])):
            sel = data["status"] == status
            if not sel.any():
                continue
            ax.hlines(
                y[sel],
                data.loc[sel, "ci_low"],
                data.loc[sel, "ci_high"],
                color=colour,
                lw=2.5,
                alpha=0.6,
            )
        sns.scatterplot(
            data=data.assign(y=y),
            x="won_per_meeting",
            y="y",
            hue="status",
            hue_order=["not flagged", "flagged"],
            palette=[PALETTE["ok"], PALETTE["flag"]],
            s=80,
            ax=ax,
            zorder=3,
        )
        median = data["team_median_won_per_meeting"].dropna()
        if len(median):
            m = float(median.iloc[0])
            ax.axvline(m, color=PALETTE["line"], ls="--", lw=1.5, label=f"team median {m:.0%}")
        ax.set_yticks(y, data["label"])
        for tick, flagged in zip(ax.get_yticklabels(), flags, strict=True):
            if flagged:
                tick.set_color(PALETTE["flag"])
                tick.set_fontweight("bold")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlim(left=0)
        ax.set_xlabel("won deals per booked meeting")
        ax.set_ylabel("BDR (meetings booked)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
        _title(ax, title, "dot = estimate, bar = 95% Wilson interval; red = flagged")
    return fig


def handoff_latency(
    handoffs: Frame, *, team: str | None = None, share_within_24h: float | None = None
) -> Figure:
    """ECDF of hours from booking to the AE's first touch, with the 24 h line.

    ``share_within_24h`` (the team's figure from ``team_summary``) is the level line
    drawn and labelled; without it the line is the plotted meetings' own share.

    Censored meetings (no touch yet, under 24 h before the period end) are left out
    of the curve and counted in the subtitle; untouched meetings past 24 h stay
    below the curve's top (the ECDF is of all uncensored meetings).

    Examples
    --------
    >>> df = pl.DataFrame({"latency_hours": [2.0, 30.0, None], "within_24h": [True, False, None]})
    >>> handoff_latency(df).axes[0].get_xlabel()
    'hours from booking to the AE’s first touch'
    """
    title = "BDR → AE handoff latency" + (f": {team}" if team else "")
    data = _pandas(handoffs)
    if data.empty or "latency_hours" not in data:
        return _empty(title, "No meetings booked in this period.")
    censored = int(data["within_24h"].isna().sum()) if "within_24h" in data else 0
    known = data[data["within_24h"].notna()] if "within_24h" in data else data
    touched = known["latency_hours"].dropna()
    if known.empty:
        return _empty(title, "Every meeting is still censored (booked under 24 h before the end).")
    within = (
        float(share_within_24h)
        if share_within_24h is not None
        else float(known["within_24h"].astype(bool).mean())
        if "within_24h" in known
        else math.nan
    )
    with _figure() as (fig, ax):
        if len(touched):
            # ECDF over all uncensored meetings: untouched ones never reach the curve.
            sns.ecdfplot(
                x=touched.to_numpy(),
                ax=ax,
                color=PALETTE["ok"],
                lw=2,
                weights=np.full(len(touched), 1.0 / len(known)),
                stat="count",
                label="meetings touched by the AE",
            )
        ax.axvline(24, color=PALETTE["flag"], ls="--", lw=2, label="24 h")
        ax.axhline(
            within, color=PALETTE["muted"], ls=":", lw=1, label=f"{within:.0%} touched within 24 h"
        )
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel("hours from booking to the AE’s first touch")
        ax.set_ylabel("share of meetings touched")
        ax.legend(loc="lower right", fontsize=8)
        untouched = len(known) - len(touched)
        _title(
            ax,
            title,
            f"{len(known)} meetings; {untouched} never touched; {censored} censored (left out)",
        )
    return fig


def _verdict_label(row: Mapping[str, Any]) -> str:
    """`` — 62% of top (41–98%), gap`` from a skill-gap row; empty without a verdict."""
    from analysis.metrics.skill_gaps import VERDICT_WORDS

    verdict = row.get("gap_verdict")
    if not isinstance(verdict, str):
        return ""
    if verdict == "top":
        return " — top performer"
    ratio, low, high = (row.get(c) for c in ("ratio_to_top", "ratio_ci_low", "ratio_ci_high"))
    words = VERDICT_WORDS.get(verdict, verdict)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (ratio, low, high)):
        return f" — {words}"
    return f" — {ratio:.0%} of top ({low:.0%}–{high:.0%}), {words}"


def skill_gap_forest(skill_gaps: Frame, *, team: str | None = None) -> Figure:
    """Forest plot of shrunk win rates with intervals and the top-performer line.

    Reps with ``evidence == "too_few"`` are drawn hollow and grey and labelled
    "too few"; the raw win rate is a small cross (absent when null, never 0).

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a", "b"], "role": ["AE", "AE"], "closed": [20, 2],
    ...     "win_rate": [0.5, None], "shrunk_win_rate": [0.45, 0.33], "ci_low": [0.3, 0.1],
    ...     "ci_high": [0.6, 0.6], "top_performer_rate": [0.45, 0.45],
    ...     "evidence": ["sufficient", "too_few"]})
    >>> forest = skill_gap_forest(df)
    >>> forest.axes[0].get_xlabel()
    'win rate (shrunk toward the team, 95% interval)'
    """
    title = "Skill gaps: shrunk win rate per rep" + (f": {team}" if team else "")
    data = _pandas(skill_gaps)
    if data.empty or "shrunk_win_rate" not in data:
        return _empty(title, "No rep closed a deal in this period.")
    data = data.copy()
    data["too_few"] = data.get("evidence", pd.Series("sufficient", index=data.index)) == "too_few"
    data = data.sort_values(
        ["too_few", "shrunk_win_rate", "rep_id"], ascending=[False, True, True]
    ).reset_index(drop=True)
    role = data["role"].astype(str) if "role" in data else pd.Series("", index=data.index)
    data["label"] = [
        f"{r} {ro} (n={int(c)})" + (" — too few" if tf else _verdict_label(row))
        for r, ro, c, tf, row in zip(
            _rep_names(data),
            role,
            data["closed"],
            data["too_few"],
            data.to_dict("records"),
            strict=True,
        )
    ]
    height = max(3.0, 0.38 * len(data) + 1.8)
    with _figure(8.5, height) as (fig, ax):
        y = np.arange(len(data))
        suff, few = ~data["too_few"], data["too_few"]
        ax.hlines(
            y[suff],
            data.loc[suff, "ci_low"],
            data.loc[suff, "ci_high"],
            color=PALETTE["ok"],
            lw=2.5,
            alpha=0.7,
        )
        ax.hlines(
            y[few],
            data.loc[few, "ci_low"],
            data.loc[few, "ci_high"],
            color=PALETTE["muted"],
            lw=2,
            alpha=0.6,
            linestyles="dotted",
        )
        if suff.any():
            sns.scatterplot(
                x=data.loc[suff, "shrunk_win_rate"],
                y=y[suff.to_numpy()],
                ax=ax,
                color=PALETTE["ok"],
                s=80,
                zorder=3,
                label="shrunk win rate",
            )
        if few.any():
            sns.scatterplot(
                x=data.loc[few, "shrunk_win_rate"],
                y=y[few.to_numpy()],
                ax=ax,
                facecolor="white",
                edgecolor=PALETTE["muted"],
                linewidth=1.8,
                s=80,
                zorder=3,
                label="too few closed deals (not compared)",
            )
        if "win_rate" in data:
            raw = data["win_rate"]
            ok = raw.notna()
            ax.scatter(
                raw[ok],
                y[ok.to_numpy()],
                marker="x",
                color=PALETTE["line"],
                s=30,
                zorder=4,
                label="raw win rate",
            )
        if "top_performer_rate" in data:
            tops = data.dropna(subset=["top_performer_rate"]).groupby(role)["top_performer_rate"]
            for name, rate in tops.first().items():
                lab = f"top performer{' ' + name if name else ''} {rate:.0%}"
                ax.axvline(rate, color=PALETTE["flag"], ls="--", lw=1.8, label=lab)
        ax.set_yticks(y, data["label"])
        for tick, tf in zip(ax.get_yticklabels(), data["too_few"], strict=True):
            if tf:
                tick.set_color(PALETTE["muted"])
                tick.set_style("italic")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlim(0, 1)
        ax.set_xlabel("win rate (shrunk toward the team, 95% interval)")
        ax.set_ylabel("rep (closed deals)")
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False
        )
        _title(ax, title, "grey hollow = too few closed deals to compare; x = raw win rate")
    return fig


def hygiene_components(
    hygiene: Frame, *, threshold: float | None = None, team: str | None = None
) -> Figure:
    """Bars of the hygiene components (0-100%) for the team row (``rep_id`` null).

    Examples
    --------
    >>> df = pl.DataFrame({"team": ["A"], "rep_id": [None], "score": [62.0],
    ...                    "stage_consistent": [0.9], "lost_with_reason": [0.3]})
    >>> hygiene_components(df, threshold=70).axes[0].get_xlabel()
    'share of records meeting the check'
    """
    title = "CRM hygiene components" + (f": {team}" if team else "")
    data = _pandas(hygiene)
    if not data.empty and "rep_id" in data:
        data = data[data["rep_id"].isna()]
    comps = [c for c in HYGIENE_COMPONENTS if c in data]
    if data.empty or not comps:
        return _empty(title, "No hygiene evidence for this team in this period.")
    row = data.iloc[0]
    values = pd.DataFrame(
        {"component": [HYGIENE_COMPONENTS[c] for c in comps], "share": [row[c] for c in comps]}
    )
    missing = values["share"].isna()
    values["share_plot"] = values["share"].fillna(0.0)
    with _figure(8.0, 3.6) as (fig, ax):
        sns.barplot(
            data=values, y="component", x="share_plot", ax=ax, color=PALETTE["ok"], orient="h"
        )
        for i, (share, miss) in enumerate(zip(values["share"], missing, strict=True)):
            ax.text(
                0.01 if miss else share + 0.01,
                i,
                "no evidence" if miss else f"{share:.0%}",
                va="center",
                fontsize=9,
            )
        if threshold is not None:
            ax.axvline(
                threshold / 100,
                color=PALETTE["flag"],
                ls="--",
                lw=1.5,
                label=f"trust threshold {threshold:g} (heuristic)",
            )
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, frameon=False)
        ax.set_xlim(0, 1.08)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("share of records meeting the check")
        ax.set_ylabel("")
        score = row.get("score")
        sub = None if score is None or pd.isna(score) else f"hygiene score {score:.0f} / 100"
        _title(ax, title, sub)
    return fig
