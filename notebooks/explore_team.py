# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
data_dir: str = ""  # canonical dataset; used only when metrics_dir is empty
metrics_dir: str = "reports/2026Q3/_metrics"  # metrics directory written by run_metrics
team: str = ""  # team to explore, exactly as in reps.team; empty: every team
quarter: str = "2026Q3"  # period, used only when computing metrics from data_dir

# %% [markdown]
# # Explore a team's decision-stack metrics
#
# A starting point for analysts in JupyterLab. Everything here reads the tables the
# pipeline wrote once (`load_metrics`), filtered to one team: slice them, do not
# redefine the metrics. Run `decision-stack metrics --data DIR --out OUT --quarter 2026Q3`
# first, or set `data_dir` and leave `metrics_dir` empty.

# %%
from pathlib import Path

import polars as pl

from analysis.periods import Period
from analysis.reports import plots, tables
from analysis.reports.data import load_metrics
from analysis.reports.display import show

if not metrics_dir and data_dir:
    from analysis.pipeline import run_metrics

    metrics_dir = str(Path("reports") / quarter / "_metrics_explore")
    run_metrics(Path(data_dir), Path(metrics_dir), period=Period.quarter(quarter))

bundle = load_metrics(metrics_dir, team=team or None)
print(
    f"period {bundle.period.get('label')}, as of {bundle.run.get('as_of')}, tz {bundle.run.get('tz')}"
)
print(f"teams in the run: {bundle.run.get('teams')}")

# %% [markdown]
# ## What is in the bundle
#
# One polars DataFrame per table (`None` when the run could not compute it), plus
# `bundle.decisions`, a *lazy* frame of every classified activity: collect only what you need.

# %%
pl.DataFrame(
    {
        "table": sorted(bundle.tables),
        "rows": [bundle.tables[name].height for name in sorted(bundle.tables)],
        "columns": [", ".join(bundle.tables[name].columns) for name in sorted(bundle.tables)],
    }
)

# %%
print("not available:", bundle.quality.get("unavailable") or "nothing")
print("hygiene score:", bundle.hygiene_score, "trusted:", bundle.trusted)

# %% [markdown]
# ## Slicing examples
#
# The busiest rep-days (decision load per rep and local day):

# %%
if bundle.decision_load is not None:
    show(bundle.decision_load.sort(["decisions", "rep_id"], descending=[True, False]).head(10))

# %% [markdown]
# Decisions by class and rule, straight from the lazy activity-level table:

# %%
if bundle.decisions is not None:
    show(
        bundle.decisions.group_by("decision_class", "rule_id")
        .agg(n=pl.len())
        .sort(["n", "rule_id"], descending=[True, False], nulls_last=True)
        .collect()
    )

# %% [markdown]
# Reps with enough closed deals to be compared, by shrunk win rate:

# %%
if bundle.skill_gaps is not None:
    show(
        bundle.skill_gaps.filter(pl.col("evidence") == "sufficient")
        .select(
            "rep_id", "role", "closed", "won", "win_rate", "shrunk_win_rate", "ci_low", "ci_high"
        )
        .sort("shrunk_win_rate", descending=True)
    )

# %% [markdown]
# The same figures and formatted tables the quarterly report uses:

# %%
show(
    plots.load_distribution(
        bundle.decision_load, threshold=bundle.threshold("fatigue_threshold"), team=team
    ),
    tables.bdr_funnel_table(bundle.bdr_funnel),
)
