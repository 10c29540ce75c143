"""Key figures of one team's report, written as a small JSON sidecar for index.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from analysis.reports.data import MetricsBundle

__all__ = ["key_figures", "write_summary"]


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


def key_figures(bundle: MetricsBundle) -> dict[str, Any]:
    """Headline numbers of a team: null (never 0) where there is no evidence.

    Keys: ``team``, ``has_data``, ``hygiene_score``, ``trusted``,
    ``median_decisions_per_day``, ``flagged_bdrs`` (display names), ``share_within_24h``,
    ``top_performer_rate``, ``fatigue_threshold_estimate``, ``unavailable``.

    Examples
    --------
    >>> b = MetricsBundle(run={}, quality={}, team="A", tables={
    ...     "decision_load": pl.DataFrame({"team": ["A", "A"], "decisions": [30, 50]})})
    >>> k = key_figures(b)
    >>> k["median_decisions_per_day"], k["share_within_24h"]
    (40.0, None)
    """
    load = bundle.get("decision_load")
    funnel = bundle.get("bdr_funnel")
    hand = bundle.get("handoffs")
    gaps = bundle.get("skill_gaps")
    fat = bundle.get("fatigue")
    median = load["decisions"].median() if load is not None and load.height else None
    flagged: list[str] | None = None
    if funnel is not None and funnel.height:
        rows = funnel.filter(pl.col("flag").fill_null(False))
        label = "rep_name" if "rep_name" in rows.columns else "rep_id"
        flagged = sorted(str(x) for x in rows[label].to_list())
    share = None
    if hand is not None and hand.height:
        known = hand["within_24h"].drop_nulls()
        share = known.mean() if known.len() else None
    top = None
    if gaps is not None and gaps.height and "top_performer_rate" in gaps.columns:
        rates = gaps["top_performer_rate"].drop_nulls()
        top = rates.max() if rates.len() else None
    estimate = None
    if fat is not None:
        own = fat.filter(pl.col("team") == bundle.team)
        estimate = own["threshold_estimate"][0] if own.height else None
    return {
        "team": bundle.team,
        "has_data": bundle.has_data,
        "hygiene_score": _num(bundle.hygiene_score),
        "trusted": bundle.trusted,
        "median_decisions_per_day": _num(median),
        "flagged_bdrs": flagged,
        "share_within_24h": _num(share),
        "top_performer_rate": _num(top),
        "fatigue_threshold_estimate": _num(estimate),
        "unavailable": sorted((bundle.quality.get("unavailable") or {}).keys()),
    }


def write_summary(bundle: MetricsBundle, path: str | Path) -> dict[str, Any]:
    """Write :func:`key_figures` to ``path`` as JSON (no-op for an empty path); return them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = write_summary(MetricsBundle(run={}, quality={}, team="A", tables={}), p)
    >>> json.loads(p.read_text())["has_data"]
    False
    """
    figures = key_figures(bundle)
    if str(path):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(figures, indent=2, default=str))
    return figures
