"""Activity templates of the synthetic sales organisation.

Every template is an ``(activity_type, subject)`` pair with the decision the
*default* taxonomy (``analysis/decisions/default_taxonomy.toml``) gives it. The
sample generator draws activities from these lists, so the decision mix of the
sample data is known exactly; ``tests/test_sample_catalogue.py`` checks each
template against the shipped taxonomy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One kind of activity a rep logs.

    Attributes
    ----------
    activity_type, subject
        What is written to ``activities.csv``.
    decision
        The decision the default taxonomy assigns (``unclassified`` when no rule matches).
    quality
        Probability that the activity carries a quality outcome (``positive`` or
        ``negative``); otherwise one of ``other`` is written ("" = empty).
    other
        Outcomes that are neither positive nor negative in the default taxonomy.
    """

    activity_type: str
    subject: str
    decision: str
    quality: float
    other: tuple[str, ...]


_CALL_MISS = ("no_answer", "voicemail")
_SENT = ("sent",)
_DONE = ("completed",)
_EMPTY = ("",)

#: Background activity of BDRs: (template, weight). Mostly pattern recognition.
BDR_MIX: tuple[tuple[Template, float], ...] = (
    # prioritization
    (Template("call", "Intro call", "prioritization", 0.40, _CALL_MISS), 0.12),
    (Template("call", "Cold call: new lead", "prioritization", 0.35, _CALL_MISS), 0.06),
    (Template("email", "Intro email", "prioritization", 0.20, _SENT), 0.07),
    (Template("email", "Initial outreach", "prioritization", 0.20, _SENT), 0.04),
    (Template("linkedin", "LinkedIn intro", "prioritization", 0.20, _SENT), 0.05),
    # sequencing
    (Template("call", "Follow-up call", "sequencing", 0.40, _CALL_MISS), 0.10),
    (Template("email", "Follow-up #2", "sequencing", 0.20, _SENT), 0.06),
    (Template("email", "Follow-up #3", "sequencing", 0.20, _SENT), 0.04),
    (Template("email", "Step 4: bump", "sequencing", 0.20, _SENT), 0.04),
    (Template("email", "Re: quick question", "sequencing", 0.25, _SENT), 0.04),
    (Template("linkedin", "Check-in", "sequencing", 0.20, _SENT), 0.03),
    (Template("task", "Cadence reminder", "sequencing", 0.0, _DONE), 0.02),
    (Template("call", "Call", "sequencing", 0.30, _CALL_MISS), 0.03),
    # next best action
    (Template("email", "Sent case study", "next_best_action", 0.15, _SENT), 0.04),
    (Template("email", "Share deck", "next_best_action", 0.15, _SENT), 0.03),
    (Template("email", "Send calendar invite", "next_best_action", 0.10, _SENT), 0.03),
    (Template("task", "Schedule meeting", "next_best_action", 0.0, _DONE), 0.02),
    # qualification
    (Template("call", "Qualification call", "qualification", 0.80, _DONE), 0.05),
    (Template("call", "BANT check", "qualification", 0.80, _DONE), 0.03),
    # objection handling
    (Template("call", "Pricing objection", "objection_handling", 0.80, _DONE), 0.02),
    (Template("email", "Not now - timing", "objection_handling", 0.50, _SENT), 0.02),
    (Template("call", "Competitor mention", "objection_handling", 0.70, _DONE), 0.01),
    # no rule matches
    (Template("task", "Update CRM", "unclassified", 0.0, ("completed", "")), 0.02),
    (Template("note", "Internal sync", "unclassified", 0.0, _EMPTY), 0.015),
    (Template("task", "List building", "unclassified", 0.0, _DONE), 0.015),
)

#: Work on a deal: judgment-heavy templates used for AE activity on opportunities.
AE_DEAL_WORK: tuple[tuple[Template, float], ...] = (
    (Template("call", "Discovery call", "qualification", 0.85, _DONE), 0.09),
    (Template("meeting", "Product demo", "qualification", 0.85, _DONE), 0.06),
    (Template("call", "Needs analysis", "qualification", 0.85, _DONE), 0.04),
    (Template("call", "Pricing objection", "objection_handling", 0.80, _DONE), 0.04),
    (
        Template("email", "Security review questions", "objection_handling", 0.60, _SENT),
        0.03,
    ),
    (Template("call", "Competitor concern", "objection_handling", 0.80, _DONE), 0.04),
    (
        Template("meeting", "Budget freeze push back", "objection_handling", 0.80, _DONE),
        0.04,
    ),
    (Template("email", "Proposal review", "close_strategy", 0.60, _SENT), 0.06),
    (Template("call", "Pricing discussion", "close_strategy", 0.80, _DONE), 0.05),
    (Template("email", "Contract redline", "close_strategy", 0.60, _SENT), 0.04),
    (Template("call", "Negotiation call", "close_strategy", 0.80, _DONE), 0.04),
    (Template("task", "Close plan", "close_strategy", 0.0, _DONE), 0.03),
    (Template("email", "Order form sent", "close_strategy", 0.50, _SENT), 0.02),
)

