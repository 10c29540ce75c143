"""The impact report: one parameterized notebook per change (``notebooks/impact.py``).

``decision-stack impact --reports DIR`` runs it through papermill for every change into
``DIR/impact/<change-slug>.html`` and writes ``DIR/impact/index.html`` linking them (and
the quarter reports in ``DIR``) and the ``DIR/impact/impact.json`` manifest that the
quarter index reads (:mod:`analysis.reports.links`). Every value from the data is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from analysis.log import get_logger

__all__ = [
    "ImpactBundle",
    "change_header",
    "event_study_figure",
    "load_impact",
    "render_impact_reports",
    "verdict_table",
]
_log = get_logger("analysis.reports.impact")


@dataclass
class ImpactBundle:
    """One change's rows of the impact tables."""

    change: dict[str, Any]
    impact: pl.DataFrame
    weekly: pl.DataFrame


def load_impact(impact_dir: str | Path, change_id: str) -> ImpactBundle:
    """Read one change's rows from an ``impact`` output folder."""
    root = Path(impact_dir)
    changes = pl.read_parquet(root / "impact_changes.parquet").filter(
        pl.col("change_id") == change_id
    )
    if changes.is_empty():
        raise KeyError(f"unknown change {change_id!r} in {root}")
    keep = pl.col("change_id") == change_id
    return ImpactBundle(
        changes.row(0, named=True),
        pl.read_parquet(root / "impact.parquet").filter(keep),
        pl.read_parquet(root / "impact_weekly.parquet").filter(keep),
    )


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.0%}"


def change_header(bundle: ImpactBundle) -> list[str]:
    """Title, scope, start, and the data-trust warning of the treated teams."""
    c = bundle.change
    teams = ", ".join(html.escape(str(t)) for t in (c.get("teams") or []))
    out = [
        f"# Did it help? {html.escape(str(c['name']))}\n\n"
        f"Change `{html.escape(str(c['change_id']))}`, started {c['first_start']:%Y-%m-%d}, "
        f"reaching {c['n_reps']} reps in {teams or 'no team'}."
    ]
    untrusted = c.get("untrusted_teams") or []
    if untrusted:
        names = ", ".join(html.escape(str(t)) for t in untrusted)
        out.append(
            f"> **Data trust:** the CRM hygiene of {names} is below the threshold "
            f"(score {c['hygiene_score']:.0f}): read conversion figures with care."
        )
    drifting = bundle.impact.filter(pl.col("pre_trend_warning").fill_null(False))
    if drifting.height:
        labels = ", ".join(html.escape(x) for x in drifting["label"].to_list())
        out.append(
            f"> **Pre-trend warning:** before the start, the treated and control reps were "
            f"already drifting apart on {labels}: those estimates may not be the change's doing."
        )
    return out


def verdict_table(bundle: ImpactBundle) -> str:
    """Volume and conversion side by side: before/after, effect and interval, verdict."""
    rows = [
        "| kind | metric | treated before → after | controls before → after | effect [95% interval] | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in bundle.impact.sort("kind", "metric", descending=[True, False]).iter_rows(named=True):
        def v(x: float | None) -> str:
            return "–" if x is None else f"{x:,.3g}"

        if r["effect_relative"] is None:
            verdict = html.escape(r["note"] or "not estimable")
        elif r["ci_low"] <= 0 <= r["ci_high"]:
            verdict = "no clear change"
        else:
            verdict = "up" if r["ci_low"] > 0 else "down"
        rows.append(
            f"| {r['kind']} | {html.escape(r['label'])} | {v(r['treated_before'])} → "
            f"{v(r['treated_after'])} | {v(r['control_before'])} → {v(r['control_after'])} | "
            f"{_pct(r['effect_relative'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] | "
            f"{verdict} |"
        )
    return "\n".join(rows)


def event_study_figure(bundle: ImpactBundle) -> Any:
    """Event-study curves (estimate and interval per week) of each metric, or a note."""
    import matplotlib.pyplot as plt

    weekly = bundle.weekly
    if weekly.is_empty():
        return "*No week-by-week estimates (too little data around the start).*"
    metrics = sorted(weekly["metric"].unique().to_list())
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 2.2 * len(metrics)), sharex=True)
    axes = [axes] if len(metrics) == 1 else list(axes)
    for ax, metric in zip(axes, metrics, strict=True):
        d = weekly.filter(pl.col("metric") == metric).sort("week")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(-0.5, color="black", lw=0.8, ls="--")
        ax.fill_between(
            d["week"].to_numpy(),
            d["ci_low"].fill_null(0).to_numpy(),
            d["ci_high"].fill_null(0).to_numpy(),
            alpha=0.2,
        )
        ax.plot(d["week"].to_numpy(), d["estimate"].to_numpy(), marker="o", ms=3)
        ax.set_title(metric, fontsize=9)
        ax.yaxis.set_major_formatter(lambda y, _: f"{y:+.0%}")
    axes[-1].set_xlabel("weeks from the start")
    fig.tight_layout()
    return fig


def render_impact_reports(impact_dir: str | Path, reports_dir: str | Path) -> int:
    """Run the impact notebook per change into ``reports_dir/impact``; 1 if any failed."""
    import os

    import papermill as pm

    from analysis.reports.links import quarter_section, write_impact_manifest
    from analysis.reports.runner import check_parameters, notebook_to_html, read_template
    from analysis.reports.slugs import team_slugs

    os.environ.setdefault("MPLBACKEND", "Agg")
    out = Path(reports_dir) / "impact"
    out.mkdir(parents=True, exist_ok=True)
    changes = pl.read_parquet(Path(impact_dir) / "impact_changes.parquet")
    # unique, short and never ``index`` (the index page), like the team pages
    slugs = team_slugs(changes["change_id"].to_list())
    nb = read_template("impact")
    links, entries, failed = [], [], 0
    for c in changes.iter_rows(named=True):
        params = {"impact_dir": str(Path(impact_dir).resolve()), "change_id": c["change_id"]}
        check_parameters(nb, params, name="impact")
        slug = slugs[c["change_id"]]
        ipynb = out / f"{slug}.ipynb"
        entry = {"change_id": c["change_id"], "name": str(c["name"]), "html": None}
        try:
            pm.execute_notebook(nb, str(ipynb), parameters=params, progress_bar=False)
            notebook_to_html(ipynb, out / f"{slug}.html", title=str(c["name"]))
            status = f'<a href="{html.escape(slug)}.html">{html.escape(str(c["name"]))}</a>'
            entry.update(html=f"{slug}.html", status="ok")
        except Exception as err:  # one failed change does not stop the others
            failed += 1
            _log.warning("impact report for %s failed: %s", c["change_id"], err)
            status = f"{html.escape(str(c['name']))}: failed"
            entry.update(status="failed")
        links.append(f"<li>{status}</li>")
        entries.append(entry)
    write_impact_manifest(out, entries)
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Change impact</title>"
        "<h1>Did the changes help?</h1><ul>"
        + "".join(links)
        + "</ul>"
        + quarter_section(Path(reports_dir)),
        encoding="utf-8",
    )
    return 1 if failed else 0
