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
impact_dir: str = "data/impact"  # folder written by `decision-stack impact`
change_id: str = ""  # the change to report on, exactly as in changes.change_id

# %% tags=["remove-cell"]
from analysis.reports.display import show
from analysis.reports.impact import change_header, event_study_figure, load_impact, verdict_table

impact = load_impact(impact_dir, change_id)

# %%
show(change_header(impact))

# %% [markdown]
# ## More volume, worse conversion?
#
# Each metric's change against the control reps (difference in differences), as a share of
# what the treated reps would have done without the change, with its 95% interval.

# %%
show(verdict_table(impact))

# %% [markdown]
# ## Week by week (event study)
#
# Effect per week relative to the week before the start. Weeks before the start should
# hover around 0; if they do not, the groups were already drifting apart.

# %%
show(event_study_figure(impact))