#: Background activity of AEs: more judgment (qualification, objections, close strategy).
AE_MIX: tuple[tuple[Template, float], ...] = (
    # prioritization
    (Template("call", "Intro call", "prioritization", 0.40, _CALL_MISS), 0.03),
    (Template("email", "Intro email", "prioritization", 0.20, _SENT), 0.02),
    # sequencing
    (Template("email", "Follow-up #1", "sequencing", 0.25, _SENT), 0.04),
    (Template("call", "Check-in call", "sequencing", 0.50, _CALL_MISS), 0.04),
    (Template("task", "Follow-up reminder", "sequencing", 0.0, _DONE), 0.03),
    # next best action
    (Template("email", "Send recap", "next_best_action", 0.20, _SENT), 0.05),
    (Template("email", "Share case study", "next_best_action", 0.20, _SENT), 0.03),
    (Template("meeting", "Next steps sync", "next_best_action", 0.60, _DONE), 0.03),
    (Template("task", "Book follow-on meeting", "next_best_action", 0.0, _DONE), 0.03),
    # qualification, objections, close strategy
    *AE_DEAL_WORK,
    (Template("note", "SPINE qualification notes", "qualification", 0.0, _EMPTY), 0.04),
    (Template("meeting", "Customer meeting", "qualification", 0.80, _DONE), 0.04),
    # no rule matches
    (Template("task", "Update CRM", "unclassified", 0.0, ("completed", "")), 0.02),
    (Template("note", "Internal sync", "unclassified", 0.0, _EMPTY), 0.01),
    (Template("task", "Expense report", "unclassified", 0.0, _DONE), 0.01),
)

#: Managers log a little admin and deal review; never quality-bearing.
MANAGER_MIX: tuple[tuple[Template, float], ...] = (
    (Template("note", "1:1 coaching", "unclassified", 0.0, _EMPTY), 0.4),
    (Template("task", "Pipeline review", "unclassified", 0.0, _DONE), 0.3),
    (Template("note", "Deal review: pricing", "close_strategy", 0.0, _EMPTY), 0.3),
)

#: The BDR's activity at the moment a meeting is booked (``booked_at``).
BOOKING = Template("call", "Book meeting", "next_best_action", 0.0, _DONE)
#: The AE's first touch on a booked meeting's lead.
TOUCH_EMAIL = Template("email", "Intro email", "prioritization", 0.20, _SENT)
TOUCH_CALL = Template("call", "Intro call", "prioritization", 0.40, _CALL_MISS)
#: The AE's activity for a held meeting, at ``scheduled_for``.
HELD_MEETING = Template("meeting", "Discovery meeting", "qualification", 0.85, _DONE)

#: Opportunity stages in order; a lost deal leaves after any of the first four.
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
STAGE_DECISION = {
    "Prospecting": "qualification",
    "Qualification": "qualification",
    "Proposal": "close_strategy",
    "Negotiation": "close_strategy",
    WON_STAGE: "close_strategy",
    LOST_STAGE: "close_strategy",
}
#: One stage_change template per stage (subject ``Stage: <stage>``, no outcome).
STAGE_CHANGES = {
    stage: Template("stage_change", f"Stage: {stage}", decision, 0.0, _EMPTY)
    for stage, decision in STAGE_DECISION.items()
}

DECISION_CLASS = {
    "prioritization": "pattern_recognition",
    "sequencing": "pattern_recognition",
    "next_best_action": "pattern_recognition",
    "qualification": "judgment",
    "objection_handling": "judgment",
    "close_strategy": "judgment",
    "unclassified": "unclassified",
}


def all_templates() -> list[Template]:
    """Every distinct template the generator can write, in a fixed order.

    Examples
    --------
    >>> any(t.subject == "Intro call" for t in all_templates())
    True
    """
    seen: dict[tuple[str, str], Template] = {}
    mixes = (BDR_MIX, AE_MIX, MANAGER_MIX, AE_DEAL_WORK)
    extra = (BOOKING, TOUCH_EMAIL, TOUCH_CALL, HELD_MEETING, *STAGE_CHANGES.values())
    for template in [t for mix in mixes for t, _ in mix] + list(extra):
        key = (template.activity_type, template.subject)
        if seen.setdefault(key, template) != template:
            raise AssertionError(f"two different templates for {key}")
    return list(seen.values())
