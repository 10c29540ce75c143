"""The sections of the team report, as lists of displayable items.

Each builder takes a :class:`~analysis.reports.data.MetricsBundle` (already filtered
to the team) and returns ``[markdown, figure, table, ...]`` for
:func:`analysis.reports.display.show`. They never raise on missing or empty tables:
a missing table gives ``not available: needs <inputs>``, a team without rows gets
a plain sentence. Warnings sit right before every figure built on untrusted data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from analysis.config import DEFAULTS
from analysis.reports import plots, tables
from analysis.reports.data import MetricsBundle

__all__ = [
    "bdr_section",
    "data_trust_section",
    "decision_load_section",
    "definitions_section",
    "fatigue_section",
    "handoff_section",
    "header",
    "roster_line",
    "skill_gap_section",
    "taxonomy_section",
    "trust_warning",
]

Items = list[Any]


def _note(text: str) -> str:
    return f"> {text}"


def _unavailable(bundle: MetricsBundle, *names: str) -> str | None:
    note = bundle.unavailable_note(*names)
    return None if note is None else _note(f"**{names[0].replace('_', ' ')}**: {note}.")


def _empty(bundle: MetricsBundle, what: str) -> str:
    period = bundle.period.get("label", "this period")
    return _note(f"No {what} for **{bundle.team}** in {period}.")


def _effective(bundle: MetricsBundle, name: str, given: float | None = None) -> float:
    """The threshold the metrics were computed with (run.json), else ``given``, else the default.

    The metrics fix the thresholds (``over_threshold``, ``trusted``, ``evidence`` are computed
    with them), so a report states the run's values; notebooks take no threshold parameters.
    """
    value = bundle.thresholds.get(name)
    if value is None:
        value = given if given is not None else bundle.threshold(name)
    return float(value)


def _figure(bundle: MetricsBundle, name: str) -> Any:
    """One headline figure of the team from ``team_summary`` (``None`` if unknown)."""
    return (bundle.figures or {}).get(name)


def trust_warning(
    bundle: MetricsBundle, *, hygiene_threshold: float | None = None, table: str | None = None
) -> str | None:
    """``⚠ hygiene score 48 < 70: treat these figures with caution`` or ``None``.

    Uses the table's ``data_trusted`` column when present, else the team's hygiene
    ``trusted`` flag; a team without a hygiene score gets a softer warning.

    Examples
    --------
    >>> b = MetricsBundle(run={}, quality={}, team="A", tables={"hygiene": pl.DataFrame(
    ...     {"team": ["A"], "rep_id": [None], "score": [48.0], "trusted": [False]})})
    >>> trust_warning(b, hygiene_threshold=70)
    '⚠ **hygiene score 48 < 70**: treat these figures with caution.'
    """
    threshold = _effective(bundle, "hygiene_threshold", hygiene_threshold)
    trusted: bool | None = None
    df = bundle.get(table) if table else None
    if df is not None and "data_trusted" in df.columns and df.height:
        values = df["data_trusted"].drop_nulls()
        trusted = bool(values.all()) if values.len() else None
    if trusted is None:
        trusted = bundle.trusted
    if trusted is None or trusted:
        return None
    score = bundle.hygiene_score
    if score is None:
        return "⚠ **hygiene score unknown**: treat these figures with caution."
    return f"⚠ **hygiene score {score:.0f} < {threshold:g}**: treat these figures with caution."


def _format_as_of(as_of: str, tz: str) -> str:
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        return as_of or "unknown"
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        return moment.isoformat(sep=" ", timespec="minutes")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def roster_line(bundle: MetricsBundle) -> str | None:
    """``**Reps (3)**: AE: Ana Diaz, Bo Li · BDR: Cy Ng``: every rep of the team, by name.

    Examples
    --------
    >>> reps = pl.DataFrame({"rep_id": ["r1", "r2"], "role": ["AE", "BDR"], "team": ["A", "A"],
    ...                      "rep_name": ["Ana Diaz", "r2"]})
    >>> roster_line(MetricsBundle(run={}, quality={}, team="A", tables={}, reps=reps))
    '**Reps (2)**: AE: Ana Diaz · BDR: r2'
    """
    reps = bundle.reps
    if reps is None or reps.height == 0 or "rep_name" not in reps.columns:
        return None
    role = pl.col("role").cast(pl.String) if "role" in reps.columns else pl.lit("reps")
    groups = (
        reps.with_columns(role.fill_null("other").alias("_role"))
        .sort("_role", "rep_name")
        .group_by("_role", maintain_order=True)
        .agg("rep_name")
    )
    parts = [f"{r}: {', '.join(names)}" for r, names in groups.iter_rows()]
    return f"**Reps ({reps.height})**: " + " · ".join(parts)


def header(bundle: MetricsBundle, *, team: str, quarter: str, as_of: str, tz: str) -> Items:
    """Title, as-of stamp and time zone, and the no-data notice when the team is empty.

    Examples
    --------
    >>> b = MetricsBundle(run={"period": {"start": "2026-07-01", "end": "2026-10-01"}},
    ...                   quality={}, team="A", tables={})
    >>> text = header(b, team="A", quarter="2026Q3", as_of="2026-10-02T08:30:00+00:00",
    ...               tz="Europe/Paris")[0]
    >>> "2026-10-02 10:30 Europe/Paris" in text
    True
    """
    period = bundle.period
    span = ""
    if period.get("start") and period.get("end"):
        span = f" ({period['start']} up to, not including, {period['end']})"
    lines = [
        f"# Decision stack: {team}, {quarter}",
        "",
        f"**As of {_format_as_of(as_of, tz)} {tz}** · time zone **{tz}** "
        f"(reps' own local days for daily figures) · period **{quarter}**{span}",
    ]
    out: Items = ["\n".join(lines)]
    known = bundle.run.get("teams")
    if known is not None and team not in known:
        out.append(
            _note(
                f"**{team}** is not a team in this data set (teams: "
                f"{', '.join(map(str, known)) or 'none'}). There is nothing to report."
            )
        )
    elif not bundle.has_data:
        out.append(
            "## No data for this team this quarter\n\n"
            f"**{team}** has no decisions, meetings, handoffs, closed deals or hygiene evidence "
            f"in {quarter}. Every section below says so; nothing here is an error. Check that "
            "the team name is right and that the export covers this quarter."
        )
    roster = roster_line(bundle)
    if roster:
        out.append(roster)
    warning = trust_warning(
        bundle, hygiene_threshold=bundle.thresholds.get("hygiene_threshold", DEFAULTS.hygiene_threshold)
    )
    if warning:
        out.append(warning.replace("these figures", "every figure in this report"))
    return out


def data_trust_section(bundle: MetricsBundle, *, hygiene_threshold: float | None = None) -> Items:
    """Hygiene score, components, quarantine counts, run warnings and unavailable metrics."""
    threshold = _effective(bundle, "hygiene_threshold", hygiene_threshold)
    out: Items = []
    missing = _unavailable(bundle, "hygiene")
    score = bundle.hygiene_score
    if missing:
        out.append(missing)
    elif score is None:
        out.append(_empty(bundle, "hygiene evidence"))
    else:
        row = bundle.hygiene_row or {}
        judged = row.get("n_components")
        judged_text = "" if judged is None else f" ({int(judged)} of 5 components judged)"
        if row.get("trusted") is None and judged is not None:
            verdict = (
                f"**not judged**: only {int(judged)} of 5 components had evidence, and at least "
                "3 are needed to call the data trustworthy or not."
            )
        else:
            verdict = (
                f"at or above the trust threshold of {threshold:g} (a heuristic): the figures "
                "below rest on reasonably complete CRM data."
                if bundle.trusted
                else f"**below the trust threshold of {threshold:g}** (a heuristic): figures "
                "built on this team's data carry a ⚠ warning."
            )
        out.append(f"**Hygiene score: {score:.0f} / 100**{judged_text}, {verdict}")
        out.append(plots.hygiene_components(bundle.hygiene, threshold=threshold, team=bundle.team))
        out.append(tables.hygiene_table(bundle.hygiene, threshold=threshold))
    out.append(tables.quarantine_table(bundle.quality))
    warnings = bundle.quality.get("warnings") or []
    if warnings:
        out.append("**Data warnings (whole run):**\n\n" + "\n".join(f"- {w}" for w in warnings))
    unavailable = bundle.quality.get("unavailable") or {}
    if unavailable:
        out.append(
            "**Metrics not available in this run:**\n\n"
            + "\n".join(f"- {m}: needs {', '.join(t)}" for m, t in sorted(unavailable.items()))
        )
    return out


def _load_sentence(bundle: MetricsBundle, *, threshold: float) -> str:
    """The decision-load sentence: every number from the team's ``team_summary`` row."""
    if bundle.figures is None:
        return _note("**team summary** not available: rerun `decision-stack metrics`.")
    f = bundle.figures
    return (
        f"Reps made a median of **{tables.fmt_num(f['median_daily_decisions'], 0)} decisions "
        f"per local day** (90th percentile {tables.fmt_num(f['p90_daily_decisions'], 0)}); "
        f"**{tables.fmt_pct(f['share_rep_days_over_threshold'])}** of rep-days were above "
        f"{threshold:g} (heuristic). Of the decisions the taxonomy classified, "
        f"**{tables.fmt_pct(f['judgment_share'], 1)}** were judgment calls and "
        f"**{tables.fmt_pct(f['automatable_share'], 1)}** pattern recognition: the "
        f"**automatable share**, what a tool could take over (95% interval "
        f"{tables.fmt_pct(f['automatable_ci_low'], 1)}–{tables.fmt_pct(f['automatable_ci_high'], 1)})."
    )


