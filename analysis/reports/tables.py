"""Formatted tables for the report notebooks.

Formatting rules, the same everywhere: shares as whole percentages, counts with
thousands separators, an estimate with its interval as ``31% (24–39%)``, ``too few``
where the evidence is below the floor, and ``—`` for null (no evidence, never 0).
Builders take polars or pandas frames and return a pandas ``Styler`` of strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import polars as pl
from pandas.io.formats.style import Styler

from analysis.metrics.skill_gaps import VERDICT_WORDS

__all__ = [
    "NULL",
    "bdr_funnel_table",
    "definitions_table",
    "fatigue_table",
    "fmt_count",
    "fmt_interval",
    "fmt_num",
    "fmt_pct",
    "handoff_table",
    "hygiene_table",
    "quarantine_table",
    "rep_load_table",
    "skill_gap_table",
    "style",
    "taxonomy_table",
    "unmatched_shapes_table",
]

NULL = "—"
TOO_FEW = "too few"
_CSS = [
    {
        "selector": "",
        "props": "border-collapse: collapse; font-size: 0.9em; margin: 0.4em 0 1em 0;",
    },
    {
        "selector": "th",
        "props": "text-align: left; padding: 4px 10px; border-bottom: 2px solid #444;"
        "background: #f3f3f3;",
    },
    {
        "selector": "td",
        "props": "text-align: right; padding: 3px 10px; border-bottom: 1px solid #ddd;",
    },
    {"selector": "td:first-child", "props": "text-align: left;"},
    {
        "selector": "caption",
        "props": "caption-side: top; text-align: left; font-weight: bold;padding: 4px 0;",
    },
]


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_pct(x: Any, digits: int = 0) -> str:
    """A share (0-1) as a percentage; null as ``—``.

    Examples
    --------
    >>> fmt_pct(0.314), fmt_pct(None), fmt_pct(0.0), fmt_pct(0.0512, 1)
    ('31%', '—', '0%', '5.1%')
    """
    return NULL if _missing(x) else f"{_pct_number(x, digits)}%"


def _pct_number(x: Any, digits: int) -> str:
    value = float(x) * 100
    if abs(value) < 0.5 * 10**-digits:  # no "-0%" from floating-point dust
        value = 0.0
    return f"{value:.{digits}f}"


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; null as ``—``.

    Examples
    --------
    >>> fmt_num(3.14159), fmt_num(float("nan")), fmt_num(1234.5, 0)
    ('3.1', '—', '1,234')
    """
    return NULL if _missing(x) else f"{float(x):,.{digits}f}"


def fmt_count(x: Any) -> str:
    """An integer count with thousands separators; null as ``—``.

    Examples
    --------
    >>> fmt_count(12345), fmt_count(None), fmt_count(0)
    ('12,345', '—', '0')
    """
    return NULL if _missing(x) else f"{int(x):,}"


def fmt_interval(est: Any, low: Any, high: Any, *, pct: bool = True, digits: int = 0) -> str:
    """``31% (24–39%)``; the estimate alone when the interval is missing; null as ``—``.

    Examples
    --------
    >>> fmt_interval(0.31, 0.24, 0.39)
    '31% (24–39%)'
    >>> fmt_interval(44.0, 38.0, 51.0, pct=False)
    '44 (38–51)'
    >>> fmt_interval(None, 0.1, 0.2), fmt_interval(0.5, None, None)
    ('—', '50%')
    """
    if _missing(est):
        return NULL
    if pct:
        e = fmt_pct(est, digits)
        if _missing(low) or _missing(high):
            return e
        return f"{e} ({_pct_number(low, digits)}–{_pct_number(high, digits)}%)"
    e = fmt_num(est, digits)
    if _missing(low) or _missing(high):
        return e
    return f"{e} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"


def _pandas(df: pl.DataFrame | pd.DataFrame | None) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame()
    return df.to_pandas() if isinstance(df, pl.DataFrame) else df


def style(frame: pd.DataFrame, caption: str | None = None) -> Styler:
    """Wrap a frame of display strings in a compact Styler (no index).

    Examples
    --------
    >>> "<table" in style(pd.DataFrame({"a": ["1"]}), "cap").to_html()
    True
    """
    styler = frame.style.hide(axis="index").set_table_styles(_CSS)
    if caption:
        styler = styler.set_caption(caption)
    return styler


def _col(df: pd.DataFrame, *names: str) -> pd.Series:
    """The first existing column of ``names`` (pipeline name first), else all null."""
    for name in names:
        if name in df:
            return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


