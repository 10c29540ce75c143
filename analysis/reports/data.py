"""Load a metrics directory for one team: the only way report notebooks get data.

Notebooks never recompute a metric: they read the tables ``run_metrics`` wrote once for
all teams and filter them to their team (the same tables, the same definitions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from analysis import registry
from analysis.errors import BadInputError

__all__ = [
    "EAGER_TABLES",
    "REP_COLUMNS",
    "TABLE_NEEDS",
    "MetricsBundle",
    "MetricsNotFoundError",
    "UnknownTeamError",
    "load_metrics",
    "resolve_metrics_dir",
    "rep_display_names",
    "team_slug",
    "with_rep_names",
]

#: id column -> the display-name column ``load_metrics`` adds next to it
REP_COLUMNS: dict[str, str] = {
    "rep_id": "rep_name",
    "bdr_id": "bdr_name",
    "ae_id": "ae_name",
    "owner_id": "owner_name",
    "top_performer_rep_id": "top_performer_name",
}

#: tables loaded eagerly (small: one row per rep, rep-day, meeting or bin): every
#: registered output table except the lazy ones (``decisions``), see analysis/registry.py
EAGER_TABLES: tuple[str, ...] = registry.names(eager=True)

#: metric table -> canonical input tables it needs (for "not available" notes when
#: quality.json does not say more), from the registry
TABLE_NEEDS: dict[str, tuple[str, ...]] = {
    name: tuple(t for t in spec.needs if t != "reps") for name, spec in registry.TABLES.items()
}


def team_slug(team: str) -> str:
    """File-name slug of a team: lower case, runs of non-alphanumerics become ``-``.

    Examples
    --------
    >>> team_slug("Mid-Market West")
    'mid-market-west'
    >>> team_slug("  EMEA / Nordics ")
    'emea-nordics'
    """
    slug = re.sub(r"[^0-9a-z]+", "-", team.lower()).strip("-")
    return slug or "team"


def rep_display_names(reps: pl.DataFrame) -> pl.DataFrame:
    """``rep_id`` -> ``rep_name``: the name a manager reads, unique within each team.

    The rep's ``name`` (trimmed); the id where the name is missing or blank. Reps of the
    same team sharing a name get a number, in ``rep_id`` order: ``Ana Diaz (1)``,
    ``Ana Diaz (2)``. The id stays in the metric frames next to the name.

    Examples
    --------
    >>> reps = pl.DataFrame({"rep_id": ["r2", "r1", "r3", "r4"], "team": ["A", "A", "A", "B"],
    ...                      "name": ["Ana Diaz", "Ana Diaz", " ", "Ana Diaz"]})
    >>> rep_display_names(reps).sort("rep_id").rows()
    [('r1', 'Ana Diaz (1)'), ('r2', 'Ana Diaz (2)'), ('r3', 'r3'), ('r4', 'Ana Diaz')]
    """
    team = pl.col("team") if "team" in reps.columns else pl.lit("")
    name = (
        pl.col("name").cast(pl.String).str.strip_chars()
        if "name" in reps.columns
        else pl.lit(None, pl.String)
    )
    base = pl.when(name.is_null() | (name == "")).then(pl.col("rep_id")).otherwise(name)
    return (
        reps.select(pl.col("rep_id").cast(pl.String), team.alias("_team"), base.alias("_base"))
        .unique("rep_id", keep="first", maintain_order=True)
        .with_columns(
            _n=pl.len().over("_team", "_base"),
            _k=pl.col("rep_id").rank("ordinal").over("_team", "_base"),
        )
        .select(
            "rep_id",
            rep_name=pl.when(pl.col("_n") > 1)
            .then(pl.format("{} ({})", "_base", pl.col("_k")))
            .otherwise("_base"),
        )
    )


def with_rep_names(df: pl.DataFrame, names: pl.DataFrame | None) -> pl.DataFrame:
    """Add a display-name column next to every rep id column (see :data:`REP_COLUMNS`).

    Ids without a name keep the id as their name. ``names`` is
    :func:`rep_display_names`' output, or ``None`` (names are then the ids).

    Examples
    --------
    >>> names = pl.DataFrame({"rep_id": ["r1"], "rep_name": ["Ana Diaz"]})
    >>> with_rep_names(pl.DataFrame({"bdr_id": ["r1", "r9", None]}), names).rows()
    [('r1', 'Ana Diaz'), ('r9', 'r9'), (None, None)]
    """
    mapping: dict[str, str] = (
        {}
        if names is None
        else dict(zip(names["rep_id"].to_list(), names["rep_name"].to_list(), strict=True))
    )
    out = df
    for id_col, name_col in REP_COLUMNS.items():
        if id_col not in out.columns or name_col in out.columns:
            continue
        ids = pl.col(id_col).cast(pl.String)
        named = ids.replace_strict(mapping, default=ids, return_dtype=pl.String)
        out = out.with_columns(named.alias(name_col))
        order = list(out.columns)
        order.remove(name_col)
        order.insert(order.index(id_col) + 1, name_col)
        out = out.select(order)
    return out


@dataclass
class MetricsBundle:
    """The metrics of one run, optionally filtered to one team.

    Each table is a polars DataFrame, or ``None`` when the run did not write it
    (metric unavailable). ``decisions`` (one row per activity, possibly millions) is
    kept lazy: collect what you need.

    The tables are attributes (``bundle.skill_gaps``; tab completion lists them) and
    ``bundle.get(name)``; the list is at the end of this docstring. Rep id columns
    have a display-name column next to them (``rep_name``, ``bdr_name``, ...).

    Examples
    --------
    >>> b = MetricsBundle(run={"teams": ["A"]}, quality={}, team="A", tables={})
    >>> b.get("skill_gaps") is None
    True
    >>> "skill_gaps" in dir(b)
    True
    """

    run: dict[str, Any]
    quality: dict[str, Any]
    team: str | None
    tables: dict[str, pl.DataFrame]
    decisions: pl.LazyFrame | None = None
    metrics_dir: Path | None = None
    reps: pl.DataFrame | None = None

    def rep_name(self, rep_id: str | None) -> str | None:
        """The display name of ``rep_id`` (the id itself when the run has no name for it)."""
        if rep_id is None or self.reps is None or "rep_name" not in self.reps.columns:
            return rep_id
        hit = self.reps.filter(pl.col("rep_id") == rep_id)
        return str(hit["rep_name"][0]) if hit.height else rep_id

    # --- access ----------------------------------------------------------------------
    def get(self, name: str) -> pl.DataFrame | None:
        """The table ``name`` (filtered to the team), or ``None`` if not written."""
        return self.tables.get(name)

    def __getattr__(self, name: str) -> pl.DataFrame | None:
        if name.startswith("_") or name not in EAGER_TABLES:
            raise AttributeError(name)
        return self.tables.get(name)

    def __dir__(self) -> list[str]:
        """Tab completion lists the tables next to the attributes."""
        return sorted({*super().__dir__(), *EAGER_TABLES})

    def available(self, *names: str) -> bool:
        """True when every named table was written (it may still have 0 rows)."""
        return all(self.tables.get(n) is not None for n in names)

    def missing_inputs(self, *names: str) -> list[str]:
        """Input tables whose absence made any of ``names`` unavailable (sorted)."""
        unavailable = self.quality.get("unavailable") or {}
        out: set[str] = set()
        for name in names:
            if self.tables.get(name) is not None:
                continue
            listed = unavailable.get(name)
            out.update(listed if listed else TABLE_NEEDS.get(name, (name,)))
        return sorted(out)

    def unavailable_note(self, *names: str) -> str | None:
        """``"not available: needs meetings, opportunities"`` or ``None`` if all present."""
        if self.available(*names):
            return None
        return f"not available: needs {', '.join(self.missing_inputs(*names))}"

    # --- team-level facts ------------------------------------------------------------
    @property
    def period(self) -> dict[str, Any]:
        """``{"label", "start", "end"}`` from run.json."""
        return dict(self.run.get("period") or {})

    @property
    def thresholds(self) -> dict[str, Any]:
        """The thresholds the metrics were computed with (run.json)."""
        return dict(self.run.get("thresholds") or {})

    def threshold(self, name: str) -> Any:
        """One threshold the metrics were computed with; the configured default if unrecorded.

        Examples
        --------
        >>> b = MetricsBundle(run={"thresholds": {"min_deals": 5}}, quality={}, team=None, tables={})
        >>> b.threshold("min_deals"), b.threshold("fatigue_threshold")
        (5, 45)
        """
        from analysis.config import SETTINGS

        value = self.thresholds.get(name)
        return SETTINGS[name].default if value is None else value

    @property
    def figures(self) -> dict[str, Any] | None:
        """The team's ``team_summary`` row: every headline figure the report states.

        ``None`` when the run wrote no ``team_summary`` or it has no row for the team.

        Examples
        --------
        >>> ts = pl.DataFrame({"team": ["A", "B"], "automatable_share": [0.6, None]})
        >>> b = MetricsBundle(run={}, quality={}, team="A", tables={"team_summary": ts})
        >>> b.figures["automatable_share"]
        0.6
        """
        df = self.own_rows("team_summary")
        return df.row(0, named=True) if df is not None and df.height else None

    def own_rows(self, name: str) -> pl.DataFrame | None:
        """Rows of ``name`` that belong to the team itself (drops ``fatigue``'s "all" row)."""
        df = self.tables.get(name)
        if df is None or self.team is None or "team" not in df.columns:
            return df
        return df.filter(pl.col("team") == self.team)

    @property
    def has_data(self) -> bool:
        """True when any team table has at least one row of this team's own."""
        for name in self.tables:
            if name in ("unmatched_shapes", "team_summary"):  # run-wide, or a row per team
                continue
            df = self.own_rows(name)
            if df is not None and df.height > 0:
                return True
        return False

    @property
    def hygiene_row(self) -> dict[str, Any] | None:
        """The team's hygiene row (``rep_id`` null) as a dict, if any."""
        hyg = self.tables.get("hygiene")
        if hyg is None or "rep_id" not in hyg.columns:
            return None
        rows = hyg.filter(pl.col("rep_id").is_null())
        if self.team is not None and "team" in rows.columns:
            rows = rows.filter(pl.col("team") == self.team)
        return rows.row(0, named=True) if rows.height else None

    @property
    def hygiene_score(self) -> float | None:
        """The team hygiene score 0-100, or ``None`` when unknown."""
        row = self.hygiene_row
        return None if row is None or row.get("score") is None else float(row["score"])

    @property
    def trusted(self) -> bool | None:
        """The team's trusted flag (hygiene >= threshold); ``None`` when unknown."""
        row = self.hygiene_row
        if row is not None and row.get("trusted") is not None:
            return bool(row["trusted"])
        for name in self.tables:
            df = self.own_rows(name)
            if df is not None and "data_trusted" in df.columns and df.height:
                values = df["data_trusted"].drop_nulls()
                if values.len():
                    return bool(values.all())
        return None


MetricsBundle.__doc__ = (MetricsBundle.__doc__ or "") + (
    "\n    Tables (attribute name: input tables it needs)\n    " + "-" * 45 + "\n"
    + "".join(
        f"    - ``{name}``: {', '.join(TABLE_NEEDS.get(name, ())) or 'see quality.json'}\n"
        for name in EAGER_TABLES
    )
    + "    - ``decisions`` (lazy): activities\n"
)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _filter_team(df: pl.DataFrame, name: str, team: str | None) -> pl.DataFrame:
    if team is None or "team" not in df.columns:
        return df
    keep = pl.col("team") == team
    if name in ("fatigue", "stage_durations", "stage_survival"):  # keep the all-teams rows
        keep = keep | (pl.col("team") == "all")
    return df.filter(keep)


class MetricsNotFoundError(BadInputError, FileNotFoundError):
    """The metrics folder does not exist, or has no ``run.json`` (the message names it)."""


class UnknownTeamError(BadInputError, KeyError):
    """The team is not in the metrics run (the message lists the teams)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return BadInputError.__str__(self)


def resolve_metrics_dir(metrics_dir: str | Path) -> Path:
    """The metrics folder: ``metrics_dir`` as given, or, when relative and not found
    from the working directory, the first match in a parent directory (a notebook's
    kernel runs in ``notebooks/``, defaults are written from the project root).

    Raises :class:`MetricsNotFoundError` naming the folder when there is none.

    Examples
    --------
    >>> resolve_metrics_dir("/no/such/metrics")
    Traceback (most recent call last):
    ...
    analysis.reports.data.MetricsNotFoundError: /no/such/metrics: metrics folder not found ...
    """
    given = Path(metrics_dir).expanduser()
    if not str(metrics_dir).strip():
        raise MetricsNotFoundError(
            "no metrics folder given: pass the folder `decision-stack metrics --out` wrote "
            "(or a report's <quarter>/_metrics folder)"
        )
    candidates = [given]
    if not given.is_absolute():
        candidates += [parent / given for parent in Path.cwd().resolve().parents]
    for candidate in candidates:
        if (candidate / "run.json").is_file():
            return candidate
    where = given if given.is_absolute() else Path.cwd() / given
    if where.is_dir():
        raise MetricsNotFoundError(
            "not a metrics folder (no run.json): run `decision-stack metrics --out` on it first",
            file=where,
        )
    raise MetricsNotFoundError(
        "metrics folder not found (also looked in the parent folders): run "
        "`decision-stack metrics --data DIR --out FOLDER` or `decision-stack report` first",
        file=where,
    )


def _read_reps(root: Path) -> pl.DataFrame | None:
    path = root / "clean" / "reps.parquet"
    if not path.exists():
        return None
    reps = pl.read_parquet(path)
    if "rep_id" not in reps.columns:
        return None
    names = rep_display_names(reps)
    keep = [c for c in ("rep_id", "name", "role", "team") if c in reps.columns]
    return reps.select(keep).join(names, on="rep_id", how="left", maintain_order="left")


def load_metrics(metrics_dir: str | Path, *, team: str | None = None) -> MetricsBundle:
    """Read a metrics folder written by ``decision-stack metrics``, filtered to ``team``.

    The public entry for notebooks: ``from analysis import load_metrics``. Each table
    is a polars DataFrame (``bundle.skill_gaps``, ``bundle.bdr_funnel``, ... see
    :data:`EAGER_TABLES`; tab completion lists them), ``None`` when the run could not
    compute it (see :meth:`MetricsBundle.unavailable_note`); a team without rows gets
    empty frames. Every rep id column gets its display name next to it (``rep_id`` ->
    ``rep_name``, ``bdr_id`` -> ``bdr_name``; the id when the rep has no name).
    ``unmatched_shapes`` has no team column and stays run-wide. ``fatigue`` keeps
    the ``team == "all"`` row next to the team's own. ``bundle.reps`` is the team's
    roster with display names.

    Raises :class:`MetricsNotFoundError` (naming the folder) when there is no
    metrics folder there, and :class:`UnknownTeamError` (listing the teams) for a
    team that is not in the run. A relative folder not found from the working
    directory is looked up in its parents.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "run.json").write_text(json.dumps({"teams": ["A", "B"]}))
    >>> pl.DataFrame({"team": ["A", "B"], "rep_id": ["a", "b"]}).write_parquet(d / "rep_load.parquet")
    >>> b = load_metrics(d, team="B")
    >>> b.rep_load["rep_id"].to_list(), b.skill_gaps is None
    (['b'], True)
    >>> load_metrics(d, team="C")
    Traceback (most recent call last):
    ...
    analysis.reports.data.UnknownTeamError: unknown team 'C'; teams in this run: A, B
    """
    root = resolve_metrics_dir(metrics_dir)
    run = _read_json(root / "run.json")
    quality = _read_json(root / "quality.json")
    known = run.get("teams")
    if team is not None and known is not None and team not in known:
        raise UnknownTeamError(
            f"unknown team {team!r}; teams in this run: {', '.join(map(str, known)) or 'none'}"
        )
    reps = _read_reps(root)
    names = None if reps is None else reps.select("rep_id", "rep_name")
    tables: dict[str, pl.DataFrame] = {}
    for name in EAGER_TABLES:
        path = root / f"{name}.parquet"
        if path.exists():
            tables[name] = with_rep_names(_filter_team(pl.read_parquet(path), name, team), names)
    decisions = None
    dec_path = root / "decisions.parquet"
    if dec_path.exists():
        decisions = pl.scan_parquet(dec_path)
        if team is not None:
            decisions = decisions.filter(pl.col("team") == team)
    if reps is not None and team is not None and "team" in reps.columns:
        reps = reps.filter(pl.col("team") == team)
    return MetricsBundle(
        run=run,
        quality=quality,
        team=team,
        tables=tables,
        decisions=decisions,
        metrics_dir=root,
        reps=reps,
    )
