"""File names of team reports: unique, stable, short and never a reserved name.

A team's slug is its name in lower case with runs of other characters turned into
``-`` (:func:`analysis.reports.data.team_slug`). The slugs of one run are made safe
together, over *every* team of the metrics run (not only the teams being rebuilt), so
``report --team`` writes the same file as a full run:

* at most :data:`MAX_SLUG` characters: a longer slug is cut and ends with a short hash
  of the full team name;
* never a reserved name (``index``, the index page) nor empty;
* unique case-insensitively: teams whose slugs clash (``APAC`` and ``apac``) keep the
  plain slug for the first name in sorted order and add a short hash of the exact
  name for the others, so a slug never depends on which teams are being rebuilt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from analysis.reports.data import team_slug

__all__ = ["MAX_SLUG", "RESERVED", "team_slugs"]

MAX_SLUG = 80
RESERVED = frozenset({"index"})


def _hash(team: str) -> str:
    return hashlib.sha256(team.encode("utf-8")).hexdigest()[:8]


def _base(team: str) -> str:
    slug = team_slug(team)
    if slug in RESERVED:
        slug = f"{slug}-{_hash(team)}"
    if len(slug) > MAX_SLUG:
        slug = slug[: MAX_SLUG - 9].rstrip("-") + "-" + _hash(team)
    return slug


def team_slugs(teams: Iterable[str]) -> dict[str, str]:
    """Team -> a safe, unique file-name slug (module docstring).

    Examples
    --------
    >>> s = team_slugs(["APAC", "apac", "Index", "x" * 300])
    >>> s["APAC"], s["apac"] != "apac", s["Index"].startswith("index-")
    ('apac', True, True)
    >>> len(s["x" * 300]) <= 80 and len(set(s.values())) == 4
    True
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for team in sorted(set(teams)):
        slug = _base(team)
        if slug in used:
            slug = _base(team)[: MAX_SLUG - 9].rstrip("-") + "-" + _hash(team)
        n = 2
        while slug in used:  # a hash clash: practically never
            slug = f"{slug[: MAX_SLUG - 4]}-{n}"
            n += 1
        used.add(slug)
        out[team] = slug
    return out