def decision_load_section(
    bundle: MetricsBundle,
    *,
    fatigue_threshold: float | None = None,
    hygiene_threshold: float | None = None,
) -> Items:
    """Load distribution, judgment vs pattern share per rep and automatable share."""
    threshold = _effective(bundle, "fatigue_threshold", fatigue_threshold)
    missing = _unavailable(bundle, "decision_load")
    if missing:
        return [missing]
    load = bundle.decision_load
    if load is None or load.height == 0:
        return [_empty(bundle, "decisions")]
    out: Items = [trust_warning(bundle, hygiene_threshold=hygiene_threshold, table="decision_load")]
    out.append(_load_sentence(bundle, threshold=threshold))
    out.append(
        plots.load_distribution(
            load,
            threshold=threshold,
            team=bundle.team,
            median=_figure(bundle, "median_daily_decisions"),
            share_over=_figure(bundle, "share_rep_days_over_threshold"),
        )
    )
    out.append(plots.decision_mix(load, team=bundle.team))
    if bundle.rep_load is not None:
        out.append(tables.rep_load_table(bundle.rep_load, threshold=threshold))
    return out


def taxonomy_section(bundle: MetricsBundle) -> Items:
    """Taxonomy coverage for the team and the top unmatched activity shapes."""
    missing = _unavailable(bundle, "taxonomy_coverage")
    if missing:
        return [missing]
    cov = bundle.taxonomy_coverage
    if cov is None or cov.height == 0:
        return [_empty(bundle, "activities")]
    out: Items = [tables.taxonomy_table(cov)]
    share = cov["coverage"][0] if "coverage" in cov.columns else None
    if share is not None and share < DEFAULTS.min_taxonomy_coverage:
        out.insert(
            0,
            f"⚠ only **{tables.fmt_pct(share)}** of activities matched a taxonomy rule; "
            "load and fatigue figures undercount decisions.",
        )
    shapes = bundle.unmatched_shapes
    if shapes is not None and shapes.height:
        out.append(tables.unmatched_shapes_table(shapes))
    return out


