"""Reports name reps by ``reps.name``: every rep of a team by name, no id where a name belongs."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analysis.periods import Period
from analysis.reports.data import load_metrics
from analysis.reports.runner import run_reports

QUARTER = "2026Q3"


class _Text(HTMLParser):
    """The visible text of an HTML page (no tags, attributes, scripts or styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def _busiest_team(metrics: Path) -> str:
    gaps = pl.read_parquet(metrics / "skill_gaps.parquet")
    funnel = pl.read_parquet(metrics / "bdr_funnel.parquet")
    with_bdrs = set(funnel["team"].unique().to_list())
    counts = gaps.filter(pl.col("team").is_in(with_bdrs)).group_by("team").len()
    return counts.sort("len", "team", descending=[True, False])["team"][0]


@pytest.fixture(scope="module")
def named(sample_metrics: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample metrics with held-out-style names: a shared name, a missing one, odd ids."""
    tmp = tmp_path_factory.mktemp("names")
    metrics = tmp / "metrics"
    shutil.copytree(sample_metrics, metrics)
    team = _busiest_team(metrics)
    reps = pl.read_parquet(metrics / "clean" / "reps.parquet")
    mine = reps.filter(pl.col("team") == team).sort("rep_id")
    ids = mine["rep_id"].to_list()
    assert len(ids) >= 4
    # two reps of the team share a name; one has no name at all
    twin, other, unnamed = ids[0], ids[1], ids[2]
    shared = "Dana Whitfield"
    reps = reps.with_columns(
        name=pl.when(pl.col("rep_id").is_in([twin, other]))
        .then(pl.lit(shared))
        .when(pl.col("rep_id") == unnamed)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("name"))
    )
    reps.write_parquet(metrics / "clean" / "reps.parquet")
    status = run_reports(
        None,
        period=Period.quarter(QUARTER),
        out_dir=tmp / "reports",
        teams=[team],
        jobs=1,
        metrics_dir=metrics,
        progress=False,
    )
    assert status == 0
    out = tmp / "reports" / QUARTER
    html = next(p for p in out.glob("*.html") if p.name != "index.html")
    return {
        "team": team,
        "reps": reps.filter(pl.col("team") == team),
        "unnamed": unnamed,
        "shared": shared,
        "text": _visible_text(html.read_text()),
        "index": _visible_text((out / "index.html").read_text()),
        "metrics": metrics,
    }


def test_every_rep_of_the_team_appears_by_name(named: dict[str, Any]) -> None:
    text = named["text"]
    for rep_id, name in named["reps"].select("rep_id", "name").iter_rows():
        expected = rep_id if name is None else name
        assert expected in text, f"{expected} ({rep_id}) is not named in the report"


def test_no_id_of_a_named_rep_appears(named: dict[str, Any]) -> None:
    text = named["text"]
    named_ids = named["reps"].filter(pl.col("name").is_not_null())["rep_id"].to_list()
    leaked = [i for i in named_ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]
    assert leaked == []
    # the rep without a name is shown by id: the report still mentions them
    assert re.search(rf"(?<![\w-]){re.escape(named['unnamed'])}(?![\w-])", text)


def test_shared_names_are_told_apart(named: dict[str, Any]) -> None:
    text = named["text"]
    assert f"{named['shared']} (1)" in text
    assert f"{named['shared']} (2)" in text


def test_index_names_flagged_bdrs(named: dict[str, Any]) -> None:
    bundle = load_metrics(named["metrics"], team=named["team"])
    funnel = bundle.bdr_funnel
    assert funnel is not None
    flagged = funnel.filter(pl.col("flag").fill_null(False))
    for rep_id, name in flagged.select("rep_id", "rep_name").iter_rows():
        assert name in named["index"]
        if name != rep_id:
            assert rep_id not in named["index"]


def test_notebook_frames_keep_the_id_next_to_the_name(named: dict[str, Any]) -> None:
    bundle = load_metrics(named["metrics"], team=named["team"])
    gaps = bundle.skill_gaps
    assert gaps is not None
    assert gaps.columns.index("rep_name") == gaps.columns.index("rep_id") + 1
    unnamed = gaps.filter(pl.col("rep_id") == named["unnamed"])
    if unnamed.height:
        assert unnamed["rep_name"][0] == named["unnamed"]
    assert bundle.reps is not None
    assert set(bundle.reps["rep_id"]) == set(named["reps"]["rep_id"])
