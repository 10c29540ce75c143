"""Salesforce objects from a warehouse schema laid out as a Fivetran sync would.

Tables ``task``, ``event``, ``opportunity``, ``opportunity_history``, ``user``
and ``user_role`` with lower-case snake_case columns (``owner_id``,
``created_date``, ``loss_reason_c`` ...). Rows with ``_fivetran_deleted`` true
are read and rejected as ``fivetran_deleted`` (so they are accounted). The
period filter is pushed into each query's WHERE clause with a one-day margin
on both sides (UTC), so every rep's local day inside the period is present:

* task: ``COALESCE(completed_date_time, created_date, activity_date)`` in range;
* event: start (``COALESCE(start_date_time, activity_date_time, activity_date)``)
  or ``created_date`` (booking) in range;
* opportunity: created before the end and (open, or ``close_date`` after the start);
* opportunity_history: rows of those opportunities created before the end.

The rows are turned into the same text source frames as the CSV reader and
mapped by :func:`analysis.ingest.salesforce.plan_salesforce`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from analysis.errors import BadInputError
from analysis.ingest.common import ROW, normalise_headers, write_ingest
from analysis.ingest.salesforce import SourceFrame, plan_salesforce
from analysis.redact import display_uri, scrub, uri_secrets

TABLES = {
    "Task": "task",
    "Event": "event",
    "Opportunity": "opportunity",
    "OpportunityHistory": "opportunity_history",
    "User": "user",
    "UserRole": "user_role",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
MARGIN = timedelta(days=1)


def _read(query: str, uri: str) -> pl.DataFrame:
    if "://" not in uri:
        raise BadInputError(
            "--uri must be a URI such as postgresql://user@host:5432/dbname "
            "(a key=value or ODBC connection string is not supported)",
            file=_safe(uri),
        )
    try:
        return pl.read_database_uri(query, uri, engine="adbc")
    except Exception as err:  # driver errors have no common base class
        # the driver may echo the URI: mask every credential before any truncation
        detail = scrub(" ".join(str(err).split()), uri_secrets(uri))[:200]
        raise BadInputError(f"database query failed ({detail})", file=_safe(uri)) from None


def _safe(uri: str) -> str:
    """The URI as shown in messages and written to ingest.json: credentials masked."""
    return display_uri(uri)


def _qualified(schema: str | None, table: str) -> str:
    return f'"{schema}"."{table}"' if schema else f'"{table}"'


def _columns(uri: str, schema: str | None) -> dict[str, set[str]]:
    where = f"table_schema = '{schema}'" if schema else "table_schema = current_schema()"
    names = ", ".join(f"'{t}'" for t in TABLES.values())
    info = _read(
        f"SELECT table_name, column_name FROM information_schema.columns WHERE {where} AND table_name IN ({names})",
        uri,
    )
    out: dict[str, set[str]] = {}
    for table, column in info.iter_rows():
        out.setdefault(str(table), set()).add(str(column).lower())
    return out


def _coalesce(present: set[str], *names: str) -> str | None:
    cols = [f'CAST("{n}" AS timestamp)' for n in names if n in present]
    if not cols:
        return None
    return cols[0] if len(cols) == 1 else f"COALESCE({', '.join(cols)})"


def period_filters(
    columns: dict[str, set[str]], schema: str | None, start: date | None, end: date | None
) -> dict[str, str]:
    """The WHERE clause of each table for ``[start, end)`` (with the one-day margin); '' = no filter."""
    if start is None and end is None:
        return {t: "" for t in TABLES.values()}
    lo = f"TIMESTAMP '{(start - MARGIN).isoformat()}'" if start else None
    hi = f"TIMESTAMP '{(end + MARGIN).isoformat()}'" if end else None

    def within(expr: str | None) -> str | None:
        if expr is None:
            return None
        conds = ([f"{expr} >= {lo}"] if lo else []) + ([f"{expr} < {hi}"] if hi else [])
        return " AND ".join(conds)

    out: dict[str, str] = {"user": "", "user_role": ""}
    task = columns.get("task", set())
    cond = within(_coalesce(task, "completed_date_time", "created_date", "activity_date"))
    out["task"] = f"WHERE {cond}" if cond else ""
    event = columns.get("event", set())
    conds = [
        c
        for c in (
            within(_coalesce(event, "start_date_time", "activity_date_time", "activity_date")),
            within(_coalesce(event, "created_date")),
        )
        if c
    ]
    out["event"] = "WHERE " + " OR ".join(f"({c})" for c in conds) if conds else ""
    opp = columns.get("opportunity", set())
    opp_conds = []
    if hi and "created_date" in opp:
        opp_conds.append(f'CAST("created_date" AS timestamp) < {hi}')
    if lo and "close_date" in opp:
        still_open = 'NOT COALESCE("is_closed", false) OR ' if "is_closed" in opp else ""
        opp_conds.append(f'({still_open}CAST("close_date" AS timestamp) >= {lo})')
    opp_where = " AND ".join(opp_conds)
    out["opportunity"] = f"WHERE {opp_where}" if opp_where else ""
    hist = columns.get("opportunity_history", set())
    hist_conds = []
    if opp_where and "opportunity_id" in hist:
        hist_conds.append(
            f'"opportunity_id" IN (SELECT "id" FROM {_qualified(schema, "opportunity")} WHERE {opp_where})'
        )
    if hi and "created_date" in hist:
        hist_conds.append(f'CAST("created_date" AS timestamp) < {hi}')
    out["opportunity_history"] = "WHERE " + " AND ".join(hist_conds) if hist_conds else ""
    return out


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as the text a Salesforce export would hold (UTC ISO datetimes, true/false)."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            utc = col.dt.convert_time_zone("UTC") if dtype.time_zone else col
            exprs.append(utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(name))
        elif dtype == pl.Date:
            exprs.append(col.dt.strftime("%Y-%m-%d").alias(name))
        elif dtype == pl.Boolean:
            exprs.append(
                pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false")).alias(name)
            )
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)


def read_warehouse(
    uri: str, *, schema: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, SourceFrame]:
    """Query the Salesforce tables present in ``schema`` into text source frames."""
    if schema is not None and not _IDENT.match(schema):
        raise BadInputError(f"bad schema name {schema!r}")
    columns = _columns(uri, schema)
    if not columns:
        raise BadInputError(
            f"no Salesforce tables ({', '.join(TABLES.values())}) in schema {schema or '(default)'}",
            file=_safe(uri),
        )
    filters = period_filters(columns, schema, start, end)
    frames: dict[str, SourceFrame] = {}
    for obj, table in TABLES.items():
        if table not in columns:
            continue
        query = f"SELECT * FROM {_qualified(schema, table)} {filters[table]}".strip()
        data = as_text(_read(query, uri))
        lazy = data.lazy().with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
        location = f"{_safe(uri)}#{schema + '.' if schema else ''}{table}"
        frames[obj] = SourceFrame(location, normalise_headers(lazy), from_csv=False)
    return frames


def ingest_sql(
    uri: str,
    out_dir: Path,
    *,
    schema: str | None = None,
    start: date | None = None,
    end: date | None = None,
    reps_csv: Path | None = None,
    roles: Path | None = None,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> dict:
    """Ingest Fivetran-style Salesforce tables from a database (PostgreSQL via ADBC).

    ``start``/``end`` (end exclusive) are pushed into the queries (module docstring).

    Examples
    --------
    >>> ingest_sql("postgresql://127.0.0.1:1/none", "out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: postgresql://127.0.0.1:1/none: database query failed ...
    """
    frames = read_warehouse(uri, schema=schema, start=start, end=end)
    plan = plan_salesforce(frames, reps_csv=reps_csv, roles=roles, tz=tz, as_of=as_of, source="sql")
    plan.extra["period"] = {
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "margin_days": MARGIN.days,
    }
    return write_ingest(plan, Path(out_dir), tz=tz)
