"""Quarter over quarter: each team's headline figures against the previous quarter (``team_trend``).

For each team and metric (the impact metrics of :mod:`analysis.impact.panels`),
``previous`` and ``current`` are the team's rates over the two quarters (sum of the
numerators over sum of the denominators: per active rep-week for counts) and ``change``
is ``current / previous - 1``, with a 95 % interval from a Poisson model of the rep-quarter
sums (``offset = log(denominator)``) whose errors are clustered by rep, on t with G - 1
degrees of freedom. ``won_per_meeting`` uses only meetings whose outcome horizon has
passed by as-of, in both quarters, so a quarter with deals still open is not read as a
fall. Null, never 0, where a quarter has no evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from analysis.impact.panels import METRICS, metric_days
from analysis.periods import Period

__all__ = [
    "TREND_COLUMNS",
    "covers_previous_quarter",
    "previous_quarter",
    "team_trend",
    "trend_or_empty",
]

TREND_COLUMNS = {
    "team": pl.String,
    "metric": pl.String,
    "previous": pl.Float64,
    "current": pl.Float64,
    "change": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_reps": pl.Int64,
    "label": pl.String,
    "kind": pl.String,
    "clear_change": pl.Boolean,
}
#: Data starting this long after the previous quarter's first day still "covers" it.
COVER_GRACE = timedelta(days=14)


def previous_quarter(period: Period) -> Period | None:
    """The quarter before ``period`` when ``period`` is a quarter (else None).

    Examples
    --------
    >>> previous_quarter(Period.quarter("2026Q1")).label
    '2025Q4'
    >>> previous_quarter(Period.between("2026-07-01", "2026-07-15")) is None
    True
    """
    try:
        current = Period.quarter(period.label)
    except Exception:
        return None
    if current != period:
        return None
    year, q = period.start.year, (period.start.month - 1) // 3 + 1
    return Period.quarter(f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}")


def covers_previous_quarter(clean: dict[str, pl.LazyFrame], period: Period) -> bool:
    """True when the activities or meetings start by the previous quarter's first two weeks."""
    previous = previous_quarter(period)
    if previous is None:
        return False
    firsts = []
    for table, col in (("activities", "occurred_at"), ("meetings", "booked_at")):
        if table in clean:
            value = clean[table].select(pl.col(col).min()).collect().item()
            if value is not None:
                firsts.append(value.date())
    return bool(firsts) and min(firsts) <= previous.start + COVER_GRACE


def _fit(per_rep: pl.DataFrame, alpha: float) -> tuple[float | None, float | None]:
    """Interval of exp(b) - 1 for the current-quarter indicator, clustered by rep."""
    import statsmodels.api as sm

    df = per_rep.filter(pl.col("den") > 0)
    reps = df["rep_id"].n_unique()
    if reps < 2 or df["current"].n_unique() < 2 or df["num"].sum() == 0:
        return None, None
    x = np.column_stack([np.ones(df.height), df["current"].cast(pl.Float64).to_numpy()])
    groups = np.unique(df["rep_id"].to_numpy(), return_inverse=True)[1]
    model = sm.GLM(
        df["num"].to_numpy(),
        x,
        family=sm.families.Poisson(),
        offset=np.log(df["den"].to_numpy()),
    )
    res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    b, se = float(res.params[1]), float(res.bse[1])
    if not np.isfinite(se) or se == 0:
        return None, None
    crit = float(stats.t.ppf(1 - alpha / 2, max(reps - 1, 1)))
    return float(np.expm1(b - crit * se)), float(np.expm1(b + crit * se))


def team_trend(
    clean: dict[str, pl.LazyFrame],
    *,
    period: Period,
    as_of: datetime,
    horizon_days: int,
    taxonomy: object | None,
    tz: str = "UTC",
    alpha: float = 0.05,
) -> pl.DataFrame:
    """The ``team_trend`` table: team, metric, previous, current, change and its interval.

    Empty (with its columns) when ``period`` is not a quarter.
    """
    previous = previous_quarter(period)
    if previous is None:
        return pl.DataFrame(schema=TREND_COLUMNS)
    window = Period.between(previous.start, period.end)
    lazy = metric_days(
        clean, window=window, as_of=as_of, horizon_days=horizon_days, taxonomy=taxonomy, tz=tz
    )
    days = dict(zip(lazy, pl.collect_all(list(lazy.values())), strict=True))
    reps = clean["reps"].select("rep_id", "team").collect()
    boundary = pl.lit(datetime.combine(period.start, datetime.min.time())).dt.replace_time_zone(
        "UTC"
    )
    # A rep's active weeks in a quarter: from their first to their last event of any kind.
    weeks = (
        pl.concat([d.select("rep_id", "day") for d in days.values()])
        .with_columns(current=pl.col("day") >= boundary)
        .group_by("rep_id", "current")
        .agg(
            weeks=((pl.col("day").max() - pl.col("day").min()).dt.total_days() // 7 + 1).cast(
                pl.Float64
            )
        )
    )
    rows = []
    for metric, frame in days.items():
        spec = METRICS[metric]
        marked = frame.with_columns(current=pl.col("day") >= boundary)
        if spec.rate:
            per_rep = marked.group_by("rep_id", "current").agg(
                num=pl.col("m_num").sum(), den=pl.col("m_den").sum()
            )
        else:  # counts per active rep-week
            per_rep = (
                marked.group_by("rep_id", "current")
                .agg(num=pl.col("num").sum())
                .join(weeks, on=["rep_id", "current"], how="left")
                .rename({"weeks": "den"})
            )
        # group_by order is arbitrary: sort so the fit (and its last digits) repeat exactly
        per_rep = per_rep.join(reps, on="rep_id", how="inner").sort("rep_id", "current")
        for team in sorted(per_rep["team"].unique().to_list()):
            mine = per_rep.filter(pl.col("team") == team)
            sums = {
                c: mine.filter(pl.col("current") == c).select(pl.col("num", "den").sum()).row(0)
                for c in (False, True)
            }
            prev = sums[False][0] / sums[False][1] if sums[False][1] else None
            cur = sums[True][0] / sums[True][1] if sums[True][1] else None
            change = cur / prev - 1 if prev and cur is not None else None
            lo, hi = _fit(mine, alpha) if change is not None else (None, None)
            clear = None if lo is None or hi is None else (lo > 0 or hi < 0)
            rows.append(
                (
                    team,
                    metric,
                    prev,
                    cur,
                    change,
                    lo,
                    hi,
                    mine["rep_id"].n_unique(),
                    spec.label,
                    spec.kind,
                    clear,
                )
            )
    return pl.DataFrame(rows, schema=TREND_COLUMNS, orient="row").sort("team", "metric")


def trend_or_empty(
    clean: dict[str, pl.LazyFrame],
    *,
    period: Period,
    as_of: datetime,
    horizon_days: int,
    taxonomy: object | None,
    tz: str = "UTC",
) -> tuple[pl.DataFrame, str | None]:
    """``team_trend`` when the data covers the previous quarter, else an empty table and why."""
    if not covers_previous_quarter(clean, period):
        previous = previous_quarter(period)
        what = previous.label if previous else "a previous quarter (the period is not a quarter)"
        return pl.DataFrame(schema=TREND_COLUMNS), (
            f"team_trend is empty: the data does not cover {what}"
        )
    trend = team_trend(
        clean, period=period, as_of=as_of, horizon_days=horizon_days, taxonomy=taxonomy, tz=tz
    )
    return trend, None
