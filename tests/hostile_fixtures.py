"""A small sample organisation whose text fields are hostile: XSS payloads and odd names.

Built from the real sample generator (small scale) and rewritten so that team names,
rep names, rep ids, activity subjects and activity types, and stage names carry
script-injection payloads. Used by the safe-output tests: every HTML page built from
it must show these values as text, never as live markup.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import polars as pl

#: original team -> hostile team name
TEAM_PAYLOADS = {
    "APAC": "<img src=x onerror=alert('team')>",
    "EMEA": "[click me](javascript:alert('md-link'))",
    "Enterprise East": '"><script>alert("team2")</script>',
    "Mid-Market West": "<svg/onload=alert('svg')>West",
}
REP_NAME_PAYLOAD = "<script>alert('rep-name')</script>"
REP_ID_PAYLOAD = "R002<img src=y onerror=alert('rep-id')>"
SUBJECT_PAYLOAD = "<img src=z onerror=alert('subject')>"
TYPE_PAYLOAD = "webinar<b onmouseover=alert('type')>"
STAGE_PAYLOAD = "<iframe src=javascript:alert('stage')></iframe>"
PAYLOADS = (
    *TEAM_PAYLOADS.values(),
    REP_NAME_PAYLOAD,
    REP_ID_PAYLOAD,
    SUBJECT_PAYLOAD,
    TYPE_PAYLOAD,
    STAGE_PAYLOAD,
)


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def hostile_sample(out: Path, *, seed: int = 7, scale: float = 0.03) -> Path:
    """Write the hostile dataset to ``out`` and return it."""
    from analysis.sample.generate import generate_sample

    generate_sample(out, seed=seed, quarter="2026Q3", scale=scale)
    old_id = "R002"
    rep_cols = {
        "reps": ("rep_id", "manager_id"),
        "activities": ("rep_id",),
        "meetings": ("booked_by", "owner_id"),
        "opportunities": ("owner_id", "sourced_by"),
    }
    for table, cols in rep_cols.items():
        path = out / f"{table}.csv"
        frame = _read(path).with_columns(
            pl.when(pl.col(c) == old_id).then(pl.lit(REP_ID_PAYLOAD)).otherwise(pl.col(c)).alias(c)
            for c in cols
        )
        if table == "reps":
            frame = frame.with_columns(
                pl.col("team").replace(TEAM_PAYLOADS),
                pl.lit(REP_NAME_PAYLOAD).alias("name"),
            )
        if table == "activities":
            # every 7th activity becomes an unknown type with a hostile subject: they are
            # unclassified and so listed in every team's "unmatched shapes" table
            idx = pl.int_range(pl.len()) % 7 == 0
            frame = frame.with_columns(
                pl.when(idx)
                .then(pl.lit(TYPE_PAYLOAD))
                .otherwise("activity_type")
                .alias("activity_type"),
                pl.when(idx).then(pl.lit(SUBJECT_PAYLOAD)).otherwise("subject").alias("subject"),
            )
        frame.write_csv(path)
    for table in ("opportunities", "stage_history"):
        path = out / f"{table}.csv"
        frame = _read(path).with_columns(pl.col("stage").replace({"Qualification": STAGE_PAYLOAD}))
        frame.write_csv(path)
    return out


class LiveMarkup(HTMLParser):
    """Collect what in an HTML page could run script, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            v = (value or "").strip().lower()
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction", "data") and v.startswith(
                ("javascript:", "vbscript:", "data:text")
            ):
                self.problems.append(f"<{tag} {name}={value}>")
        if tag in ("iframe", "svg", "object", "embed", "frame", "base", "form"):
            self.problems.append(f"<{tag}>")
        if tag == "img":
            src = dict(attrs).get("src") or ""
            if not src.startswith("data:image/png"):
                self.problems.append(f"<img src={src}>")
        if tag == "script":
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            if "alert(" in data:
                self.problems.append(f"<script>{data.strip()[:60]}")
        else:
            self.text.append(data)


def live_markup(page: str) -> tuple[list[str], str]:
    """(what could run script, the visible text) of an HTML page."""
    parser = LiveMarkup()
    parser.feed(page)
    parser.close()
    return parser.problems, "".join(parser.text)
