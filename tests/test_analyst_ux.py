"""The analyst's first minutes: load_metrics errors, notebooks command, templates that save unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reports_fixtures import TRUSTED_TEAM, write_metrics_fixture

from analysis import load_metrics
from analysis.cli import main
from analysis.reports.data import MetricsNotFoundError, UnknownTeamError
from analysis.reports.templates import notebook_dir, template_names

ROOT = Path(__file__).resolve().parents[1]
FILTER = (
    "notebook_metadata_filter: -jupytext.text_representation.jupytext_version,"
    "-jupytext.text_representation.format_version"
)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_metrics_fixture(tmp_path_factory.mktemp("ux") / "reports" / "2026Q3" / "_metrics")


def test_missing_metrics_folder_error_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "metrics"
    with pytest.raises(MetricsNotFoundError) as err:
        load_metrics(missing)
    assert str(missing) in str(err.value) and "not found" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MetricsNotFoundError, match=r"no run\.json"):
        load_metrics(tmp_path / "empty")


def test_unknown_team_error_lists_the_teams(metrics: Path) -> None:
    with pytest.raises(UnknownTeamError) as err:
        load_metrics(metrics, team="Nordicz")
    text = str(err.value)
    assert "'Nordicz'" in text and TRUSTED_TEAM in text
    with pytest.raises(UnknownTeamError):  # the empty default is not a team either
        load_metrics(metrics, team="")


def test_relative_default_works_from_the_notebooks_folder(
    metrics: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = metrics.parents[2]
    (project / "notebooks").mkdir(exist_ok=True)
    monkeypatch.chdir(project / "notebooks")  # where a JupyterLab kernel runs
    bundle = load_metrics("reports/2026Q3/_metrics", team=TRUSTED_TEAM)
    assert bundle.metrics_dir is not None
    assert bundle.metrics_dir.resolve() == metrics.resolve()


def test_tables_are_discoverable(metrics: Path) -> None:
    bundle = load_metrics(metrics, team=TRUSTED_TEAM)
    listed = dir(bundle)
    doc = type(bundle).__doc__ or ""
    for name in ("skill_gaps", "bdr_funnel", "rep_load", "hygiene", "handoff_summary"):
        assert name in listed and f"``{name}``" in doc


def test_notebooks_command_writes_every_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    assert main(["notebooks", "--to", str(out)]) == 0
    names = sorted(p.stem for p in out.glob("*.py"))
    assert names == template_names()
    assert {"explore_team", "rep_gaps", "team_quarterly"} <= set(names)
    for name in names:
        assert (out / f"{name}.py").read_text() == (notebook_dir() / f"{name}.py").read_text()
    (out / "rep_gaps.py").write_text("# my edits\n")
    assert main(["notebooks", "--to", str(out)]) == 2  # never overwrites an analyst's work
    assert "already exists" in capsys.readouterr().err
    assert (out / "rep_gaps.py").read_text() == "# my edits\n"
    assert main(["notebooks", "--to", str(out), "--force"]) == 0
    assert (out / "rep_gaps.py").read_text() != "# my edits\n"


def test_opening_and_saving_a_template_does_not_rewrite_it(tmp_path: Path) -> None:
    """What JupyterLab does on save: the kernel's metadata added, written back by jupytext."""
    from jupyter_server.services.contents.largefilemanager import LargeFileManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        notebook_dir(), tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.ipynb")
    )
    manager = build_sync_jupytext_contents_manager_class(LargeFileManager)(root_dir=str(tmp_path))
    for name in template_names():
        path = f"notebooks/{name}.py"
        before = (tmp_path / path).read_text()
        assert FILTER in before and "display_name: Python 3 (ipykernel)" in before, name
        nb = manager.get(path)["content"]
        nb.metadata["kernelspec"] = {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        }
        nb.metadata["language_info"] = {"name": "python", "version": sys.version.split()[0]}
        nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
        manager.save({"type": "notebook", "content": nb}, path)
        again = manager.get(path)["content"]  # reopened with its paired .ipynb
        manager.save({"type": "notebook", "content": again}, path)
        assert (tmp_path / path).read_text() == before, name


def test_lab_settings_open_py_files_as_notebooks(tmp_path: Path) -> None:
    settings = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"other:plugin": {"x": 1}}))
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab_settings.py"), str(tmp_path)], check=True
    )
    data = json.loads(settings.read_text())
    viewers = data["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["python"] == "Jupytext Notebook"
    assert data["other:plugin"] == {"x": 1}  # merged, not replaced


def test_make_lab_allows_root() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\nlab:")[1].split("\n\n")[0]
    assert "--allow-root" in recipe and "id -u" in recipe
