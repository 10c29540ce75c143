"""Change over time: did a rollout help? (difference in differences, CONTRACT 5.4).

Data flow: clean canonical tables -> per-metric *events* (:mod:`analysis.impact.panels`)
-> rep-week panels aligned on each change's start -> stacked Poisson difference in
differences with rep and week fixed effects (:mod:`analysis.impact.did`) -> the
``impact`` and ``impact_weekly`` tables (:mod:`analysis.impact.run`).
"""
