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
__all__ = [
    "EAGER_TABLES",
    "TABLE_NEEDS",
    "MetricsBundle",
    "load_metrics",
    "team_slug",
]

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


@dataclass
class MetricsBundle:
    """The metrics of one run, optionally filtered to one team.

    Each table is a polars DataFrame, or ``None`` when the run did not write it
    (metric unavailable). ``decisions`` (one row per activity, possibly millions) is
    kept lazy: collect what you need.

    Examples
    --------
    >>> b = MetricsBundle(run={"teams": ["A"]}, quality={}, team="A", tables={})
    >>> b.get("skill_gaps") is None
    True
    """

    run: dict[str, Any]
    quality: dict[str, Any]
    team: str | None
    tables: dict[str, pl.DataFrame]
    decisions: pl.LazyFrame | None = None
    metrics_dir: Path | None = None

    # --- access ----------------------------------------------------------------------
    def get(self, name: str) -> pl.DataFrame | None:
        """The table ``name`` (filtered to the team), or ``None`` if not written."""
        return self.tables.get(name)

    def __getattr__(self, name: str) -> pl.DataFrame | None:
        if name.startswith("_") or name not in EAGER_TABLES:
            raise AttributeError(name)
        return self.tables.get(name)

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
            if name == "unmatched_shapes":
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


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _filter_team(df: pl.DataFrame, name: str, team: str | None) -> pl.DataFrame:
    if team is None or "team" not in df.columns:
        return df
    keep = pl.col("team") == team
    if name == "fatigue":  # keep the all-teams row for comparison
        keep = keep | (pl.col("team") == "all")
    return df.filter(keep)


def load_metrics(metrics_dir: str | Path, *, team: str | None = None) -> MetricsBundle:
    """Read a metrics directory written by ``run_metrics``, filtered to ``team``.

    Tables that were not written are ``None`` in the bundle (see
    :meth:`MetricsBundle.unavailable_note`); a team without rows gets empty frames.
    ``unmatched_shapes`` has no team column and stays run-wide. ``fatigue`` keeps the
    ``team == "all"`` row next to the team's own.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "run.json").write_text(json.dumps({"teams": ["A", "B"]}))
    >>> pl.DataFrame({"team": ["A", "B"], "rep_id": ["a", "b"]}).write_parquet(d / "rep_load.parquet")
    >>> b = load_metrics(d, team="B")
    >>> b.rep_load["rep_id"].to_list(), b.skill_gaps is None
    (['b'], True)
    """
    root = Path(metrics_dir)
    run = _read_json(root / "run.json")
    quality = _read_json(root / "quality.json")
    tables: dict[str, pl.DataFrame] = {}
    for name in EAGER_TABLES:
        path = root / f"{name}.parquet"
        if path.exists():
            tables[name] = _filter_team(pl.read_parquet(path), name, team)
    decisions = None
    dec_path = root / "decisions.parquet"
    if dec_path.exists():
        decisions = pl.scan_parquet(dec_path)
        if team is not None:
            decisions = decisions.filter(pl.col("team") == team)
    return MetricsBundle(
        run=run, quality=quality, team=team, tables=tables, decisions=decisions, metrics_dir=root
    )
