"""run_reports end to end: metrics once, one process per team, a failed team, HTML, index."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from html_checks import page_loads
from reports_fixtures import EMPTY_TEAM, TRUSTED_TEAM, UNTRUSTED_TEAM, write_metrics_fixture

from analysis.errors import BadInputError
from analysis.periods import Period
from analysis.reports.runner import notebook_to_html, run_reports

ROOT = Path(__file__).resolve().parents[1]
Q3 = Period.quarter("2026Q3")
PLANTED_FAILURE = f"""
# %%
if team == {UNTRUSTED_TEAM!r}:
    raise ValueError("planted failure for this team")

"""


def _failing_template(tmp: Path) -> Path:
    """The real team template plus one cell that fails for one team (test-only)."""
    text = (ROOT / "notebooks" / "team_quarterly.py").read_text()
    marker = "# %% [markdown]\n# ## 2. The decision stack"
    assert marker in text
    path = tmp / "team_quarterly_failing.py"
    path.write_text(text.replace(marker, PLANTED_FAILURE.lstrip() + marker))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("run")
    calls: list[dict[str, Any]] = []

    def fake_run_metrics(data_dir: Path, out_dir: Path, **kwargs: object) -> dict:
        calls.append({"data_dir": data_dir, "out_dir": out_dir, **kwargs})
        write_metrics_fixture(out_dir)
        return json.loads((out_dir / "run.json").read_text())

    fake = types.ModuleType("analysis.pipeline")
    fake.run_metrics = fake_run_metrics  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "analysis.pipeline", fake)
        import analysis

        mp.setattr(analysis, "pipeline", fake, raising=False)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            status = run_reports(
                tmp / "data",
                period=Q3,
                out_dir=tmp / "reports",
                jobs=2,
                template=str(_failing_template(tmp)),
                metrics_options={"fatigue_threshold": 45},
                progress=False,
            )
    out = tmp / "reports" / "2026Q3"
    return {"status": status, "calls": calls, "out": out, "stderr": stderr.getvalue()}


def test_metrics_are_computed_once_for_all_teams(run: dict[str, Any]) -> None:
    assert len(run["calls"]) == 1
    call = run["calls"][0]
    # computed into the new quarter folder, which is then swapped in whole
    assert call["out_dir"].name == "_metrics"
    assert (run["out"] / "_metrics" / "run.json").exists()
    assert call["period"] == Q3 and call["fatigue_threshold"] == 45


def test_failed_team_keeps_its_notebook_and_others_continue(run: dict[str, Any]) -> None:
    out = run["out"]
    assert run["status"] == 1
    assert "report failed for team Enterprise East: ValueError: planted failure" in run["stderr"]
    assert "Mid-Market West" not in run["stderr"]
    failed = json.loads((out / "enterprise-east.ipynb").read_text())
    banner = [
        c for c in failed["cells"] if "papermill-error-cell-tag" in c["metadata"].get("tags", [])
    ]
    assert banner and "An Exception was encountered" in "".join(banner[0]["source"])
    assert not (out / "enterprise-east.html").exists()
    for slug in ("mid-market-west", "smb-north"):
        assert (out / f"{slug}.ipynb").exists() and (out / f"{slug}.html").exists()


def test_index_lists_every_team_with_status_and_key_figures(run: dict[str, Any]) -> None:
    index = (run["out"] / "index.html").read_text()
    rows = {
        team: re.search(rf"<tr><td>[^\n]*{re.escape(team)}[^\n]*</tr>", index).group(0)
        for team in (TRUSTED_TEAM, UNTRUSTED_TEAM, EMPTY_TEAM)
    }
    assert 'href="mid-market-west.html"' in rows[TRUSTED_TEAM] and ">ok<" in rows[TRUSTED_TEAM]
    assert ">failed<" in rows[UNTRUSTED_TEAM]
    assert "ValueError: planted failure" in rows[UNTRUSTED_TEAM]
    assert 'href="enterprise-east.ipynb"' in rows[UNTRUSTED_TEAM]
    assert "82 ✓" in rows[TRUSTED_TEAM] and "mmw-bdr-3" in rows[TRUSTED_TEAM]
    assert "no data this quarter" in rows[EMPTY_TEAM]
    assert "failed: Enterprise East" in index


def test_html_has_no_code_and_embeds_figures(run: dict[str, Any]) -> None:
    html = (run["out"] / "mid-market-west.html").read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == 7
    for code in ("load_metrics(", "show(", "import ", "hygiene_threshold: float"):
        assert code not in html
    assert 'class="highlight' not in html and 'class="jp-InputPrompt' not in html
    # only markdown cells have an input area
    cells = re.findall(r'<div class="jp-Cell (jp-\w+Cell)[^"]*"', html)
    code_inputs = re.findall(r'jp-CodeCell[^"]*"[^>]*>\s*<div[^>]*jp-Cell-inputWrapper', html)
    assert "jp-MarkdownCell" in cells and code_inputs == []
    assert "As of 2026-10-02 08:30 UTC" in html


def test_every_page_is_self_contained(run: dict[str, Any]) -> None:
    """Offline-safe and CSP-friendly: no page loads a script, style sheet or image from
    elsewhere (nbconvert's default page pulls require.js and MathJax from a CDN), and
    the pages still show their tables and embedded figures."""
    pages = sorted(run["out"].glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "mid-market-west.html", "smb-north.html"}
    for page in pages:
        loads = page_loads(page.read_text())
        assert loads.external == [], page.name
        assert loads.scripts == 0, page.name
        assert all(src.startswith("data:image/png;base64,") for src in loads.images), page.name
    team = page_loads((run["out"] / "mid-market-west.html").read_text())
    assert len(team.images) == 7 and team.tables >= 5
    assert page_loads((run["out"] / "index.html").read_text()).tables == 1


def test_team_without_data_gets_a_clear_page(run: dict[str, Any]) -> None:
    html = (run["out"] / "smb-north.html").read_text()
    assert "No data for this team this quarter" in html
    assert "Traceback" not in html
    nb = json.loads((run["out"] / "smb-north.ipynb").read_text())
    assert not [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == 0
    summary = json.loads((run["out"] / "smb-north.summary.json").read_text())
    assert summary["has_data"] is False and summary["hygiene_score"] is None


def test_unknown_notebook_parameter_is_an_error(tmp_path: Path) -> None:
    metrics = write_metrics_fixture(tmp_path / "metrics")
    template = tmp_path / "old_template.py"
    text = (ROOT / "notebooks" / "team_quarterly.py").read_text()
    template.write_text(re.sub(r"summary_path: str = .*\n", "", text))
    with pytest.raises(BadInputError, match=r"unknown notebook parameter.*summary_path"):
        run_reports(
            None,
            period=Q3,
            out_dir=tmp_path / "r",
            metrics_dir=metrics,
            template=str(template),
            progress=False,
        )
    assert not (tmp_path / "r").exists()


def test_unknown_team_and_bad_jobs_are_errors(tmp_path: Path) -> None:
    metrics = write_metrics_fixture(tmp_path / "metrics")
    with pytest.raises(BadInputError, match=r"unknown team.*'Nowhere'"):
        run_reports(
            None,
            period=Q3,
            out_dir=tmp_path / "r",
            metrics_dir=metrics,
            teams=["Nowhere"],
            progress=False,
        )
    with pytest.raises(BadInputError, match="--jobs"):
        run_reports(None, period=Q3, out_dir=tmp_path / "r", metrics_dir=metrics, jobs=0)


def test_notebook_to_html_drops_code_and_stderr(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_code = 1")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="noisy warning"),
        nbformat.v4.new_output("display_data", data={"text/markdown": "**visible**"}),
    ]
    hidden = nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["remove-cell"]})
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hidden output")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell, hidden]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    html = notebook_to_html(path, tmp_path / "n.html").read_text()
    assert "visible" in html and "Title" in html
    assert "secret_code" not in html and "noisy warning" not in html and "hidden output" not in html
    loads = page_loads(html)
    assert loads.external == [] and loads.scripts == 0 and "cdnjs" not in html


def test_html_states_the_automatable_share_of_team_summary(run: dict[str, Any]) -> None:
    import polars as pl

    from analysis.reports.tables import fmt_pct

    summary = pl.read_parquet(run["out"] / "_metrics" / "team_summary.parquet")
    row = summary.filter(pl.col("team") == TRUSTED_TEAM).row(0, named=True)
    load = pl.read_parquet(run["out"] / "_metrics" / "decision_load.parquet").filter(
        pl.col("team") == TRUSTED_TEAM
    )
    pattern, judgment = load["pattern_recognition"].sum(), load["judgment"].sum()
    assert row["automatable_share"] == pytest.approx(pattern / (pattern + judgment))
    html = (run["out"] / "mid-market-west.html").read_text()
    assert f"<strong>{fmt_pct(row['automatable_share'], 1)}</strong> pattern recognition" in html
    assert f"<strong>{fmt_pct(row['judgment_share'], 1)}</strong> were judgment" in html
