"""Safe outputs: --out guards, one run at a time, atomic quarter folders, slugs, --team reruns."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reports_fixtures import TRUSTED_TEAM, write_metrics_fixture

from analysis.cli import main
from analysis.errors import BadInputError
from analysis.outputs import MARKER, output_lock
from analysis.periods import Period
from analysis.reports import runner
from analysis.reports.runner import run_reports
from analysis.reports.slugs import team_slugs

Q3 = Period.quarter("2026Q3")
LONG = "Territory " + "x" * 290


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, err.getvalue()


# --- --out guards -----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["metrics", "report"])
def test_out_that_is_a_foreign_folder_or_a_file_is_refused(tmp_path: Path, command: str) -> None:
    metrics = write_metrics_fixture(tmp_path / "m", teams=[TRUSTED_TEAM], empty_teams=[])
    data = tmp_path / "data"
    data.mkdir()
    (data / "reps.csv").write_text("rep_id,role,team\nr1,AE,A\n")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    a_file = data / "reps.csv"
    for out in (foreign, a_file):
        before = _tree(tmp_path)
        source = ["--data", str(data)] if command == "metrics" else ["--metrics", str(metrics)]
        status, err = _cli(command, *source, "--out", str(out), "--quarter", "2026Q3")
        assert status == 2, err
        assert len(err.strip().splitlines()) == 1 and str(out) in err
        assert _tree(tmp_path) == before  # nothing touched, no lock file, no temp folder


def test_metrics_rewrites_its_own_folder_and_marks_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "reps.csv").write_text("rep_id,role,team\nr1,AE,A\n")
    out = tmp_path / "metrics"
    for _ in range(2):
        status, err = _cli("metrics", "--data", str(data), "--out", str(out), "--quarter", "2026Q3")
        assert status == 0, err
    assert (out / MARKER).exists() and (out / "run.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".metrics.lock", "data", "metrics"]


# --- lock -------------------------------------------------------------------------------
def test_a_second_run_exits_2_naming_the_running_one(tmp_path: Path) -> None:
    metrics = write_metrics_fixture(tmp_path / "m", teams=[TRUSTED_TEAM], empty_teams=[])
    out = tmp_path / "reports"
    with output_lock(out):
        status, err = _cli(
            "report", "--metrics", str(metrics), "--out", str(out), "--quarter", "2026Q3"
        )
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert f"pid {os.getpid()}" in err and "started" in err and "wait for it" in err
    assert not (out / "2026Q3").exists()


def _hold(lock: Path) -> subprocess.Popen:
    """A process holding the OS lock on ``lock`` (as an orphaned child of a run would)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_stale_lock_of_a_dead_run_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    lock, info = tmp_path / ".out.lock", tmp_path / ".out.lock.json"
    lock.touch()
    holders = [_hold(lock)]
    try:
        # the run that took the lock is gone (its pid no longer exists)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        info.write_text(json.dumps({"pid": dead.pid, "started": "earlier", "process_started": 0}))
        with output_lock(out):
            assert json.loads(info.read_text())["pid"] == os.getpid()
        assert not info.exists()  # released cleanly
        # a live holder is respected
        holders.append(_hold(lock))
        info.write_text(json.dumps({"pid": holders[-1].pid, "started": "now"}))
        with pytest.raises(BadInputError, match=f"pid {holders[-1].pid}"), output_lock(out):
            pass
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()


# --- slugs ------------------------------------------------------------------------------
def test_slugs_are_unique_short_and_never_index() -> None:
    teams = ["APAC", "apac", "Apac!", "Index", "index", "", "é", LONG, LONG + "y"]
    slugs = team_slugs(teams)
    values = list(slugs.values())
    assert len(set(values)) == len(teams)
    assert len({v.casefold() for v in values}) == len(teams)
    assert all(0 < len(v) <= 80 for v in values)
    assert "index" not in values and slugs["APAC"] == "apac"
    # stable whatever the other teams are
    assert team_slugs(["APAC", "apac"])["apac"] == slugs["apac"]


@pytest.fixture(scope="module")
def odd_teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("odd")
    metrics = write_metrics_fixture(
        tmp / "m", teams=[TRUSTED_TEAM], empty_teams=["Index", LONG, "APAC", "apac"]
    )
    out = tmp / "reports"
    with contextlib.redirect_stderr(io.StringIO()):
        status = run_reports(
            None, period=Q3, out_dir=out, metrics_dir=metrics, jobs=2, progress=False
        )
    assert status == 0
    return {"metrics": metrics, "out": out}


def test_teams_named_index_and_very_long_names_get_their_own_reports(
    odd_teams: dict[str, Path],
) -> None:
    quarter = odd_teams["out"] / "2026Q3"
    manifest = json.loads((quarter / "reports.json").read_text())["results"]
    by_team = {r["team"]: r for r in manifest}
    assert set(by_team) == {TRUSTED_TEAM, "Index", LONG, "APAC", "apac"}
    for team, r in by_team.items():
        assert r["status"] == "ok" and (quarter / r["html"]).exists(), team
        assert len(r["slug"]) <= 80
        assert f"Decision stack: {team}, 2026Q3" in (quarter / r["html"]).read_text()
    assert len({r["slug"].casefold() for r in manifest}) == 5
    index = (quarter / "index.html").read_text()
    assert "<title>Decision stack 2026Q3: team reports</title>" in index
    for r in manifest:
        assert f'href="{r["html"]}"' in index


def test_team_rerun_updates_that_team_and_keeps_the_others(odd_teams: dict[str, Path]) -> None:
    quarter = odd_teams["out"] / "2026Q3"
    before = _tree(quarter)
    status, err = _cli(
        "report",
        "--metrics",
        str(odd_teams["metrics"]),
        "--out",
        str(odd_teams["out"]),
        "--quarter",
        "2026Q3",
        "--team",
        "apac",
        "--jobs",
        "1",
    )
    assert status == 0, err
    after = _tree(quarter)
    slugs = team_slugs([TRUSTED_TEAM, "Index", LONG, "APAC", "apac"])
    rerun = slugs["apac"]
    assert after[f"{rerun}.html"] != before[f"{rerun}.html"]  # rebuilt (new time stamp)
    for team, slug in slugs.items():
        if team != "apac":  # APAC's report is not touched by a rerun of apac
            assert after[f"{slug}.html"] == before[f"{slug}.html"], team
    index = after["index.html"].decode()
    assert index.count("<tr><td>") == 5 and "from an earlier run" in index
    assert not [p for p in odd_teams["out"].iterdir() if ".tmp-" in p.name or ".old-" in p.name]


# --- disk full ------------------------------------------------------------------------
def test_disk_full_while_rendering_leaves_the_previous_reports(
    odd_teams: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    quarter = odd_teams["out"] / "2026Q3"
    before = _tree(quarter)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(quarter / "index.html"))

    monkeypatch.setattr(runner, "write_index", full)
    status, err = _cli(
        "report",
        "--metrics",
        str(odd_teams["metrics"]),
        "--out",
        str(odd_teams["out"]),
        "--quarter",
        "2026Q3",
        "--team",
        "Index",
        "--jobs",
        "1",
    )
    assert status == 1
    errors = [line for line in err.splitlines() if line.startswith("decision-stack: error")]
    assert len(errors) == 1 and "disk full" in errors[0]
    assert _tree(quarter) == before
    assert not [p for p in odd_teams["out"].iterdir() if ".tmp-" in p.name]