#: id column -> its display-name column (added by ``load_metrics``)
_NAME_OF = {"rep_id": "rep_name", "bdr_id": "bdr_name", "ae_id": "ae_name", "owner_id": "owner_name"}


def _names(d: pd.DataFrame, column: str = "rep_id") -> pd.Series:
    """Reps' display names (``rep_name`` next to ``rep_id``), the id where there is none."""
    ids = d[column].astype(object)
    name_col = _NAME_OF.get(column)
    if name_col and name_col in d:
        return d[name_col].astype(object).where(d[name_col].notna(), ids)
    return ids


def _rep_labels(d: pd.DataFrame, column: str = "rep_id") -> pd.Series:
    """Rep names, with ``⚠`` where the rep's own data is not trusted (``rep_data_trusted``)."""
    labels = _names(d, column).astype(str)
    if "rep_data_trusted" in d:
        untrusted = d["rep_data_trusted"].eq(False).fillna(False).astype(bool)
        labels = labels.where(~untrusted, labels + " ⚠")
    return labels


def skill_gap_table(skill_gaps: pl.DataFrame | pd.DataFrame | None) -> Styler:
    """Per rep: n closed, won, raw vs shrunk (interval) vs mix-adjusted, gap to the top.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a", "b"], "role": ["AE", "AE"], "closed": [20, 0],
    ...     "won": [10, 0], "win_rate": [0.5, None], "shrunk_win_rate": [0.45, 0.3],
    ...     "ci_low": [0.3, 0.1], "ci_high": [0.6, 0.6], "ratio_to_top": [1.0, 0.66],
    ...     "evidence": ["sufficient", "too_few"]})
    >>> t = skill_gap_table(df).data
    >>> t["Raw win rate"].tolist(), t["vs top performer"].tolist()
    (['50%', '—'], ['100%', 'too few'])
    """
    d = _pandas(skill_gaps)
    if d.empty:
        return style(pd.DataFrame({"Rep": [], "Closed (n)": []}), "Skill gaps")
    d = d.sort_values(["rep_id"]).reset_index(drop=True)
    few = _col(d, "evidence").eq("too_few")
    out = pd.DataFrame(
        {
            "Rep": _rep_labels(d),
            "Role": _col(d, "role").astype(object).where(_col(d, "role").notna(), NULL),
            "Closed (n)": [fmt_count(x) for x in d["closed"]],
            "Won": [fmt_count(x) for x in _col(d, "won")],
            "Raw win rate": [fmt_pct(x) for x in _col(d, "win_rate")],
            "Shrunk win rate (95% interval)": [
                fmt_interval(e, lo, hi)
                for e, lo, hi in zip(
                    d["shrunk_win_rate"], _col(d, "ci_low"), _col(d, "ci_high"), strict=True
                )
            ],
            "Mix-adjusted": [fmt_pct(x) for x in _col(d, "adjusted_win_rate")],
            "vs top performer": [
                TOO_FEW if f else fmt_pct(x)
                for x, f in zip(_col(d, "ratio_to_top"), few, strict=True)
            ],
            "vs top (95% interval)": [
                TOO_FEW if f else fmt_interval(x, lo, hi)
                for x, lo, hi, f in zip(
                    _col(d, "ratio_to_top"),
                    _col(d, "ratio_ci_low"),
                    _col(d, "ratio_ci_high"),
                    few,
                    strict=True,
                )
            ],
            "Verdict": [
                NULL if _missing(v) else VERDICT_WORDS.get(str(v), str(v))
                for v in _col(d, "gap_verdict")
            ],
            "Rank group": [fmt_count(x) for x in _col(d, "rank_group")],
            "Amount-weighted win rate": [fmt_pct(x) for x in _col(d, "amount_weighted_win_rate")],
            "Evidence": [TOO_FEW if f else "sufficient" for f in few],
            "Mix note": [NULL if _missing(x) else str(x) for x in _col(d, "mix_note")],
        }
    )
    if "is_top_performer" in d:
        out.loc[d["is_top_performer"].fillna(False).astype(bool).to_numpy(), "Rep"] += " ★"
    return style(out, "Skill gaps: raw vs shrunk vs mix-adjusted win rate")


