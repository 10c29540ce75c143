"""Metric definitions as ``pl.Expr`` factories: one definition for every grain.

Two kinds of factories live here:

* **ratio metrics** over already counted columns (``win_rate``, ``won_per_meeting``,
  ``show_rate``, ``share``): use them in ``with_columns`` after a ``group_by`` at any
  grain (rep, team, all). They return null, never 0, when the denominator is 0.
* **row-level flags** for hygiene components (``stage_consistent``, ``lost_with_reason``
  ...): true / false where the check applies to the row, **null where it does not**
  (e.g. ``lost_with_reason`` on an open deal). Aggregate them with
  ``component_counts`` (``<name>_ok`` and ``<name>_n``) at the finest grain, sum the
  counts upward, and turn counts into shares with ``share``.

Aggregating expressions (``share_within``, ``amount_weighted_win_rate``) can be used in
``group_by(...).agg`` directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analysis import shared
from analysis.canonical.schemas import SPINE_FIELDS

__all__ = [
    "HYGIENE_COMPONENTS",
    "activity_linked",
    "amount_weighted_win_rate",
    "calls_with_notes",
    "component_counts",
    "filled",
    "holm_adjusted",
    "hygiene_score",
    "lost_with_reason",
    "ratio",
    "share",
    "share_within",
    "show_rate",
    "spine_complete",
    "stage_consistent",
    "wilson_bounds",
    "win_rate",
    "won_per_meeting",
]

#: Hygiene components in report order: name -> source table.
HYGIENE_COMPONENTS: dict[str, str] = {
    "stage_consistent": "opportunities",
    "lost_with_reason": "opportunities",
    "spine_complete": "opportunities",
    "calls_with_notes": "activities",
    "activities_linked": "activities",
}


def _col(c: str | pl.Expr) -> pl.Expr:
    return pl.col(c) if isinstance(c, str) else c


def ratio(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as Float64; null when the denominator is 0 or null.

    The one definition in :func:`analysis.shared.ratio`.

    Examples
    --------
    >>> pl.DataFrame({"a": [1, 1], "b": [4, 0]}).select(ratio("a", "b"))["a"].to_list()
    [0.25, None]
    """
    return shared.ratio(numerator, denominator)


def win_rate(won: str | pl.Expr = "won", closed: str | pl.Expr = "closed") -> pl.Expr:
    """Count-based win rate ``won / closed``; null (never 0) when ``closed == 0``.

    Examples
    --------
    >>> df = pl.DataFrame({"won": [3, 0], "closed": [4, 0]})
    >>> df.select(win_rate().alias("r"))["r"].to_list()
    [0.75, None]
    """
    return ratio(won, closed)


def won_per_meeting(
    won: str | pl.Expr = "won", meetings: str | pl.Expr = "meetings_booked"
) -> pl.Expr:
    """Won opportunities per meeting booked; null when no meeting was booked.

    Examples
    --------
    >>> df = pl.DataFrame({"won": [2], "meetings_booked": [40]})
    >>> df.select(won_per_meeting().alias("w"))["w"].to_list()
    [0.05]
    """
    return ratio(won, meetings)


def show_rate(
    held: str | pl.Expr = "meetings_held", no_show: str | pl.Expr = "meetings_no_show"
) -> pl.Expr:
    """``held / (held + no_show)``: canceled and still-scheduled meetings are left out.

    Examples
    --------
    >>> df = pl.DataFrame({"meetings_held": [3], "meetings_no_show": [1]})
    >>> df.select(show_rate().alias("s"))["s"].to_list()
    [0.75]
    """
    return ratio(held, _col(held) + _col(no_show))


def share(ok: str | pl.Expr, n: str | pl.Expr) -> pl.Expr:
    """Share ``ok / n`` of counted rows (0-1); null when ``n == 0`` (no evidence).

    Examples
    --------
    >>> pl.DataFrame({"ok": [0, 0], "n": [5, 0]}).select(share("ok", "n"))["ok"].to_list()
    [0.0, None]
    """
    return ratio(ok, n)


def share_within(flag: str | pl.Expr = "within_24h") -> pl.Expr:
    """Aggregation: share of rows whose boolean ``flag`` is true, among rows where it is
    known (nulls, e.g. censored handoffs, are left out); null when none is known.

    Examples
    --------
    >>> df = pl.DataFrame({"within_24h": [True, False, None, True]})
    >>> round(df.select(share_within())["within_24h"].item(), 3)
    0.667
    """
    return _col(flag).cast(pl.Float64).mean()


