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
    """Headline numbers of a team, read from its ``team_summary`` row: null where no evidence.

    Keys: ``team``, ``has_data``, ``hygiene_score``, ``trusted``,
    ``median_decisions_per_day``, ``automatable_share``, ``flagged_bdrs`` (display names),
    ``share_within_24h``, ``top_performer_rate``, ``fatigue_threshold_estimate``,
    ``unavailable``.

    Examples
    --------
    >>> ts = pl.DataFrame({"team": ["A"], "median_daily_decisions": [40.0],
    ...                    "automatable_share": [0.6], "handoff_share_within_24h": [None]})
    >>> k = key_figures(MetricsBundle(run={}, quality={}, team="A", tables={"team_summary": ts}))
    >>> k["median_decisions_per_day"], k["automatable_share"], k["share_within_24h"]
    (40.0, 0.6, None)
    """
    figures = bundle.figures or {}
    funnel = bundle.get("bdr_funnel")
    flagged: list[str] | None = None
    if funnel is not None and funnel.height:
        rows = funnel.filter(pl.col("flag").fill_null(False))
        label = "rep_name" if "rep_name" in rows.columns else "rep_id"
        flagged = sorted(str(x) for x in rows[label].to_list())
    trusted = figures.get("trusted")
    return {
        "team": bundle.team,
        "has_data": bundle.has_data,
        "hygiene_score": _num(figures.get("hygiene_score")),
        "trusted": bundle.trusted if trusted is None else bool(trusted),
        "median_decisions_per_day": _num(figures.get("median_daily_decisions")),
        "automatable_share": _num(figures.get("automatable_share")),
        "flagged_bdrs": flagged,
        "share_within_24h": _num(figures.get("handoff_share_within_24h")),
        "top_performer_rate": _num(figures.get("top_performer_rate")),
        "fatigue_threshold_estimate": _num(figures.get("fatigue_threshold_estimate")),
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
