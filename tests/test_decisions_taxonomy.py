"""Taxonomy loading and validation (CONTRACT section 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.decisions.taxonomy import load_taxonomy, normalise_outcome
from analysis.errors import BadInputError

GOOD = """
[classes]
pattern_recognition = ["sequencing"]
judgment = ["qualification"]

[quality]
positive = ["Connected"]
negative = ["no answer"]

[[rules]]
id = "disc"
decision = "qualification"
activity_type = ["CALL"]
subject_matches = "(?i)discovery"
outcome = ["Meeting-Booked"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tax.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_taxonomy_keeps_rule_ids_and_classes():
    tax = load_taxonomy()
    assert [r.id for r in tax.rules] == [
        "stage-change-close",
        "stage-change-qualify",
        "objection",
        "close-plan",
        "discovery",
        "first-touch",
        "follow-up",
        "next-step",
        "bare-outbound-touch",
        "bare-meeting",
    ]
    assert tax.classes["prioritization"] == "pattern_recognition"
    assert tax.classes["objection_handling"] == "judgment"
    assert len(tax.classes) == 6
    assert "meeting_booked" in tax.quality_positive


def test_custom_taxonomy_is_normalised(tmp_path):
    tax = load_taxonomy(write(tmp_path, GOOD))
    rule = tax.rules[0]
    assert rule.activity_type == ("call",)
    assert rule.outcome == ("meeting_booked",)
    assert tax.quality_positive == ("connected",)
    assert tax.quality_negative == ("no_answer",)
    assert tax.source.endswith("tax.toml")


def test_normalise_outcome():
    assert normalise_outcome(" No - Answer ") == "no_answer"


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            'decision = "qualification"',
            'decision = "gut_feeling"',
            "unknown decision 'gut_feeling'",
        ),
        ('"(?i)discovery"', '"(unclosed"', "bad regular expression"),
        ('"(?i)discovery"', '"(?<=x)discovery"', "not supported by polars"),
        ('"(?i)discovery"', '"(a)\\\\1"', "backreferences"),
        ('id = "disc"\n', "", "missing key 'id'"),
        ('activity_type = ["CALL"]\n', "", "missing key 'activity_type'"),
        ("[quality]", "[quality_x]", "unknown key(s) quality_x"),
        ('activity_type = ["CALL"]', "activity_type = 3", "activity_type must be a list"),
        (
            'subject_matches = "(?i)discovery"',
            'subject_match = "x"',
            "unknown key(s) subject_match",
        ),
        ("judgment = [", "gut = [", "unknown class 'gut'"),
        ('positive = ["Connected"]', 'positive = ["no answer"]', "both positive and negative"),
    ],
)
def test_validation_errors_are_one_line_naming_the_file(tmp_path, old, new, needle):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(BadInputError) as info:
        load_taxonomy(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(path))
    assert needle in text


def test_missing_classes_and_rules(tmp_path):
    no_classes = GOOD.split("[quality]")[1]
    with pytest.raises(BadInputError, match=r"missing \[classes\]"):
        load_taxonomy(write(tmp_path, "[quality]" + no_classes))
    no_rules = GOOD.split("[[rules]]")[0]
    with pytest.raises(BadInputError, match=r"missing \[\[rules\]\]"):
        load_taxonomy(write(tmp_path, no_rules))


def test_duplicate_rule_id(tmp_path):
    text = GOOD + '\n[[rules]]\nid = "disc"\ndecision = "sequencing"\nactivity_type = ["email"]\n'
    with pytest.raises(BadInputError, match="duplicate rule id 'disc'"):
        load_taxonomy(write(tmp_path, text))


def test_unreadable_and_invalid_toml(tmp_path):
    with pytest.raises(BadInputError, match="cannot read taxonomy"):
        load_taxonomy(tmp_path / "nope.toml")
    with pytest.raises(BadInputError, match="not valid TOML") as info:
        load_taxonomy(write(tmp_path, "[classes\n"))
    assert "\n" not in str(info.value)
