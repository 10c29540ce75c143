"""The decision taxonomy: which logged activity is which decision (CONTRACT section 3).

A taxonomy is a TOML file with ``[classes]`` (decision -> class), ``[quality]``
(outcome -> decision quality for the fatigue analysis) and ordered ``[[rules]]``.
The first rule that matches an activity wins; an activity no rule matches is
``unclassified``. The package ships a default (``default_taxonomy.toml``);
``--taxonomy FILE`` replaces it whole.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from analysis.errors import BadInputError

#: The decision classes a taxonomy may declare (CONTRACT: pattern_recognition, judgment).
DECISION_CLASSES = ("pattern_recognition", "judgment")
#: Decision and class of an activity that no rule matches.
UNCLASSIFIED = "unclassified"

_DEFAULT = "default_taxonomy.toml"
_TOP_KEYS = {"classes", "quality", "rules", "name", "version", "description"}
_RULE_KEYS = {"id", "decision", "activity_type", "subject_matches", "outcome", "first_touch"}


def normalise_outcome(text: str) -> str:
    """Normalise an outcome the way activities are matched: lower case, ``_`` for spaces/hyphens.

    Examples
    --------
    >>> normalise_outcome("  Meeting-Booked ")
    'meeting_booked'
    """
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


@dataclass(frozen=True)
class Rule:
    """One classification rule; every condition given must hold."""

    id: str
    decision: str
    activity_type: tuple[str, ...]
    subject_matches: str | None = None
    outcome: tuple[str, ...] | None = None
    first_touch: bool = False


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy.

    Attributes
    ----------
    classes
        decision name -> decision class (``pattern_recognition`` or ``judgment``).
    quality_positive, quality_negative
        Normalised outcomes that count as a good / bad decision in the fatigue fit.
    rules
        Rules in file order; the first match wins.
    source
        Where the taxonomy was read from (for messages and the report).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> tax.classes["qualification"]
    'judgment'
    >>> tax.rules[0].id
    'stage-change-close'
    """

    classes: dict[str, str]
    quality_positive: tuple[str, ...]
    quality_negative: tuple[str, ...]
    rules: tuple[Rule, ...]
    source: str = "default"

    @property
    def decisions(self) -> tuple[str, ...]:
        """Every decision name the taxonomy declares."""
        return tuple(self.classes)

    @property
    def uses_first_touch(self) -> bool:
        """True when some rule needs the rep's first activity per lead."""
        return any(rule.first_touch for rule in self.rules)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy TOML file (``None``: the packaged default).

    Raises
    ------
    BadInputError
        One line naming the file: unreadable file, bad TOML, a missing or unknown key,
        a wrong type, an unknown decision or class, a duplicate rule id, or a regular
        expression polars cannot run (polars uses Rust regex: no look-around, no
        backreferences).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> sorted(set(tax.classes.values()))
    ['judgment', 'pattern_recognition']
    """
    if path is None:
        source = f"analysis/decisions/{_DEFAULT}"
        text = resources.files("analysis.decisions").joinpath(_DEFAULT).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"cannot read taxonomy: {err}", file=source) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadInputError(f"not valid TOML: {err}", file=source) from None
    return _parse(raw, source)


def _fail(message: str, source: str) -> BadInputError:
    return BadInputError(f"taxonomy: {message}", file=source)


def _str_list(value: Any, where: str, source: str, *, allow_str: bool = True) -> list[str]:
    if allow_str and isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(f"{where} must be a list of non-empty strings", source)
    return [v.strip() for v in value]


def _parse(raw: dict[str, Any], source: str) -> Taxonomy:
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _fail(
            f"unknown key(s) {', '.join(unknown)} (expected classes, quality, rules)", source
        )
    for key in ("classes", "quality", "rules"):
        if key not in raw:
            raise _fail(f"missing [{key}]" if key != "rules" else "missing [[rules]]", source)

    classes_raw = raw["classes"]
    if not isinstance(classes_raw, dict) or not classes_raw:
        raise _fail("[classes] must be a table of class = [decisions]", source)
    classes: dict[str, str] = {}
    for cls, decisions in classes_raw.items():
        if cls not in DECISION_CLASSES:
            raise _fail(
                f"unknown class {cls!r} in [classes] (expected {' or '.join(DECISION_CLASSES)})",
                source,
            )
        for decision in _str_list(decisions, f"[classes].{cls}", source, allow_str=False):
            if decision == UNCLASSIFIED:
                raise _fail(f"{UNCLASSIFIED!r} is reserved and cannot be a decision", source)
            if decision in classes and classes[decision] != cls:
                raise _fail(f"decision {decision!r} is listed in two classes", source)
            classes[decision] = cls

    quality_raw = raw["quality"]
    if not isinstance(quality_raw, dict):
        raise _fail("[quality] must be a table with positive and negative lists", source)
    extra = sorted(set(quality_raw) - {"positive", "negative"})
    if extra:
        raise _fail(f"unknown key(s) {', '.join(extra)} in [quality]", source)
    quality: dict[str, tuple[str, ...]] = {}
    for key in ("positive", "negative"):
        if key not in quality_raw:
            raise _fail(f"missing [quality].{key}", source)
        values = _str_list(quality_raw[key], f"[quality].{key}", source, allow_str=False)
        quality[key] = tuple(dict.fromkeys(normalise_outcome(v) for v in values))
    both = sorted(set(quality["positive"]) & set(quality["negative"]))
    if both:
        raise _fail(f"outcome(s) {', '.join(both)} are both positive and negative", source)

    rules_raw = raw["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise _fail("[[rules]] must be a non-empty array of tables", source)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, rule_raw in enumerate(rules_raw, start=1):
        rules.append(_parse_rule(rule_raw, i, classes, seen, source))
    return Taxonomy(
        classes=classes,
        quality_positive=quality["positive"],
        quality_negative=quality["negative"],
        rules=tuple(rules),
        source=source,
    )


def _parse_rule(
    rule_raw: Any, i: int, classes: dict[str, str], seen: set[str], source: str
) -> Rule:
    if not isinstance(rule_raw, dict):
        raise _fail(f"rule #{i} must be a table", source)
    rule_id = rule_raw.get("id")
    where = f"rule #{i}" if not isinstance(rule_id, str) else f"rule {rule_id!r}"
    unknown = sorted(set(rule_raw) - _RULE_KEYS)
    if unknown:
        raise _fail(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_RULE_KEYS))})",
            source,
        )
    for key in ("id", "decision", "activity_type"):
        if key not in rule_raw:
            raise _fail(f"{where}: missing key {key!r}", source)
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise _fail(f"{where}: id must be a non-empty string", source)
    if rule_id in seen:
        raise _fail(f"duplicate rule id {rule_id!r}", source)
    seen.add(rule_id)
    decision = rule_raw["decision"]
    if not isinstance(decision, str):
        raise _fail(f"{where}: decision must be a string", source)
    if decision not in classes:
        raise _fail(
            f"{where}: unknown decision {decision!r} (not listed in [classes]: "
            f"{', '.join(classes)})",
            source,
        )
    types = _str_list(rule_raw["activity_type"], f"{where}: activity_type", source)
    if not types:
        raise _fail(f"{where}: activity_type must list at least one type", source)
    pattern = rule_raw.get("subject_matches")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise _fail(f"{where}: subject_matches must be a non-empty string", source)
        _check_regex(pattern, where, source)
    outcome = None
    if "outcome" in rule_raw:
        values = _str_list(rule_raw["outcome"], f"{where}: outcome", source)
        outcome = tuple(dict.fromkeys(normalise_outcome(v) for v in values))
    first_touch = rule_raw.get("first_touch", False)
    if not isinstance(first_touch, bool):
        raise _fail(f"{where}: first_touch must be true or false", source)
    return Rule(
        id=rule_id,
        decision=decision,
        activity_type=tuple(dict.fromkeys(t.lower() for t in types)),
        subject_matches=pattern,
        outcome=outcome,
        first_touch=first_touch,
    )


def _check_regex(pattern: str, where: str, source: str) -> None:
    """Reject a pattern polars (Rust regex) cannot compile; explain look-around/backrefs."""
    try:
        pl.Series("s", ["probe"], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as err:
        try:
            re.compile(pattern)
        except re.error as py_err:
            raise _fail(f"{where}: bad regular expression {pattern!r}: {py_err}", source) from None
        detail = (
            str(err).split("error:")[-1].strip().splitlines()[0] if "error:" in str(err) else ""
        )
        raise _fail(
            f"{where}: regular expression {pattern!r} is not supported by polars (Rust regex: "
            f"no look-around, no backreferences){': ' + detail if detail else ''}",
            source,
        ) from None
