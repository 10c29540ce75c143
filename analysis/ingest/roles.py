"""Rep roles and teams: the roles mapping TOML and the ``--reps`` CSV.

The roles file maps CRM role (or team) names to canonical roles and teams.
Rules are tried in file order; the first whose regular expression matches wins::

    [[rules]]
    match = "(?i)\\b(bdr|sdr)\\b"        # regex on the Salesforce UserRole name / HubSpot team
    role = "BDR"
    team = "EMEA"                        # optional constant team

    [[rules]]
    match = "(?i)^(?P<team>.+?)\\s+(AE|Account Executive)$"   # named group 'team' gives the team
    role = "AE"

Without ``team`` or a ``(?P<team>...)`` group the team is the matched name itself.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.canonical.schemas import ROLE_ALIASES, ROLES
from analysis.errors import BadInputError
from analysis.ingest.common import (
    MALFORMED,
    MALFORMED_ROW,
    REASON,
    ROW,
    field,
    footer_reason,
    normalise_headers,
    read_csv_text,
    sf_id,
    text,
)

UNASSIGNED_TEAM = "Unassigned"


@dataclass(frozen=True)
class RoleRule:
    """One rule of the roles mapping."""

    pattern: str
    role: str
    team: str | None
    team_group: int | None


def load_roles(path: Path) -> list[RoleRule]:
    """Read and check a roles mapping TOML; errors are one line naming the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "roles.toml"
    >>> _ = p.write_text('[[rules]]\\nmatch = "(?i)sdr"\\nrole = "SDR"\\n')
    >>> load_roles(p)[0].role
    'BDR'
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise BadInputError(f"bad roles file ({' '.join(str(err).split())})", file=path) from None
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise BadInputError("roles file needs at least one [[rules]] table", file=path)
    out = []
    for i, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or "match" not in rule or "role" not in rule:
            raise BadInputError(f"rule {i} needs 'match' and 'role'", file=path)
        role = str(rule["role"]).strip().upper()
        role = ROLE_ALIASES.get(role, role)
        if role not in ROLES:
            raise BadInputError(
                f"rule {i}: role {rule['role']!r} is not one of {', '.join(ROLES)}", file=path
            )
        try:
            compiled = re.compile(str(rule["match"]))
            pl.select(
                pl.lit("x").str.contains(str(rule["match"]))
            )  # the regex must also be valid for polars
        except (re.error, pl.exceptions.PolarsError) as err:
            raise BadInputError(
                f"rule {i}: bad regular expression ({' '.join(str(err).split())})", file=path
            ) from None
        out.append(
            RoleRule(str(rule["match"]), role, rule.get("team"), compiled.groupindex.get("team"))
        )
    return out


def apply_roles(name: pl.Expr, rules: list[RoleRule]) -> tuple[pl.Expr, pl.Expr]:
    """(role, team) expressions for a role/team name column; null where no rule matches.

    Examples
    --------
    >>> rules = [RoleRule("(?i)^(?P<team>\\\\w+) BDR$", "BDR", None, 1), RoleRule("(?i)AE", "AE", "Core", None)]
    >>> role, team = apply_roles(pl.col("n"), rules)
    >>> pl.DataFrame({"n": ["EMEA BDR", "NA AE", "CEO"]}).select(role, team).rows()
    [('BDR', 'EMEA'), ('AE', 'Core'), (None, None)]
    """
    if not rules:
        return pl.lit(None, pl.String).alias("role"), pl.lit(None, pl.String).alias("team")
    value = text(name)

    def chain(pick):
        expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
        for rule in rules:
            expr = expr.when(value.str.contains(rule.pattern).fill_null(False)).then(pick(rule))
        return expr.otherwise(pl.lit(None, pl.String))

    def team_of(rule: RoleRule) -> pl.Expr:
        if rule.team is not None:
            return pl.lit(str(rule.team))
        if rule.team_group is not None:
            return pl.coalesce([text(value.str.extract(rule.pattern, rule.team_group)), value])
        return value

    return chain(lambda r: pl.lit(r.role)).alias("role"), chain(team_of).alias("team")


#: the bookkeeping columns of :func:`read_reps_csv` (not canonical columns)
READ_COLUMNS = (ROW, REASON, MALFORMED)


def read_reps_csv(path: Path, *, salesforce_ids: bool = False) -> pl.LazyFrame:
    """A canonical reps CSV (``rep_id, name?, role, team, manager_id?, timezone?``), any header case.

    Also ``_source_row``, ``_reason`` (``malformed_row`` for a line that did not parse,
    else null) and, when a line did not parse, ``_malformed_line`` (see
    :func:`analysis.ingest.common.read_csv_text`); drop them with :data:`READ_COLUMNS`.
    """
    frame = normalise_headers(read_csv_text(path))
    cols = frame.collect_schema().names()
    if not {"repid", "role", "team"} <= set(cols):
        missing = next(c for c in ("rep_id", "role", "team") if c.replace("_", "") not in cols)
        raise BadInputError("missing required column", file=path, column=missing)
    ident = sf_id if salesforce_ids else text
    return frame.select(
        ident(pl.col("repid")).alias("rep_id"),
        field(cols, "name").alias("name"),
        field(cols, "role").alias("role"),
        field(cols, "team").alias("team"),
        ident(field(cols, "managerid")).alias("manager_id"),
        field(cols, "timezone").alias("timezone"),
        pl.col(ROW),
        pl.when(footer_reason(cols) == MALFORMED_ROW).then(pl.lit(MALFORMED_ROW)).alias(REASON),
        *([pl.col(MALFORMED)] if MALFORMED in cols else []),
    )


def infer_roles(
    ids: pl.LazyFrame, *, opportunity_owners: pl.LazyFrame, bookers: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """Guess roles for reps without a mapped role (a labelled heuristic, always warned about).

    An opportunity owner is an AE; anyone else (activity owners, meeting bookers) is a BDR.
    ``ids`` has ``rep_id``; returns ``rep_id, inferred_role``.
    """
    owners = opportunity_owners.select(pl.col("rep_id")).unique().with_columns(_owns=pl.lit(True))
    del bookers  # booking for someone else already implies BDR, the default
    return ids.join(owners, on="rep_id", how="left").select(
        "rep_id",
        pl.when(pl.col("_owns").fill_null(False))
        .then(pl.lit("AE"))
        .otherwise(pl.lit("BDR"))
        .alias("inferred_role"),
    )