def bdr_funnel_table(bdr_funnel: pl.DataFrame | pd.DataFrame | None) -> Styler:
    """Per BDR: booked, held, show rate, opportunities, won, wins per meeting, flag.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a"], "meetings_booked": [20], "won": [2],
    ...     "won_per_meeting": [0.1], "ci_low": [0.03], "ci_high": [0.3], "flag": [True],
    ...     "flag_reason": ["few wins"]})
    >>> bdr_funnel_table(df).data["Flag"].tolist()
    ['⚠ few wins']
    """
    d = _pandas(bdr_funnel)
    if d.empty:
        return style(pd.DataFrame({"BDR": [], "Booked": []}), "BDR funnel")
    d = d.sort_values("rep_id").reset_index(drop=True)
    flags = _col(d, "flag").fillna(False).astype(bool)
    out = pd.DataFrame(
        {
            "BDR": _rep_labels(d),
            "Booked": [fmt_count(x) for x in d["meetings_booked"]],
            "Held": [fmt_count(x) for x in _col(d, "meetings_held")],
            "Show rate": [fmt_pct(x) for x in _col(d, "show_rate")],
            "Opportunities": [fmt_count(x) for x in _col(d, "opportunities")],
            "Won": [fmt_count(x) for x in _col(d, "won")],
            "Won per meeting (95% interval)": [
                fmt_interval(e, lo, hi, digits=1)
                for e, lo, hi in zip(
                    d["won_per_meeting"], _col(d, "ci_low"), _col(d, "ci_high"), strict=True
                )
            ],
            "Disqualified": [fmt_pct(x) for x in _col(d, "disqualification_rate")],
            "Flag": [
                ("⚠ " + (str(r) if not _missing(r) else "flagged")) if f else ""
                for f, r in zip(flags, _col(d, "flag_reason"), strict=True)
            ],
        }
    )
    median = _col(d, "team_median_won_per_meeting").dropna()
    cap = "BDR funnel" + (
        f" (team median {fmt_pct(median.iloc[0], 1)} won per meeting)" if len(median) else ""
    )
    return style(out, cap)


def rep_load_table(rep_load: pl.DataFrame | pd.DataFrame | None, *, threshold: float) -> Styler:
    """Per rep: active days, median and p90 daily decisions, share of days over threshold.

    Examples
    --------
    >>> df = pl.DataFrame({"rep_id": ["a"], "days_active": [10], "median_daily_decisions": [40.0],
    ...     "p90_daily_decisions": [52.0], "share_days_over_threshold": [0.2],
    ...     "judgment_share": [0.3],
    ...     "automatable_share": [0.6]})
    >>> rep_load_table(df, threshold=45).data["Automatable share"].tolist()
    ['60%']
    """
    d = _pandas(rep_load)
    if d.empty:
        return style(pd.DataFrame({"Rep": [], "Active days": []}), "Decision load per rep")
    d = d.sort_values("rep_id").reset_index(drop=True)
    out = pd.DataFrame(
        {
            "Rep": _rep_labels(d),
            "Active days": [fmt_count(x) for x in d["days_active"]],
            "Median / day": [
                fmt_num(x, 0) for x in _col(d, "median_daily_decisions", "median_daily")
            ],
            "P90 / day": [fmt_num(x, 0) for x in _col(d, "p90_daily_decisions", "p90_daily")],
            f"Days over {threshold:g}": [fmt_pct(x) for x in _col(d, "share_days_over_threshold")],
            "Judgment share": [fmt_pct(x) for x in _col(d, "judgment_share")],
            "Automatable share": [
                fmt_interval(e, lo, hi)
                for e, lo, hi in zip(
                    _col(d, "automatable_share"),
                    _col(d, "automatable_ci_low"),
                    _col(d, "automatable_ci_high"),
                    strict=True,
                )
            ],
        }
    )
    return style(out, "Decision load per rep (local days)")


