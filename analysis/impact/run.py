"""``decision-stack impact``: the effect of every change on every metric (CONTRACT 5.4).

For each change (rows of the ``changes`` table sharing a ``change_id``) the treated reps
are the reps of its teams and its single reps, each from the start of the row that names
them (a rollout may reach teams at different times: one cohort per start). Controls are
the reps not yet treated by any change in that week (never-treated or not-yet-treated),
so an already-treated rep is never a control. See :mod:`analysis.impact.did` for the
model and :mod:`analysis.impact.panels` for the metrics.

Writes ``impact``, ``impact_weekly`` and ``impact_changes`` (one row per change: its
scope and the hygiene of its treated teams) as parquet, plus ``quality.json``,
``quarantine/`` and ``run.json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from analysis.errors import BadInputError
from analysis.impact.did import METHOD, did_poisson, event_study
from analysis.impact.panels import METRICS, metric_days, rep_week_panel
from analysis.numeric_settings import numeric_run_settings
from analysis.periods import DEFAULT_OUTCOME_HORIZON_DAYS, Period, resolve_as_of

__all__ = [
    "IMPACT_COLUMNS",
    "WEEKLY_COLUMNS",
    "change_slug",
    "impact_tables",
    "run_impact",
    "treatment",
]

IMPACT_COLUMNS = (
    "change_id",
    "metric",
    "treated_before",
    "treated_after",
    "control_before",
    "control_after",
    "effect_relative",
    "ci_low",
    "ci_high",
    "p_value",
    "pre_trend_p_value",
    "n_treated",
    "n_control",
    "method",
)
WEEKLY_COLUMNS = ("change_id", "metric", "week", "estimate", "ci_low", "ci_high")
#: Heuristic: a pre-trend p-value below this gets a plain warning in the report.
PRE_TREND_ALPHA = 0.05
_WEEK = timedelta(days=7)


def change_slug(change_id: str) -> str:
    """A file-name-safe slug of a change id.

    Examples
    --------
    >>> change_slug("AI assistant / EMEA (2026)")
    'ai-assistant-emea-2026'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", change_id.lower()).strip("-")
    return slug[:80] or "change"


