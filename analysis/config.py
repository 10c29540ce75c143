"""Every threshold and default of decision-stack, declared once.

The command line (``analysis.cli``), the metrics run (``analysis.pipeline``), the
report runner (``analysis.reports.runner``), the report sections and the notebooks
all take their defaults from here; nothing else spells ``45``, ``10`` or ``70``.

Each setting says whether it is a **heuristic** (a configurable starting point, not a
fact about a team: the reports label it so) or a plain default.

Examples
--------
>>> DEFAULTS.fatigue_threshold, DEFAULTS.min_deals, DEFAULTS.hygiene_threshold
(45, 10, 70.0)
>>> SETTINGS["fatigue_threshold"].heuristic
True
>>> sorted(run_thresholds())
['fatigue_threshold', 'hygiene_threshold', 'min_deals']
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DEFAULTS",
    "SETTINGS",
    "THRESHOLD_KEYS",
    "Defaults",
    "Setting",
    "run_thresholds",
]


@dataclass(frozen=True)
class Setting:
    """One configurable value: its default, CLI flag, meaning and whether it is a heuristic."""

    name: str
    default: Any
    flag: str | None
    heuristic: bool
    help: str


_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "fatigue_threshold",
        45,
        "--fatigue-threshold",
        True,
        "decisions per rep local day above which fatigue is suspected (load line, "
        "over-threshold days)",
    ),
    Setting(
        "min_deals",
        10,
        "--min-deals",
        True,
        "closed deals a rep needs before being compared with the top performer ('too few' below)",
    ),
    Setting(
        "hygiene_threshold",
        70.0,
        "--hygiene-threshold",
        True,
        "hygiene score (0-100) at or above which a team's or rep's CRM data is trusted",
    ),
    Setting(
        "handoff_sla_hours",
        24.0,
        None,
        True,
        "hours from booking within which the AE should first touch a meeting (service level)",
    ),
    Setting(
        "stall_quantile",
        0.8,
        "--stall-quantile",
        True,
        "quantile of a stage's duration (team, stage) above which an open deal is stalled",
    ),
    Setting(
        "outcome_horizon_days",
        60,
        "--outcome-horizon-days",
        True,
        "days after booking within which a meeting's won deal counts for the BDR funnel",
    ),
    Setting(
        "bdr_exceptional_alpha",
        0.001,
        None,
        True,
        "Holm-adjusted one-sided p below which a BDR who wins more often than the rest of the "
        "team is left out of the pooled benchmark the other BDRs are compared with",
    ),
    Setting(
        "min_taxonomy_coverage",
        0.8,
        None,
        True,
        "share of activities matched by a taxonomy rule below which the report warns",
    ),
    Setting("tz", "UTC", "--tz", False, "default IANA time zone for reps without one"),
    Setting("confidence", 0.95, None, False, "level of every interval the package reports"),
    Setting("seed", 7, "--seed", False, "seed of the synthetic sample organisation"),
    Setting("quarter", "2026Q3", "--quarter", False, "quarter of the synthetic sample"),
)

#: name -> :class:`Setting`
SETTINGS: dict[str, Setting] = {s.name: s for s in _SETTINGS}

#: the thresholds a metrics run records in run.json (and the notebooks receive)
THRESHOLD_KEYS: tuple[str, ...] = ("fatigue_threshold", "min_deals", "hygiene_threshold")


@dataclass(frozen=True)
class Defaults:
    """Attribute access to the defaults: ``DEFAULTS.fatigue_threshold``."""

    fatigue_threshold: int = SETTINGS["fatigue_threshold"].default
    min_deals: int = SETTINGS["min_deals"].default
    hygiene_threshold: float = SETTINGS["hygiene_threshold"].default
    handoff_sla_hours: float = SETTINGS["handoff_sla_hours"].default
    stall_quantile: float = SETTINGS["stall_quantile"].default
    outcome_horizon_days: int = SETTINGS["outcome_horizon_days"].default
    bdr_exceptional_alpha: float = SETTINGS["bdr_exceptional_alpha"].default
    min_taxonomy_coverage: float = SETTINGS["min_taxonomy_coverage"].default
    tz: str = SETTINGS["tz"].default
    confidence: float = SETTINGS["confidence"].default
    seed: int = SETTINGS["seed"].default
    quarter: str = SETTINGS["quarter"].default


DEFAULTS = Defaults()
assert {f.name for f in fields(Defaults)} == set(SETTINGS), "Defaults and SETTINGS disagree"


def run_thresholds(**given: Any) -> dict[str, Any]:
    """The thresholds of a run: the defaults, overridden by the non-``None`` ``given``.

    Examples
    --------
    >>> run_thresholds(min_deals=5)
    {'fatigue_threshold': 45, 'min_deals': 5, 'hygiene_threshold': 70.0}
    """
    out = {k: SETTINGS[k].default for k in THRESHOLD_KEYS}
    out.update({k: v for k, v in given.items() if k in out and v is not None})
    return out