def fatigue_section(
    bundle: MetricsBundle,
    *,
    fatigue_threshold: float | None = None,
    hygiene_threshold: float | None = None,
) -> Items:
    """Fatigue verdict in plain words (threshold, gradual or none), the within rep-day curve
    with the raw one faint, and the configured heuristic shown as the claim that was tested."""
    threshold = _effective(bundle, "fatigue_threshold", fatigue_threshold)
    missing = _unavailable(bundle, "fatigue", "fatigue_curve")
    if missing:
        return [missing]
    fat = bundle.fatigue
    own = fat.filter(pl.col("team") == bundle.team) if fat is not None else None
    curve = bundle.fatigue_curve
    if (own is None or own.height == 0) and (curve is None or curve.height == 0):
        return [_empty(bundle, "decisions with a quality outcome")]
    row: dict[str, Any] = own.row(0, named=True) if own is not None and own.height else {}
    out: Items = [trust_warning(bundle, hygiene_threshold=hygiene_threshold, table="fatigue")]
    out.append(fatigue_sentence(row, heuristic=threshold))
    out.append(plots.fatigue_curve(curve, row, threshold=threshold, team=bundle.team))
    if fat is not None and fat.height:
        out.append(tables.fatigue_table(fat))
    return out


def fatigue_sentence(row: dict[str, Any], *, heuristic: float) -> str:
    """The fatigue verdict in plain words, and what it says of the configured heuristic.

    Examples
    --------
    >>> fatigue_sentence({"shape": "gradual", "slope_per_10": -0.021, "slope_ci_low": -0.03,
    ...                   "slope_ci_high": -0.012}, heuristic=45)[:89]
    'Quality **falls gradually**, about **2.1 points per 10 decisions** (95% interval 1.2–3.0)'
    """
    shape = plots.fatigue_shape(row)
    est = row.get("threshold_estimate")
    claim = f"The configured heuristic of {heuristic:g} decisions a day (`--fatigue-threshold`)"
    basis = (
        " Decisions are compared with the same rep's other decisions that day, at the same "
        "clock hour, so busy days, weaker reps and late afternoons do not count as fatigue."
    )
    if row.get("reason"):
        return f"**Fatigue threshold not estimated**: {row['reason']}. {claim} was not tested."
    if shape == "threshold" and est is not None:
        drop = row.get("relative_drop")
        p = row.get("p_value")
        low, high = row.get("threshold_ci_low"), row.get("threshold_ci_high")
        inside = low is not None and high is not None and low <= heuristic <= high
        return (
            "Decision quality changes after about **decision "
            f"{tables.fmt_interval(est, low, high, pct=False)}** of the day (95% interval; "
            "the last decision before the drop): from "
            f"{tables.fmt_pct(row.get('quality_before'))} to "
            f"{tables.fmt_pct(row.get('quality_after'))} positive"
            + (
                ""
                if drop is None
                else f" (a {'drop' if drop >= 0 else 'rise'} of {abs(drop) * 100:.0f}%)"
            )
            + ("" if p is None else f", p = {p:.3g}")
            + ". A step fits better than no change and better than a smooth decline."
            + basis
            + f" {claim} is "
            + ("within" if inside else "outside")
            + " the interval."
        )
    slope = row.get("slope_per_10")
    change = (
        ""
        if slope is None
        else (
            f" (change per 10 decisions: {slope * 100:+.1f} points, 95% interval "
            f"{_points(row.get('slope_ci_low'))} to {_points(row.get('slope_ci_high'))})"
        )
    )
    if shape == "gradual":
        low, high = row.get("slope_ci_low"), row.get("slope_ci_high")
        band = (
            ""
            if low is None or high is None
            else f" (95% interval {abs(high) * 100:.1f}–{abs(low) * 100:.1f})"
        )
        return (
            f"Quality **falls gradually**, about **{abs(slope or 0) * 100:.1f} points per 10 "
            f"decisions**{band}; **no threshold**: a step does not fit better than a smooth "
            "decline." + basis + f" {claim} is not supported as a threshold."
        )
    return (
        "**No fatigue found**: quality does not fall with the number of decisions in the day"
        f"{change}; no threshold." + basis + f" {claim} is not supported by the data."
    )


