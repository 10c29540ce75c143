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
metrics_dir: str = "reports/2026Q3/_metrics"  # metrics directory written by run_metrics
team: str = ""  # team to audit, exactly as in reps.team; empty: every team
min_pushes: int = 2  # list deals whose close date moved later at least this often

# %% tags=["remove-cell"]
import polars as pl

from analysis.reports import pipeline_audit
from analysis.reports.data import load_metrics
from analysis.reports.display import show

bundle = load_metrics(metrics_dir, team=team or None)
durations = bundle.get("stage_durations")
stalled = bundle.get("stalled_deals")

# %% [markdown]
# # Pipeline audit: where deals stall, slip and wait
#
# Time in stage is estimated with Kaplan–Meier: deals still sitting in a stage are counted
# as "at least this long" (censored at the data's as-of time), so slow stages are not hidden
# by averaging only the deals that already moved on. `mean_exited_days` is that biased
# average, kept for comparison.

# %%
show(
    durations.select(
        "team",
        "stage",
        "entered",
        "exited",
        "censored",
        "median_days",
        "median_ci_low",
        "median_ci_high",
        "p80_days",
        "mean_exited_days",
    )
    if durations is not None
    else "> stage_durations not available (needs opportunities and stage_history)"
)

# %% [markdown]
# ## The team view
#
# The same section as the team report (the first team when none is given).

# %%
focus = team or (bundle.run.get("teams") or [None])[0]
focus_bundle = load_metrics(metrics_dir, team=focus) if focus else bundle
show(pipeline_audit.where_deals_stall_section(focus_bundle))

# %% [markdown]
# ## Deals whose close date keeps moving

# %%
show(
    stalled.filter(pl.col("close_date_pushes") >= min_pushes).sort(
        "close_date_pushes", descending=True
    )
    if stalled is not None
    else "> stalled_deals not available"
)

# %% [markdown]
# ## Exceptions per rep, and stage-history hygiene
#
# Counts are null where the data has no evidence (no close dates, or too few exits to set a
# stall threshold). Stage hygiene: deals whose history skips a stage, goes backwards, or is
# closed without ever reaching a closed stage.

# %%
show(bundle.get("pipeline_exceptions"), bundle.get("stage_hygiene"))
