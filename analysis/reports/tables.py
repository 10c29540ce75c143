"""Formatted tables for the report notebooks, built with great_tables.

Formatting rules live in :mod:`analysis.reports.formatting` (re-exported here): shares
as whole percentages, counts with thousands separators, an estimate with its interval as
``31% (24–39%)``, ``too few`` where the evidence is below the floor, and ``—`` for null
(no evidence, never 0). Builders take polars (or pandas) frames, build a frame of display
strings, and return a :class:`Table`: great_tables renders it (every value and label
escaped), with transparent backgrounds and inherited text colour so it reads in light
and dark themes alike. ``Table.data`` is the frame of display strings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import polars as pl

from analysis.metrics.skill_gaps import VERDICT_WORDS
from analysis.reports.formatting import (
    NULL,
    TOO_FEW,
    fmt_count,
    fmt_interval,
    fmt_num,
    fmt_p,
    fmt_pct,
    is_missing,
)

__all__ = [
    "NULL",
    "TOO_FEW",
    "Table",
    "bdr_funnel_table",
    "definitions_table",
    "fatigue_table",
    "fmt_count",
    "fmt_interval",
    "fmt_num",
    "fmt_p",
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

_IDS = itertools.count(1)


def _missing(x: Any) -> bool:
    return is_missing(x)


class Table:
    """A report table: display strings (``data``) rendered by great_tables.

    Examples
    --------
    >>> t = Table(pd.DataFrame({"Rep": ["<b>Ana</b>"], "n": ["3"]}), caption="Reps")
    >>> html = t.to_html()
    >>> "&lt;b&gt;Ana&lt;/b&gt;" in html, "<b>Ana" in html
    (True, False)
    """

    def __init__(
        self,
        data: pd.DataFrame,
        caption: str | None = None,
        *,
        left: Sequence[str] = (),
    ) -> None:
        self.data = data
        self.caption = caption
        self._left = list(left)
        self._id = f"ds-table-{next(_IDS)}"

    @property
    def gt(self) -> Any:
        """The great_tables ``GT`` object (escapes values and labels by default)."""
        from great_tables import GT, style

        frame = pl.from_pandas(self.data.astype(str).reset_index(drop=True), include_index=False)
        frame = frame.rename({c: str(c) for c in frame.columns})
        table = GT(frame, id=self._id)
        if self.caption:
            table = table.tab_header(title=self.caption)
        table = table.tab_options(
            table_background_color="transparent",
            heading_background_color="transparent",
            column_labels_background_color="transparent",
            table_font_size="90%",
            heading_align="left",
            heading_title_font_size="105%",
            table_margin_left="0px",
            column_labels_font_weight="bold",
            data_row_padding="3px",
        )
        columns = frame.columns
        if columns:
            left = [c for c in columns if c in self._left] or columns[:1]
            table = table.cols_align("left", columns=left)
            rest = [c for c in columns if c not in left]
            if rest:
                table = table.cols_align("right", columns=rest)
            table = table.tab_style(style.text(v_align="top"), locations=_body())
        return table.opt_css(
            f"#{self._id} .gt_table, #{self._id} .gt_table * "
            "{ color: inherit !important; background-color: transparent !important; }"
        )

    def to_html(self) -> str:
        """The table as an HTML fragment."""
        return self.gt.as_raw_html()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"Table({self.caption!r}, {len(self.data)} rows)"


def _body() -> Any:
    from great_tables import loc

    return loc.body()


def _pandas(df: pl.DataFrame | pd.DataFrame | None) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame()
    return df.to_pandas() if isinstance(df, pl.DataFrame) else df


def style(frame: pd.DataFrame | pl.DataFrame, caption: str | None = None) -> Table:
    """Wrap a frame of display strings in a report :class:`Table` (no index).

    Examples
    --------
    >>> "<table" in style(pd.DataFrame({"a": ["1"]}), "cap").to_html()
    True
    """
    data = frame.to_pandas() if isinstance(frame, pl.DataFrame) else frame
    return Table(data, caption)


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


def skill_gap_table(skill_gaps: pl.DataFrame | pd.DataFrame | None) -> Table:
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
            "Amount-weighted win rate (raw)": [
                fmt_pct(x) for x in _col(d, "amount_weighted_win_rate")
            ],
            "Evidence": [TOO_FEW if f else "sufficient" for f in few],
            "Mix note": [NULL if _missing(x) else str(x) for x in _col(d, "mix_note")],
        }
    )
    if "is_top_performer" in d:
        out.loc[d["is_top_performer"].fillna(False).astype(bool).to_numpy(), "Rep"] += " ★"
    return style(
        out,
        "Skill gaps: raw, amount-weighted, shrunk and mix-adjusted win rates "
        "(vs top performer and rank groups compare shrunk rates)",
    )


def bdr_funnel_table(bdr_funnel: pl.DataFrame | pd.DataFrame | None) -> Table:
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


def rep_load_table(rep_load: pl.DataFrame | pd.DataFrame | None, *, threshold: float) -> Table:
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


def fatigue_table(fatigue: pl.DataFrame | pd.DataFrame | None) -> Table:
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
                "p-value": fmt_p(r.get("p_value")),
                "Decisions (n)": fmt_count(r.get("n_decisions")),
                "After threshold (n)": fmt_count(r.get("n_after")),
            }
        )
    return style(pd.DataFrame(rows), "Fatigue: decision quality before and after the threshold")


def hygiene_table(hygiene: pl.DataFrame | pd.DataFrame | None, *, threshold: float) -> Table:
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


def quarantine_table(quality: Mapping[str, Any]) -> Table:
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


def taxonomy_table(coverage: pl.DataFrame | pd.DataFrame | None) -> Table:
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


def unmatched_shapes_table(shapes: pl.DataFrame | pd.DataFrame | None, *, top: int = 10) -> Table:
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


def handoff_table(summary: pl.DataFrame | pd.DataFrame | None) -> Table:
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


def definitions_table(rows: Sequence[Mapping[str, str]]) -> Table:
    """Definitions and thresholds: each row ``{"Term", "Definition", "Value", "Kind"}``.

    Examples
    --------
    >>> definitions_table([{"Term": "t", "Definition": "d", "Value": "1",
    ...                     "Kind": "heuristic"}]).data.shape
    (1, 4)
    """
    frame = pd.DataFrame(list(rows), columns=["Term", "Definition", "Value", "Kind"])
    return Table(
        frame, "Definitions and thresholds used", left=["Term", "Definition", "Value", "Kind"]
    )