def fatigue_table(fatigue: pl.DataFrame | pd.DataFrame | None) -> Styler:
    """The fatigue estimate for the team next to the all-teams row.

    Examples
    --------
    >>> df = pl.DataFrame({"team": ["A"], "threshold_estimate": [None], "reason": ["too few"],
    ...     "n_decisions": [100]}, schema_overrides={"threshold_estimate": pl.Float64})
    >>> fatigue_table(df).data["Threshold (95% interval)"].tolist()
    ['not estimated: too few']
    """
    d = _pandas(fatigue)
    if d.empty:
        return style(pd.DataFrame({"Team": []}), "Fatigue threshold")
    rows = []
    for _, r in d.iterrows():
        est = r.get("threshold_estimate")
        reason = r.get("reason")
        rows.append(
            {
                "Team": "all teams" if r["team"] == "all" else r["team"],
                "Shape": "—" if _missing(r.get("shape")) else str(r.get("shape")),
                "Threshold (95% interval)": (
                    (
                        f"not estimated: {reason}"
                        if not _missing(reason)
                        else "no threshold"
                        if not _missing(r.get("shape"))
                        else "not estimated: no estimate"
                    )
                    if _missing(est)
                    else fmt_interval(
                        est, r.get("threshold_ci_low"), r.get("threshold_ci_high"), pct=False
                    )
                ),
                "Quality before": fmt_pct(r.get("quality_before")),
                "Quality after": fmt_pct(r.get("quality_after")),
                "Relative drop": fmt_pct(r.get("relative_drop")),
                "Per 10 decisions (points)": (
                    NULL
                    if _missing(r.get("slope_per_10"))
                    else f"{float(r['slope_per_10']) * 100:+.1f}"
                ),
                "p-value": NULL if _missing(r.get("p_value")) else f"{float(r['p_value']):.3g}",
                "Decisions (n)": fmt_count(r.get("n_decisions")),
                "After threshold (n)": fmt_count(r.get("n_after")),
            }
        )
    return style(pd.DataFrame(rows), "Fatigue: decision quality before and after the threshold")


def hygiene_table(hygiene: pl.DataFrame | pd.DataFrame | None, *, threshold: float) -> Styler:
    """Hygiene score and components, team row first then reps.

    Examples
    --------
    >>> df = pl.DataFrame({"team": ["A", "A"], "rep_id": [None, "r1"], "score": [62.0, 80.0],
    ...     "trusted": [False, True], "lost_with_reason": [0.3, None]})
    >>> hygiene_table(df, threshold=70).data["Lost with a reason"].tolist()
    ['30%', '—']
    """
    d = _pandas(hygiene)
    if d.empty:
        return style(pd.DataFrame({"Scope": []}), "CRM hygiene")
    d = d.assign(_team_row=d["rep_id"].isna()).sort_values(
        ["_team_row", "rep_id"], ascending=[False, True], na_position="first"
    )
    labels = {
        "stage_consistent": "Stage history consistent",
        "lost_with_reason": "Lost with a reason",
        "calls_with_notes": "Calls with notes",
        "spine_complete": "SPINE complete",
        "activities_linked": "Activities linked",
    }
    out = pd.DataFrame(
        {
            "Scope": [
                "team" if t else str(r) for t, r in zip(d["_team_row"], _names(d), strict=True)
            ],
            "Score": [fmt_num(x, 0) for x in d["score"]],
            f"Trusted (≥ {threshold:g})": [
                NULL if _missing(t) else ("yes" if t else "⚠ no") for t in _col(d, "trusted")
            ],
        }
    )
    for col, label in labels.items():
        if col in d:
            out[label] = [fmt_pct(x) for x in d[col]]
    return style(out.reset_index(drop=True), "CRM hygiene: score and components")


def quarantine_table(quality: Mapping[str, Any]) -> Styler:
    """Rows read, kept and quarantined per input table, with the reasons.

    Examples
    --------
    >>> q = {"tables": {"reps": {"input_rows": 3, "clean_rows": 2, "quarantined_rows": 1,
    ...                          "reasons": {"duplicate": 1, "unknown_rep": 2}}}}
    >>> quarantine_table(q).data["Reasons"].tolist()
    ['duplicate: 1, unknown rep: 2']
    """
    rows = []
    for name, t in sorted((quality.get("tables") or {}).items()):
        reasons = t.get("reasons") or {}
        rows.append(
            {
                "Input table": name,
                "Rows read": fmt_count(t.get("input_rows")),
                "Clean": fmt_count(t.get("clean_rows")),
                "Quarantined": fmt_count(t.get("quarantined_rows")),
                "Share quarantined": fmt_pct(
                    t["quarantined_rows"] / t["input_rows"] if t.get("input_rows") else None, 1
                ),
                "Reasons": ", ".join(
                    f"{k.replace('_', ' ')}: {v:,}" for k, v in sorted(reasons.items())
                )
                or NULL,
            }
        )
    if not rows:
        rows = [{"Input table": NULL, "Rows read": NULL}]
    return style(pd.DataFrame(rows), "Quarantine: rows set aside, by input table (whole run)")