def _points(value: Any) -> str:
    return "—" if value is None else f"{value * 100:+.1f}"


def bdr_section(bundle: MetricsBundle, *, hygiene_threshold: float | None = None) -> Items:
    """BDR funnel: wins per booked meeting with intervals; flagged BDRs named first."""
    missing = _unavailable(bundle, "bdr_funnel")
    if missing:
        return [missing]
    funnel = bundle.bdr_funnel
    if funnel is None or funnel.height == 0:
        return [_empty(bundle, "BDR meetings")]
    out: Items = [trust_warning(bundle, hygiene_threshold=hygiene_threshold, table="bdr_funnel")]
    flagged = funnel.filter(pl.col("flag").fill_null(False)).sort("rep_id")
    if flagged.height:
        reasons = flagged["flag_reason"] if "flag_reason" in flagged.columns else None
        names = flagged["rep_name"] if "rep_name" in flagged.columns else flagged["rep_id"]
        adjusted = flagged["flag_p_adjusted"] if "flag_p_adjusted" in flagged.columns else None
        items = [
            f"- **{r}**"
            + ("" if adjusted is None else f" (adjusted p = {_fmt_p(adjusted[i])})")
            + ("" if reasons is None or reasons[i] is None else f": {reasons[i]}")
            for i, r in enumerate(names)
        ]
        count = _figure(bundle, "flagged_bdrs")
        out.append(
            f"**Flagged BDRs ({flagged.height if count is None else count})**, many meetings "
            "turning into few wins:\n\n"
            + "\n".join(items)
        )
    else:
        out.append("**No BDR flagged** this quarter.")
    out.append(plots.bdr_funnel(funnel, team=bundle.team))
    out.append(tables.bdr_funnel_table(funnel))
    return out


