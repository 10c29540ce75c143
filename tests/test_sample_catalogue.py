"""The sample generator's activity templates classify as intended under the default taxonomy."""

from __future__ import annotations

import pytest
from sample_fixtures import classify

from analysis.sample import catalogue as cat


@pytest.mark.parametrize(
    "template", cat.all_templates(), ids=lambda t: f"{t.activity_type}:{t.subject}"
)
def test_template_gets_its_decision_from_the_default_taxonomy(template: cat.Template) -> None:
    assert classify(template.activity_type, template.subject) == template.decision


def test_quality_outcomes_are_outside_the_taxonomy_quality_lists() -> None:
    # Non-quality outcomes must not count as positive or negative in the fatigue fit.
    import tomllib

    from sample_fixtures import TAXONOMY

    quality = tomllib.loads(TAXONOMY.read_text())["quality"]
    listed = set(quality["positive"]) | set(quality["negative"])
    others = {o for t in cat.all_templates() for o in t.other}
    assert others.isdisjoint(listed)
    assert "positive" in quality["positive"] and "negative" in quality["negative"]


@pytest.mark.parametrize(
    ("mix", "klass", "low"),
    [
        (cat.BDR_MIX, "pattern_recognition", 0.75),
        (cat.AE_MIX, "judgment", 0.60),
    ],
)
def test_role_mixes_lean_the_planted_way(mix, klass: str, low: float) -> None:
    total = sum(w for _, w in mix)
    share = sum(w for t, w in mix if cat.DECISION_CLASS[t.decision] == klass) / total
    unclassified = sum(w for t, w in mix if t.decision == "unclassified") / total
    assert total == pytest.approx(1.0)
    assert share > low
    assert 0.03 <= unclassified <= 0.05
