"""Hostile data in every text field: every HTML page shows it as text, never as live markup.

The reports are built from a sample organisation whose team names, rep names, rep ids,
activity subjects and types, and stage names are script-injection payloads; each
page is parsed (not grepped) for anything that could run script.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
from hostile_fixtures import (
    REP_ID_PAYLOAD,
    REP_NAME_PAYLOAD,
    SUBJECT_PAYLOAD,
    TEAM_PAYLOADS,
    TYPE_PAYLOAD,
    hostile_sample,
    live_markup,
)

from analysis.periods import Period

Q3 = Period.quarter("2026Q3")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from analysis.pipeline import run_metrics
    from analysis.reports.runner import run_reports

    tmp = tmp_path_factory.mktemp("xss")
    data = hostile_sample(tmp / "data")
    metrics = tmp / "metrics"
    run_metrics(data, metrics, period=Q3)
    with contextlib.redirect_stderr(io.StringIO()):
        status = run_reports(
            None, period=Q3, out_dir=tmp / "reports", metrics_dir=metrics, jobs=2, progress=False
        )
    out = tmp / "reports" / "2026Q3"
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}
    return {"status": status, "out": out, "pages": pages}


def test_the_checker_sees_live_markup() -> None:
    problems, _ = live_markup(f"<p>{SUBJECT_PAYLOAD}</p><a href='javascript:x()'>a</a>")
    assert len(problems) == 3  # onerror, a non-PNG img src, a javascript: link
    problems, text = live_markup("<p>&lt;img src=x onerror=alert(1)&gt;</p>")
    assert problems == [] and text == "<img src=x onerror=alert(1)>"


def test_every_team_gets_a_report(built: dict[str, Any]) -> None:
    assert built["status"] == 0
    assert len(built["pages"]) == len(TEAM_PAYLOADS) + 1  # the teams and index.html


def test_no_payload_is_live_in_any_page(built: dict[str, Any]) -> None:
    for name, page in built["pages"].items():
        problems, _ = live_markup(page)
        assert problems == [], f"{name}: {problems[:5]}"


def test_payloads_are_shown_as_text(built: dict[str, Any]) -> None:
    texts = {name: live_markup(page)[1] for name, page in built["pages"].items()}
    index = texts.pop("index.html")
    for team in TEAM_PAYLOADS.values():
        assert team in index
        # the team's own page carries its name as visible text in the title heading
        assert any(f"Decision stack: {team}, 2026Q3" in t for t in texts.values()), team
    everything = "\n".join(texts.values())
    # unclassified shapes (type and subject) are listed in the team reports
    assert SUBJECT_PAYLOAD in everything or TYPE_PAYLOAD in everything
    # reps are named by reps.name (the id where the name is missing)
    assert REP_NAME_PAYLOAD in everything or REP_ID_PAYLOAD in everything


def test_notebook_title_is_escaped(built: dict[str, Any]) -> None:
    for name, page in built["pages"].items():
        head = page.split("</title>", 1)[0]
        assert "<img" not in head and "<script>alert" not in head, name
