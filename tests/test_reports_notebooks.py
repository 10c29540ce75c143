"""The notebooks: parameter contract, and execution through papermill on fixture metrics."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jupytext
import papermill as pm
import pytest
from reports_fixtures import UNTRUSTED_TEAM, write_metrics_fixture

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

EXPECTED_PARAMETERS = {
    "team_quarterly": {
        "metrics_dir": "str",
        "team": "str",
        "quarter": "str",
        "as_of": "str",
        "tz": "str",
        "summary_path": "str",
    },
    "explore_team": {"data_dir": "str", "metrics_dir": "str", "team": "str", "quarter": "str"},
    "rep_gaps": {"metrics_dir": "str", "team": "str", "role": "str"},
    "pipeline_audit": {"metrics_dir": "str", "team": "str", "min_pushes": "int"},
}


def _execute(name: str, out: Path, **parameters: object) -> dict[str, Any]:
    pm.execute_notebook(
        jupytext.read(NOTEBOOKS / f"{name}.py"),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT),
        shutdown_kernel="immediate",
    )
    return json.loads(out.read_text())


def _markdown(nb: dict[str, Any]) -> str:
    """All markdown the notebook shows: markdown cells and markdown outputs, in order."""
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("data", {}).get("text/markdown", "")))
            parts.append("".join(out.get("data", {}).get("text/html", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_metrics_fixture(tmp_path_factory.mktemp("nb") / "metrics")


@pytest.fixture(scope="module")
def east_report(metrics: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    out = metrics.parent / "east.ipynb"
    summary = metrics.parent / "east.summary.json"
    nb = _execute(
        "team_quarterly",
        out,
        metrics_dir=str(metrics),
        team=UNTRUSTED_TEAM,
        quarter="2026Q3",
        tz="Europe/Berlin",
        summary_path=str(summary),
    )
    return nb, json.loads(summary.read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMETERS))
def test_parameter_contract(name: str) -> None:
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    declared = pm.inspect_notebook(nb)
    assert {k: v["inferred_type_name"] for k, v in declared.items()} == EXPECTED_PARAMETERS[name]
    assert all(v["help"] for v in declared.values()), "every parameter has a # help comment"
    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    # the parameters cell holds only annotated literals
    for stmt in ast.parse(first.source).body:
        assert isinstance(stmt, ast.AnnAssign), ast.dump(stmt)
        assert isinstance(stmt.value, ast.Constant), ast.dump(stmt)
    # no logic is defined inside notebooks
    for cell in nb.cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            assert not any(
                isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
                for n in ast.walk(tree)
            )


def test_team_report_sections_come_in_order(east_report: tuple[dict, dict]) -> None:
    nb, _ = east_report
    text = _markdown(nb)
    headings = [
        "# Decision stack: Enterprise East, 2026Q3",
        "## 1. Data trust",
        "## 2. The decision stack",
        "### 2.3 Fatigue",
        "## 3. BDR funnel",
        "## 4. Handoff latency",
        "## 5. Skill gaps",
        "## 6. Where deals stall",
        "## 7. Definitions and thresholds",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    # as-of date and time zone stamped at the top, in the requested zone
    assert text.index("As of 2026-10-02 10:30 Europe/Berlin") < positions[1]


def test_team_report_content(east_report: tuple[dict, dict]) -> None:
    nb, summary = east_report
    text = _markdown(nb)
    assert "Hygiene score: 48 / 100" in text
    assert "Quarantine" in text and "unknown rep: 12" in text  # quarantine counts
    assert "Fatigue threshold not estimated" in text  # reason instead of an estimate
    assert "**ee-bdr-3**" in text  # flagged BDR named
    assert "too few" in text
    assert text.count("⚠ **hygiene score 48 < 70**: treat these figures with caution.") >= 5
    assert "heuristic" in text
    pngs = [
        o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(pngs) == 7
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    assert summary["flagged_bdrs"] == ["ee-bdr-3"] and summary["trusted"] is False


def test_explore_and_rep_gaps_notebooks_execute(metrics: Path) -> None:
    explore = _execute(
        "explore_team", metrics.parent / "explore.ipynb", metrics_dir=str(metrics), team="SMB North"
    )
    gaps = _execute(
        "rep_gaps",
        metrics.parent / "gaps.ipynb",
        metrics_dir=str(metrics),
        team=UNTRUSTED_TEAM,
        role="AE",
    )
    gaps_text = _markdown(gaps)
    assert "too few" in gaps_text and "44% (30–60%)" in gaps_text
    assert "⚠ **hygiene score 48 < 70**" in gaps_text
    assert any(
        "image/png" in o.get("data", {}) for c in gaps["cells"] for o in c.get("outputs", [])
    )
    outputs = [o for c in explore["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("teams in the run" in "".join(o.get("text", "")) for o in outputs)