def amount_weighted_win_rate(
    amount: str | pl.Expr = "amount",
    is_won: str | pl.Expr = "is_won",
    closed: pl.Expr | None = None,
) -> pl.Expr:
    """Aggregation: won amount / closed amount over the rows where ``closed`` holds
    (default ``is_closed``). Rows with a null amount are left out of both sums; null
    when no closed amount is known.

    Examples
    --------
    >>> df = pl.DataFrame({"amount": [100.0, 300.0, None], "is_won": [True, False, True],
    ...                    "is_closed": [True, True, True]})
    >>> df.select(amount_weighted_win_rate().alias("r"))["r"].item()
    0.25
    """
    mask = pl.col("is_closed") if closed is None else closed
    amt = _col(amount).cast(pl.Float64)
    known = mask.fill_null(False) & amt.is_not_null()
    won_amt = amt.filter(known & _col(is_won).fill_null(False)).sum()
    closed_amt = amt.filter(known).sum()
    return pl.when(closed_amt > 0).then(won_amt / closed_amt).otherwise(None)


def wilson_bounds(
    successes: str | pl.Expr, trials: str | pl.Expr, *, alpha: float = 0.05
) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval as lazy expressions ``(low, high)``; null when trials == 0.

    The one Wilson interval, :func:`analysis.shared.wilson_bounds`: statsmodels
    ``proportion_confint(method="wilson")`` underneath, a lazy expression on top.

    Examples
    --------
    >>> lo, hi = wilson_bounds("k", "n")
    >>> pl.DataFrame({"k": [3], "n": [10]}).select(lo.round(4), hi.round(4)).row(0)
    (0.1078, 0.6032)
    """
    return shared.wilson_bounds(successes, trials, alpha=alpha)


# --------------------------------------------------------------------------------------
# row-level hygiene flags: true/false where the check applies, null where it does not


def filled(column: str | pl.Expr) -> pl.Expr:
    """True when a text value is captured: not null and not blank.

    Examples
    --------
    >>> pl.DataFrame({"x": ["a", " ", None]}).select(filled("x"))["x"].to_list()
    [True, False, False]
    """
    c = _col(column).cast(pl.String)
    return c.is_not_null() & (c.str.strip_chars().str.len_bytes() > 0).fill_null(False)


def stage_consistent() -> pl.Expr:
    """Opportunity row: the stage text agrees with the closed/won flags.

    Rules (all must hold): won implies closed; closed implies a ``closed_at`` date that
    is not before the day the deal was created; a stage containing "won" (e.g. "Closed
    Won", HubSpot "closedwon") is won; a stage containing "lost" is closed and not won;
    a stage containing "closed" is closed. Applies to every opportunity.

    Examples
    --------
    >>> from datetime import date, datetime
    >>> df = pl.DataFrame({"stage": ["Closed Won", "Closed Lost", "Negotiation", "Closed Lost"],
    ...     "is_closed": [True, False, False, True], "is_won": [True, False, False, False],
    ...     "closed_at": [None, None, None, date(2026, 7, 1)],
    ...     "created_at": [datetime(2026, 7, 2)] * 4})
    >>> df.select(stage_consistent().alias("ok"))["ok"].to_list()
    [False, False, True, False]
    """
    stage = pl.col("stage").cast(pl.String).str.to_lowercase().fill_null("")
    closed = pl.col("is_closed").fill_null(False)
    won = pl.col("is_won").fill_null(False)
    says_won = stage.str.contains("won")
    says_lost = stage.str.contains("lost")
    says_closed = stage.str.contains("closed")
    closed_before_created = (pl.col("closed_at") < pl.col("created_at").dt.date()).fill_null(False)
    ok = (
        (~won | closed)
        & (~closed | pl.col("closed_at").is_not_null())
        & ~closed_before_created
        & (~says_won | won)
        & (~says_lost | (closed & ~won))
        & (~says_closed | closed)
    )
    return ok.alias("stage_consistent")


def lost_with_reason() -> pl.Expr:
    """Opportunity row: a closed-lost deal has a lost reason; null for other deals.

    Examples
    --------
    >>> df = pl.DataFrame({"is_closed": [True, True, False], "is_won": [False, False, False],
    ...                    "lost_reason": ["price", None, None]})
    >>> df.select(lost_with_reason())["lost_with_reason"].to_list()
    [True, False, None]
    """
    lost = pl.col("is_closed").fill_null(False) & ~pl.col("is_won").fill_null(False)
    return pl.when(lost).then(filled("lost_reason")).otherwise(None).alias("lost_with_reason")


def spine_complete(fields: Sequence[str] = tuple(SPINE_FIELDS)) -> pl.Expr:
    """Opportunity row: all five SPINE fields captured (non-blank).

    Examples
    --------
    >>> df = pl.DataFrame({"a": ["x", "x"], "b": ["y", ""]})
    >>> df.select(spine_complete(["a", "b"]))["spine_complete"].to_list()
    [True, False]
    """
    return pl.all_horizontal([filled(f) for f in fields]).alias("spine_complete")


def calls_with_notes(call_types: Sequence[str] = ("call",)) -> pl.Expr:
    """Activity row: a call carries notes; null for other activity types.

    Examples
    --------
    >>> df = pl.DataFrame({"activity_type": ["call", "call", "email"],
    ...                    "notes": ["pain: X", None, None]})
    >>> df.select(calls_with_notes())["calls_with_notes"].to_list()
    [True, False, None]
    """
    is_call = pl.col("activity_type").cast(pl.String).str.to_lowercase().is_in(list(call_types))
    return pl.when(is_call).then(filled("notes")).otherwise(None).alias("calls_with_notes")


def activity_linked() -> pl.Expr:
    """Activity row: linked to a lead or an opportunity.

    Examples
    --------
    >>> df = pl.DataFrame({"lead_id": ["l1", None], "opportunity_id": [None, None]})
    >>> df.select(activity_linked())["activities_linked"].to_list()
    [True, False]
    """
    return (filled("lead_id") | filled("opportunity_id")).alias("activities_linked")


def component_counts(flag: pl.Expr, name: str) -> list[pl.Expr]:
    """Aggregations ``<name>_ok`` (rows passing) and ``<name>_n`` (rows where it applies).

    Examples
    --------
    >>> df = pl.DataFrame({"f": [True, False, None]})
    >>> df.select(component_counts(pl.col("f"), "f")).row(0)
    (1, 2)
    """
    return [
        flag.fill_null(False).cast(pl.Int64).sum().alias(f"{name}_ok"),
        flag.count().cast(pl.Int64).alias(f"{name}_n"),
    ]


def hygiene_score(components: Sequence[str] = tuple(HYGIENE_COMPONENTS)) -> pl.Expr:
    """0-100 score: mean of the available component shares x 100.

    A component with no evidence (null share) is left out of the mean, never counted as
    0; null when no component has evidence.

    Examples
    --------
    >>> df = pl.DataFrame({"a": [0.5, None], "b": [1.0, None]})
    >>> df.select(hygiene_score(["a", "b"]))["score"].to_list()
    [75.0, None]
    """
    return (pl.mean_horizontal([pl.col(c) for c in components]) * 100.0).alias("score")


def holm_adjusted(p_value: str, *, over: str | Sequence[str]) -> pl.Expr:
    """Holm step-down adjusted p-values within each group (nulls stay null, not tested).

    The same numbers as statsmodels ``multipletests(method="holm")`` per group, as one
    window expression: calling statsmodels once per team costs a garbage collection
    each time (about 0.2 s), which dominates a run with many teams.

    Examples
    --------
    >>> from statsmodels.stats.multitest import multipletests
    >>> df = pl.DataFrame({"g": ["a"] * 4 + ["b"], "p": [0.01, 0.04, 0.03, None, 0.2]})
    >>> df.select(holm_adjusted("p", over="g"))["p"].round(4).to_list()
    [0.03, 0.06, 0.06, None, 0.2]
    >>> multipletests([0.01, 0.04, 0.03], method="holm")[1].round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = pl.col(p_value)
    m = p.count().over(over)
    rank = p.rank("min").over(over)  # tied p-values share the larger multiplier
    step = ((m - rank + 1).cast(pl.Float64) * p).clip(upper_bound=1.0)
    adjusted = step.cum_max().over(over, order_by=p_value)
    return pl.when(p.is_not_null()).then(adjusted).otherwise(None).alias(p_value)