def treatment(changes: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """``change_id, rep_id, start`` (UTC midnight of the day the change reached the rep).

    A team row reaches every rep of the team; a rep named in several rows takes the
    earliest start.

    Examples
    --------
    >>> from datetime import UTC
    >>> ch = pl.DataFrame({"change_id": ["c", "c"], "name": ["x", "x"],
    ...     "started_at": [datetime(2026, 7, 1, 9, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)],
    ...     "team": ["A", None], "rep_id": [None, "r3"]})
    >>> reps = pl.DataFrame({"rep_id": ["r1", "r2", "r3"], "team": ["A", "A", "B"]})
    >>> treatment(ch, reps).select("rep_id", pl.col("start").dt.day()).rows()
    [('r1', 1), ('r2', 1), ('r3', 1)]
    """
    by_team = changes.filter(pl.col("team").is_not_null()).join(
        reps.select("rep_id", "team"), on="team", how="inner", suffix="_rep"
    )
    teamed = by_team.select("change_id", pl.col("rep_id_rep").alias("rep_id"), "started_at")
    single = changes.filter(pl.col("team").is_null() & pl.col("rep_id").is_not_null()).select(
        "change_id", "rep_id", "started_at"
    )
    return (
        pl.concat([teamed, single])
        .group_by("change_id", "rep_id")
        .agg(pl.col("started_at").min().dt.truncate("1d").alias("start"))
        .sort("change_id", "rep_id")
    )


def _window(
    clean: dict[str, pl.LazyFrame], start: date | None, end: date | None, as_of: datetime
) -> Period:
    """``--start``/``--end``, else from the first activity or meeting up to as-of."""
    if start is not None and end is not None:
        return Period.between(start, end)
    firsts = []
    # Opportunities only when nothing else dates the data: old pipeline reaches far back.
    sources = [("activities", "occurred_at"), ("meetings", "booked_at")]
    if not any(t in clean for t, _ in sources):
        sources = [("opportunities", "created_at")]
    for table, col in sources:
        if table in clean:
            value = clean[table].select(pl.col(col).min()).collect().item()
            if value is not None:
                firsts.append(value.date())
    first = start or (min(firsts) if firsts else as_of.date() - timedelta(days=182))
    return Period.between(first, end or as_of.date() + timedelta(days=1))


def _ratio(frame: pl.DataFrame) -> float | None:
    den = frame["m_den"].sum()
    return float(frame["m_num"].sum() / den) if den else None


def impact_tables(
    days: dict[str, pl.DataFrame],
    assignments: pl.DataFrame,
    *,
    change_ids: Sequence[str],
    window_start: datetime,
    window_end: datetime,
    alpha: float = 0.05,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``impact`` and ``impact_weekly`` tables from rep-day metric counts.

    ``days``: metric -> ``rep_id, day, num, den, m_num, m_den`` (see
    :func:`analysis.impact.panels.metric_days`); ``assignments``: ``change_id, rep_id,
    start`` for *every* change (a rep treated by any change stops being a control from
    its start on).
    """
    first_any = assignments.group_by("rep_id").agg(pl.col("start").min().alias("_first_any"))
    active = (
        pl.concat([d.select("rep_id", "day") for d in days.values()])
        .group_by("rep_id")
        .agg(pl.col("day").min().alias("first_day"), pl.col("day").max().alias("last_day"))
    )
    rows, weekly = [], []
    for change_id in change_ids:
        mine = assignments.filter(pl.col("change_id") == change_id)
        starts = sorted(mine["start"].unique().to_list())
        for metric, frame in days.items():
            spec = METRICS[metric]
            population = active.join(frame.select("rep_id").unique(), on="rep_id", how="semi")
            stacks = []
            for stack, start in enumerate(starts):
                first_week = -((start - window_start) // _WEEK)
                last_week = (window_end - start) // _WEEK - 1
                if last_week < 0 or first_week > -1:
                    continue
                cohort = mine.filter(pl.col("start") == start).select("rep_id")
                panel = (
                    rep_week_panel(
                        frame,
                        origin=start,
                        first_week=first_week,
                        last_week=last_week,
                        rate=spec.rate,
                        active=population,
                    )
                    .collect()
                    .join(first_any, on="rep_id", how="left")
                    .with_columns(
                        treated=pl.col("rep_id").is_in(cohort["rep_id"].implode()),
                        stack=pl.lit(stack, pl.Int64),
                        _week_end=pl.lit(start) + (pl.col("week") + 1) * _WEEK,
                    )
                    .filter(
                        pl.col("treated")
                        | pl.col("_first_any").is_null()
                        | (pl.col("_week_end") <= pl.col("_first_any"))
                    )
                    .drop("_first_any", "_week_end")
                )
                stacks.append(panel)
            panel = pl.concat(stacks) if stacks else None
            rows.append(_impact_row(change_id, metric, panel, alpha=alpha, weekly=weekly))
    impact = pl.DataFrame(rows, schema=IMPACT_SCHEMA, orient="row")
    weekly_frame = (
        pl.concat(weekly)
        if weekly
        else pl.DataFrame(schema=dict.fromkeys(WEEKLY_COLUMNS, pl.Float64)).cast(
            {"change_id": pl.String, "metric": pl.String, "week": pl.Int64}
        )
    )
    return impact, weekly_frame.select(WEEKLY_COLUMNS).sort("change_id", "metric", "week")


IMPACT_SCHEMA = {
    "change_id": pl.String,
    "metric": pl.String,
    "treated_before": pl.Float64,
    "treated_after": pl.Float64,
    "control_before": pl.Float64,
    "control_after": pl.Float64,
    "effect_relative": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "pre_trend_p_value": pl.Float64,
    "n_treated": pl.Int64,
    "n_control": pl.Int64,
    "method": pl.String,
    "naive_relative": pl.Float64,
    "pre_trend_warning": pl.Boolean,
    "kind": pl.String,
    "label": pl.String,
    "note": pl.String,
}


def _impact_row(
    change_id: str, metric: str, panel: pl.DataFrame | None, *, alpha: float, weekly: list
) -> tuple:
    spec = METRICS[metric]
    if panel is None or panel.is_empty():
        empty = (None,) * 9
        note = "no weeks of data around the start"
        return (change_id, metric, *empty, 0, 0, METHOD, None, None, spec.kind, spec.label, note)
    # Descriptive means over reps seen on both sides of the start (a not-yet-treated
    # control seen only before it would change the control mix, not the control rate).
    both = (pl.col("week") < 0).any().over("stack", "rep_id", "treated") & (
        pl.col("week") >= 0
    ).any().over("stack", "rep_id", "treated")
    balanced = panel.filter(both)
    parts = {
        (t, a): balanced.filter((pl.col("treated") == t) & ((pl.col("week") >= 0) == a))
        for t in (True, False)
        for a in (False, True)
    }
    means = {k: _ratio(v) for k, v in parts.items()}
    fit = did_poisson(panel, alpha=alpha)
    curve, pre_p = event_study(panel, alpha=alpha)
    if not curve.is_empty():
        weekly.append(curve.with_columns(change_id=pl.lit(change_id), metric=pl.lit(metric)))
    before, after = means[(True, False)], means[(True, True)]
    naive = after / before - 1 if before and after is not None else None
    return (
        change_id,
        metric,
        before,
        after,
        means[(False, False)],
        means[(False, True)],
        fit.effect_relative,
        fit.ci_low,
        fit.ci_high,
        fit.p_value,
        pre_p,
        fit.n_treated,
        fit.n_control,
        METHOD,
        naive,
        None if pre_p is None else pre_p < PRE_TREND_ALPHA,
        spec.kind,
        spec.label,
        fit.note,
    )


@numeric_run_settings
def run_impact(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    start: date | None = None,
    end: date | None = None,
    change_ids: Sequence[str] | None = None,
    as_of: datetime | None = None,
    horizon_days: int = DEFAULT_OUTCOME_HORIZON_DAYS,
    taxonomy: str | Path | None = None,
    tz: str = "UTC",
    hygiene_threshold: float = 70.0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Validate ``data_dir`` and write the impact tables into ``out_dir`` (atomically).

    Returns the run.json dict. Exit-2 errors (``BadInputError``): no ``changes`` table,
    an unknown ``--change`` id, or no usable change.
    """
    from analysis import registry
    from analysis.canonical.validate import validate_dataset, write_validation
    from analysis.decisions.taxonomy import load_taxonomy
    from analysis.io import atomic_output_dir, write_json, write_table

    data_path, out_path = Path(data_dir).resolve(), Path(out_dir).resolve()
    if data_path == out_path or out_path in data_path.parents:
        raise BadInputError("--out must not be the data folder or contain it", file=out_dir)
    tax = load_taxonomy(taxonomy)
    validation = validate_dataset(data_dir, default_tz=tz)
    if "changes" not in validation.tables:
        raise BadInputError(
            "impact needs a changes table (changes.csv or changes.parquet)", file=data_dir
        )
    with atomic_output_dir(out_dir, merge=False) as tmp:
        quality = write_validation(validation, tmp)
        clean = {t: pl.scan_parquet(tmp / "clean" / f"{t}.parquet") for t in validation.tables}
        as_of, as_of_source = resolve_as_of(clean, flag=as_of)
        window = _window(clean, start, end, as_of)
        changes = clean["changes"].collect()
        reps = clean["reps"].collect()
        wanted = list(change_ids) if change_ids else sorted(changes["change_id"].unique())
        unknown = sorted(set(wanted) - set(changes["change_id"].to_list()))
        if unknown:
            raise BadInputError(f"unknown --change {unknown[0]!r}: not in the clean changes table")
        if not wanted:
            raise BadInputError("the changes table has no clean row", file=data_dir)
        assignments = treatment(changes, reps)
        lazy_days = metric_days(
            clean, window=window, as_of=as_of, horizon_days=horizon_days, taxonomy=tax, tz=tz
        )
        days = dict(zip(lazy_days, pl.collect_all(list(lazy_days.values())), strict=True))
        from analysis.metrics._common import period_bounds

        w_start, w_end = period_bounds(window, tz)
        impact, weekly = impact_tables(
            days,
            assignments,
            change_ids=wanted,
            window_start=w_start,
            window_end=min(w_end, as_of),
            alpha=alpha,
        )
        summary = _changes_summary(
            changes, assignments, reps, clean, wanted, window, hygiene_threshold
        )
        for name, frame in (
            ("impact", impact),
            ("impact_weekly", weekly),
            ("impact_changes", summary),
        ):
            frame = frame.select(list(registry.get(name).schema())).cast(
                dict(registry.get(name).schema())
            )
            write_table(frame, tmp / f"{name}.parquet")
        run = {
            "command": "impact",
            "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "as_of": as_of.isoformat(timespec="seconds"),
            "as_of_source": as_of_source,
            "outcome_horizon_days": horizon_days,
            "tz": tz,
            "changes": wanted,
            "metrics": sorted(days),
            "unavailable": sorted(set(METRICS) - set(days)),
            "method": METHOD,
            "data_dir": str(data_path),
            "quarantined_rows": sum(t["quarantined_rows"] for t in quality["tables"].values()),
        }
        write_json(tmp / "run.json", run)
    return run


def _changes_summary(
    changes: pl.DataFrame,
    assignments: pl.DataFrame,
    reps: pl.DataFrame,
    clean: dict[str, pl.LazyFrame],
    wanted: Sequence[str],
    window: Period,
    hygiene_threshold: float,
) -> pl.DataFrame:
    """One row per change: name, first start, teams reached, reps, hygiene of those teams."""
    from analysis.metrics.hygiene import hygiene

    scope = (
        assignments.filter(pl.col("change_id").is_in(list(wanted)))
        .join(reps.select("rep_id", "team"), on="rep_id", how="left")
        .group_by("change_id")
        .agg(
            pl.col("start").min().alias("first_start"),
            pl.col("start").max().alias("last_start"),
            pl.col("team").unique().sort().alias("teams"),
            pl.len().cast(pl.Int64).alias("n_reps"),
        )
    )
    names = changes.group_by("change_id").agg(pl.col("name").first())
    out = (
        pl.DataFrame({"change_id": list(wanted)})
        .join(names, on="change_id", how="left")
        .join(scope, on="change_id", how="left")
        .with_columns(slug=pl.col("change_id").map_elements(change_slug, return_dtype=pl.String))
    )
    opps, acts = clean.get("opportunities"), clean.get("activities")
    if opps is None and acts is None:
        return out.with_columns(
            hygiene_score=pl.lit(None, pl.Float64),
            trusted=pl.lit(None, pl.Boolean),
            untrusted_teams=pl.lit(None, pl.List(pl.String)),
        )
    teams = (
        hygiene(opps, acts, clean["reps"], period=window, threshold=hygiene_threshold)
        .filter(pl.col("rep_id").is_null())
        .select("team", "score", "trusted")
        .collect()
    )
    per_change = (
        out.select("change_id", "teams")
        .explode("teams")
        .join(teams, left_on="teams", right_on="team", how="left")
        .group_by("change_id")
        .agg(
            pl.col("score").min().alias("hygiene_score"),
            pl.col("trusted").all().alias("trusted"),
            pl.col("teams").filter(pl.col("trusted").not_()).alias("untrusted_teams"),
        )
    )
    return out.join(per_change, on="change_id", how="left")