def handoff_section(bundle: MetricsBundle, *, hygiene_threshold: float | None = None) -> Items:
    """Handoff latency: ECDF with the 24 h line and the per-BDR table."""
    missing = _unavailable(bundle, "handoffs")
    if missing:
        return [missing]
    hand = bundle.handoffs
    if hand is None or hand.height == 0:
        return [_empty(bundle, "meetings booked")]
    out: Items = [trust_warning(bundle, hygiene_threshold=hygiene_threshold, table="handoffs")]
    share = _figure(bundle, "handoff_share_within_24h")
    censored = _figure(bundle, "handoff_n_censored")
    out.append(
        f"**{tables.fmt_pct(share)}** of meetings were touched by the AE within 24 h of booking "
        f"(median latency {tables.fmt_num(_figure(bundle, 'handoff_median_latency_hours'), 1)} h; "
        "Kaplan-Meier estimates in which the "
        f"{tables.fmt_count(censored)} meetings booked under 24 h before the data's as-of time "
        "and not touched yet count as censored, never as misses)."
    )
    out.append(plots.handoff_latency(hand, team=bundle.team, share_within_24h=share))
    summary = bundle.handoff_summary
    if summary is not None and summary.height:
        out.append(tables.handoff_table(summary))
    return out


def _fmt_p(p: float | None) -> str:
    """``0.0052``, ``< 0.001``; ``—`` when missing."""
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def skill_gap_section(
    bundle: MetricsBundle, *, hygiene_threshold: float | None = None, min_deals: int | None = None
) -> Items:
    """Forest plot of shrunk win rates with the top-performer line, and the raw vs adjusted table."""
    floor = int(_effective(bundle, "min_deals", min_deals))
    missing = _unavailable(bundle, "skill_gaps")
    if missing:
        return [missing]
    gaps = bundle.skill_gaps
    if gaps is None or gaps.height == 0:
        return [_empty(bundle, "opportunities owned")]
    out: Items = [trust_warning(bundle, hygiene_threshold=hygiene_threshold, table="skill_gaps")]
    few = _figure(bundle, "reps_too_few") or 0
    top = _figure(bundle, "top_performer_rep_id")
    few_text = (
        "Every rep has enough closed deals to be compared."
        if few == 0
        else f"{few} rep(s) closed fewer than {floor} deals and are marked *too few*: they are "
        "shown but not compared."
    )
    if top is not None:
        f = bundle.figures or {}
        rate = tables.fmt_interval(
            f["top_performer_rate"], f["top_performer_ci_low"], f["top_performer_ci_high"]
        )
        out.append(
            f"Top performer: **{f.get('top_performer_name') or top}** at a shrunk win rate of "
            f"**{rate}**. " + few_text
        )
    else:
        out.append(f"No rep closed at least {floor} deals: nobody is compared (*too few*).")
    if top is not None and "gap_verdict" in gaps.columns:
        below = gaps.filter(pl.col("gap_verdict") == "gap").sort("rep_id")
        compared = gaps.filter(pl.col("gap_verdict").is_in(["gap", "no_evidence"])).height
        names = below["rep_name"] if "rep_name" in below.columns else below["rep_id"]
        out.append(
            f"Below the top performer beyond noise (*gap*: the 95% interval of the ratio to the "
            f"top, which carries the top's own luck, stays below 1): **{below.height} of "
            f"{compared}** compared rep(s)"
            + (": " + ", ".join(f"**{n}**" for n in names) if below.height else "")
            + ". For the others there is *no evidence of a gap*: their interval reaches 1."
        )
    out.append(plots.skill_gap_forest(gaps, team=bundle.team))
    out.append(tables.skill_gap_table(gaps))
    return out


