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
team: str = ""  # team to review, exactly as in reps.team
role: str = ""  # only reps of this role (AE, AM, BDR); empty: every role

# %% tags=["remove-cell"]
import polars as pl

from analysis.reports import plots, sections, tables
from analysis.reports.data import load_metrics
from analysis.reports.display import show

bundle = load_metrics(metrics_dir, team=team)
gaps = bundle.skill_gaps
if gaps is not None and role:
    gaps = gaps.filter(pl.col("role") == role)
min_deals = int(bundle.threshold("min_deals"))

# %% [markdown]
# # Close-rate gaps per rep
#
# Each rep's win rate is shrunk toward the team (reps with few deals move most) and
# shown with its 95% interval. Reps with fewer closed deals than the floor are marked
# *too few*: shown, never ranked. The dashed line is the team's top performer.

# %%
show(
    f"**{team or 'all teams'}**{', role ' + role if role else ''}, period "
    f"{bundle.period.get('label', '?')}, floor: {min_deals} closed deals (a heuristic)."
)
show(sections.trust_warning(bundle, table="skill_gaps"))
if gaps is None:
    show(f"> {bundle.unavailable_note('skill_gaps')}.")
elif gaps.height == 0:
    show(f"> No rep of **{team}** closed or owns a deal in this period.")
else:
    show(plots.skill_gap_forest(gaps, team=team), tables.skill_gap_table(gaps))

# %% [markdown]
# *How to read it*: overlapping intervals mean the data cannot tell the reps apart yet.
# "vs top performer" is the shrunk win rate divided by the top performer's.
