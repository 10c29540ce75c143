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
metrics_dir: str = "reports/2026Q3/_metrics"  # metrics directory, computed once for all teams
team: str = ""  # team to report on, exactly as in reps.team
quarter: str = "2026Q3"  # period label shown in the title, e.g. 2026Q3
as_of: str = ""  # ISO datetime the data is as of; empty: take the metrics run's as_of
tz: str = "UTC"  # time zone of the as-of stamp (daily figures use each rep's own zone)
summary_path: str = ""  # key-figures JSON sidecar to write; empty: none
# Thresholds are not parameters: the report states those the metrics were computed with
# (run.json); change them with `decision-stack metrics --fatigue-threshold ...`.

# %% tags=["remove-cell"]
from analysis.reports import pipeline_audit, sections
from analysis.reports.data import load_metrics
from analysis.reports.display import show
from analysis.reports.summary import write_summary
from analysis.reports.trend import trend_section

bundle = load_metrics(metrics_dir, team=team)
as_of = as_of or str(bundle.run.get("as_of", ""))

# %%
show(sections.header(bundle, team=team, quarter=quarter, as_of=as_of, tz=tz))

# %%
show(trend_section(bundle))

# %% [markdown]
# ## 1. Data trust
#
# Can these numbers be trusted? The hygiene score measures how complete and consistent the
# CRM data is; the quarantine counts show the input rows set aside, and why.

# %%
show(sections.data_trust_section(bundle))

# %% [markdown]
# ## 2. The decision stack
#
# ### 2.1 Decision load, judgment versus pattern recognition, and what could be automated

# %%
show(sections.decision_load_section(bundle))

# %% [markdown]
# ### 2.2 Taxonomy coverage
#
# How much of the activity log the taxonomy classified, and the most common shapes it did not.

# %%
show(sections.taxonomy_section(bundle))

# %% [markdown]
# ### 2.3 Fatigue: decision quality through the day

# %%
show(sections.fatigue_section(bundle))

# %% [markdown]
# ## 3. BDR funnel
#
# Won deals per booked meeting, per BDR, with 95% intervals. Flagged BDRs book many
# meetings that turn into few wins.

# %%
show(sections.bdr_section(bundle))

# %% [markdown]
# ## 4. Handoff latency
#
# Hours from a BDR booking a meeting to the AE's first touch on that lead or opportunity.

# %%
show(sections.handoff_section(bundle))

# %% [markdown]
# ## 5. Skill gaps
#
# Shrunk win rates per rep with 95% intervals, against the team's top performer. Reps
# with too few closed deals are shown but not compared.

# %%
show(sections.skill_gap_section(bundle))

# %% [markdown]
# ## 6. Where deals stall
#
# Time in each stage, with deals still sitting in it counted (Kaplan–Meier, censored at
# the data's as-of time), how each stage's entries ended, and the open deals a manager
# should look at: stalled, pushed twice or more, or past their expected close date.

# %%
show(pipeline_audit.where_deals_stall_section(bundle))

# %% [markdown]
# ## 7. Definitions and thresholds

# %%
show(sections.definitions_section(bundle, tz=tz))

# %% tags=["remove-cell"]
key_figures = write_summary(bundle, summary_path)