def definitions_section(
    bundle: MetricsBundle,
    *,
    fatigue_threshold: float | None = None,
    min_deals: int | None = None,
    hygiene_threshold: float | None = None,
    tz: str = DEFAULTS.tz,
) -> Items:
    """Definitions and the thresholds used, each threshold labelled a heuristic."""
    fat = _effective(bundle, "fatigue_threshold", fatigue_threshold)
    deals = int(_effective(bundle, "min_deals", min_deals))
    hyg = _effective(bundle, "hygiene_threshold", hygiene_threshold)
    taxonomy = bundle.run.get("taxonomy")
    if not taxonomy or taxonomy == "default":
        taxonomy = "the default taxonomy shipped with decision-stack"
    rows = [
        {
            "Term": "Decision",
            "Definition": "An activity classified by the taxonomy's first "
            "matching rule as pattern recognition (prioritization, sequencing, next best action) "
            f"or judgment (qualification, objection handling, close strategy). Taxonomy: {taxonomy}.",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Local day",
            "Definition": f"The rep's own calendar day in reps.timezone (default {tz}).",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Fatigue threshold",
            "Definition": "Decisions per local day above which "
            "quality is expected to drop; used for the load line and over-threshold days. "
            "The estimated threshold comes from the data, this one is configured.",
            "Value": f"{fat:g} decisions/day",
            "Kind": "heuristic (--fatigue-threshold)",
        },
        {
            "Term": "Decision quality",
            "Definition": "Share of decisions with a positive outcome "
            "among those whose outcome the taxonomy's [quality] lists as positive or negative.",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Win rate",
            "Definition": "won / closed (count-based); null, never 0, with no "
            "closed deal. Shrunk toward the team mean (empirical Bayes) with a 95% interval.",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Minimum deals",
            "Definition": "Closed deals a rep needs before being compared "
            "with the top performer; below it the rep is marked 'too few'.",
            "Value": f"{deals} closed deals",
            "Kind": "heuristic (--min-deals)",
        },
        {
            "Term": "Top performer",
            "Definition": "Best shrunk win rate among reps of the same "
            "team and role with sufficient evidence.",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Won per meeting",
            "Definition": "BDR's won opportunities / meetings booked, "
            "with a Wilson 95% interval; flagged when many meetings turn into few wins.",
            "Value": "—",
            "Kind": "definition",
        },
        {
            "Term": "Handoff latency",
            "Definition": "Hours from booking to the AE's first "
            "activity on the meeting's lead or opportunity; censored while untouched and under "
            "24 h before the period end.",
            "Value": f"{DEFAULTS.handoff_sla_hours:g} h",
            "Kind": "heuristic (service level)",
        },
        {
            "Term": "Hygiene score / trusted",
            "Definition": "0-100 completeness and consistency "
            "score of the CRM data; figures on data below the threshold carry a warning.",
            "Value": f"{hyg:g} / 100",
            "Kind": "heuristic (--hygiene-threshold)",
        },
    ]
    out: Items = [tables.definitions_table(rows)]
    asked = {
        "fatigue_threshold": fatigue_threshold,
        "min_deals": min_deals,
        "hygiene_threshold": hygiene_threshold,
    }
    differs = [
        f"{k} = {bundle.thresholds[k]:g} (asked {v:g})"
        for k, v in asked.items()
        if v is not None and k in bundle.thresholds and float(bundle.thresholds[k]) != float(v)
    ]
    if differs:
        out.append(
            _note(
                "The metrics were computed with "
                + ", ".join(differs)
                + "; the values used above are the ones the metrics were computed with."
            )
        )
    out.append(
        "All thresholds are **heuristics**: configurable starting points, not facts "
        "about your team. Change them with the options shown and compare."
    )
    return out