def taxonomy_table(coverage: pl.DataFrame | pd.DataFrame | None) -> Styler:
    """Decisions classified by the taxonomy vs unclassified.

    Examples
    --------
    >>> df = pl.DataFrame({"team": ["A"], "decisions": [100], "classified": [90],
    ...                    "unclassified": [10], "coverage": [0.9]})
    >>> taxonomy_table(df).data["Coverage"].tolist()
    ['90%']
    """
    d = _pandas(coverage)
    out = pd.DataFrame(
        {
            "Team": _col(d, "team"),
            "Activities (n)": [fmt_count(x) for x in _col(d, "decisions")],
            "Classified": [fmt_count(x) for x in _col(d, "classified")],
            "Unclassified": [fmt_count(x) for x in _col(d, "unclassified")],
            "Coverage": [fmt_pct(x) for x in _col(d, "coverage")],
        }
    )
    return style(out, "Taxonomy coverage")


def unmatched_shapes_table(shapes: pl.DataFrame | pd.DataFrame | None, *, top: int = 10) -> Styler:
    """The most frequent activity shapes no taxonomy rule matched.

    Examples
    --------
    >>> df = pl.DataFrame({"activity_type": ["task"], "outcome": [None], "subject_shape": ["x"],
    ...                    "n": [5]})
    >>> unmatched_shapes_table(df).data["Outcome"].tolist()
    ['—']
    """
    d = _pandas(shapes)
    if not d.empty:
        d = d.sort_values(["n", "activity_type"], ascending=[False, True]).head(top)
    out = pd.DataFrame(
        {
            "Activity type": [NULL if _missing(x) else x for x in _col(d, "activity_type")],
            "Outcome": [NULL if _missing(x) else x for x in _col(d, "outcome")],
            "Subject (shape)": [
                NULL if _missing(x) else x for x in _col(d, "subject_shape", "subject")
            ],
            "Activities (n)": [fmt_count(x) for x in _col(d, "n")],
        }
    )
    return style(out, f"Top {top} unmatched activity shapes (all teams): candidates for new rules")


def handoff_table(summary: pl.DataFrame | pd.DataFrame | None) -> Styler:
    """Per BDR and for the team: meetings, touched, median latency, share within 24 h.

    Examples
    --------
    >>> df = pl.DataFrame({"level": ["team"], "team": ["A"], "bdr_id": [None], "meetings": [10],
    ...     "touched": [8], "median_latency_hours": [5.5], "share_within_24h": [0.7],
    ...     "n_censored": [1]})
    >>> handoff_table(df).data["Within 24 h (95% interval)"].tolist()
    ['70%']
    """
    d = _pandas(summary)
    if d.empty:
        return style(pd.DataFrame({"Scope": []}), "Handoffs")
    rep = "bdr_id" if "bdr_id" in d else "rep_id"
    d = d.assign(_order=(_col(d, "level") != "team")).sort_values(
        ["_order", rep], na_position="first"
    )
    out = pd.DataFrame(
        {
            "Scope": [
                "team" if lvl == "team" else str(r)
                for lvl, r in zip(
                    _col(d, "level"), _names(d, rep) if rep in d else _col(d, rep), strict=True
                )
            ],
            "Meetings": [fmt_count(x) for x in d["meetings"]],
            "Touched by AE": [fmt_count(x) for x in _col(d, "touched")],
            "Median latency (h)": [fmt_num(x, 1) for x in _col(d, "median_latency_hours")],
            "Within 24 h (95% interval)": [
                fmt_interval(e, lo, hi)
                for e, lo, hi in zip(
                    _col(d, "share_within_24h"), _col(d, "ci_low"), _col(d, "ci_high"), strict=True
                )
            ],
            "Censored": [fmt_count(x) for x in _col(d, "n_censored")],
        }
    )
    return style(out.reset_index(drop=True), "BDR → AE handoff latency")


def definitions_table(rows: Sequence[Mapping[str, str]]) -> Styler:
    """Definitions and thresholds: each row ``{"Term", "Definition", "Value", "Kind"}``.

    Examples
    --------
    >>> definitions_table([{"Term": "t", "Definition": "d", "Value": "1",
    ...                     "Kind": "heuristic"}]).data.shape
    (1, 4)
    """
    frame = pd.DataFrame(list(rows), columns=["Term", "Definition", "Value", "Kind"])
    styler = style(frame, "Definitions and thresholds used")
    return styler.set_table_styles(
        [
            {
                "selector": "td",
                "props": "text-align: left; padding: 3px 10px; vertical-align: top;"
                "border-bottom: 1px solid #ddd;",
            }
        ],
        overwrite=False,
    )
