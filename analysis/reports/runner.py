"""Run the quarterly team notebook once per team and publish code-free HTML.

Flow: compute the metrics once (``analysis.pipeline.run_metrics``) → read the jupytext
template → check the parameters against ``papermill.inspect_notebook`` → execute one
kernel per team in a process pool (papermill, explicit kernel) → export each executed
notebook to HTML without code (nbconvert) → write ``index.html`` with every team's
status and key figures. A failed team keeps its failed notebook (papermill's error
banner on top); the others continue and the exit status is 1.
"""

from __future__ import annotations

import contextlib
import html
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.errors import BadInputError
from analysis.periods import Period
from analysis.reports.data import team_slug
from analysis.reports.templates import notebook_dir

__all__ = [
    "NOTEBOOK_DIR",
    "check_parameters",
    "notebook_to_html",
    "read_template",
    "resolve_template",
    "run_reports",
    "write_index",
]

#: where the notebook templates live: the checkout's ``notebooks/``, else inside the
#: installed package (``analysis.templates``; see ``analysis.reports.templates``)
NOTEBOOK_DIR = notebook_dir()
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


# --- template -------------------------------------------------------------------------
def resolve_template(template: str | Path) -> Path:
    """A template name (``team_quarterly``) or a path to a ``.py``/``.ipynb`` notebook.

    Examples
    --------
    >>> resolve_template("team_quarterly").name
    'team_quarterly.py'
    """
    candidate = Path(template)
    if candidate.suffix in (".py", ".ipynb") and candidate.exists():
        return candidate
    for path in (NOTEBOOK_DIR / f"{template}.py", NOTEBOOK_DIR / f"{template}.ipynb"):
        if path.exists():
            return path
    raise BadInputError(f"no notebook template named {str(template)!r} (looked in {NOTEBOOK_DIR})")


def read_template(template: str | Path) -> Any:
    """Read a template with jupytext into a ``NotebookNode``.

    Examples
    --------
    >>> nb = read_template("team_quarterly")
    >>> "parameters" in nb.cells[0].metadata["tags"]
    True
    """
    import jupytext

    path = resolve_template(template)
    try:
        return jupytext.read(path)
    except Exception as err:  # unreadable template: bad input, one line
        raise BadInputError(f"cannot read notebook template: {err}", file=path) from None


def check_parameters(nb: Any, parameters: Mapping[str, object], *, name: str = "template") -> None:
    """Raise :class:`BadInputError` if a parameter is not declared by the notebook.

    papermill only warns about unknown parameters; a report run must not silently
    ignore one (a typo would leave the default in place).

    Examples
    --------
    >>> nb = read_template("team_quarterly")
    >>> check_parameters(nb, {"team": "A"})
    >>> check_parameters(nb, {"tema": "A"})
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: template: unknown notebook parameter(s) tema; ...
    """
    import papermill as pm

    declared = pm.inspect_notebook(nb)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise BadInputError(
            f"{name}: unknown notebook parameter(s) {', '.join(unknown)}; "
            f"the notebook declares: {', '.join(declared) or 'none'}"
        )


# --- HTML -----------------------------------------------------------------------------
def notebook_to_html(ipynb: Path, html_path: Path, *, title: str | None = None) -> Path:
    """Export an executed notebook to HTML without code, prompts or stderr noise.

    Figures stay embedded as base64 PNG. Cells tagged ``remove-cell`` are dropped,
    ``remove-input`` cells keep only their output.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    nb = nbformat.read(ipynb, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "injected-parameters"}
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    exporter = HTMLExporter(
        config=config, exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or ipynb.stem}})
    html_path.write_text(body, encoding="utf-8")
    return html_path


# --- per-team worker (runs in a child process) -----------------------------------------
@contextlib.contextmanager
def _redirect_fds(log_path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (and so the kernel's) to ``log_path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _run_team(task: dict[str, Any]) -> dict[str, Any]:
    """Execute one team's notebook and export it; never raises (returns a status)."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    # the kernel must import the same ``analysis`` package as this runner
    path = os.environ.get("PYTHONPATH", "")
    if str(_PACKAGE_ROOT) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), path) if p)
    os.environ.setdefault("MPLBACKEND", "Agg")

    out_ipynb, out_html = Path(task["ipynb"]), Path(task["html"])
    result: dict[str, Any] = {
        "team": task["team"],
        "slug": task["slug"],
        "status": "failed",
        "error": None,
        "ipynb": out_ipynb.name,
        "html": None,
        "seconds": None,
    }
    started = time.perf_counter()
    Path(task["log"]).parent.mkdir(parents=True, exist_ok=True)
    with _redirect_fds(Path(task["log"])):
        for attempt in (1, 2):
            try:
                pm.execute_notebook(
                    task["nb"],
                    str(out_ipynb),
                    parameters=task["parameters"],
                    kernel_name=task["kernel_name"],
                    progress_bar=False,
                    execution_timeout=task["execution_timeout"],
                    start_timeout=60,
                    shutdown_kernel="immediate",
                )
                result["status"] = "ok"
                break
            except PapermillExecutionError as err:
                result["error"] = f"{err.ename}: {err.evalue} (cell {err.exec_count})"
                break
            except (RuntimeError, DeadKernelError) as err:  # kernel start races: retry once
                result["error"] = f"{type(err).__name__}: {err}"
                if attempt == 2 or (out_ipynb.exists() and _executed_any(out_ipynb)):
                    break
            except Exception as err:
                result["error"] = f"{type(err).__name__}: {err}"
                break
        if result["status"] == "ok":
            try:
                notebook_to_html(out_ipynb, out_html, title=f"{task['team']} {task['label']}")
                result["html"] = out_html.name
            except Exception as err:
                result["status"] = "failed"
                result["error"] = f"HTML export failed: {type(err).__name__}: {err}"
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _executed_any(ipynb: Path) -> bool:
    try:
        nb = json.loads(ipynb.read_text())
    except (OSError, ValueError):
        return False
    return any(c.get("execution_count") for c in nb.get("cells", []))


# --- index ----------------------------------------------------------------------------
def _fmt_pct(x: Any) -> str:
    return "—" if x is None else f"{float(x) * 100:.0f}%"


def write_index(
    out: Path, results: Sequence[Mapping[str, Any]], *, run: Mapping[str, Any], label: str
) -> Path:
    """Write ``index.html`` linking every team with its status and key figures."""
    rows = []
    for r in sorted(results, key=lambda r: str(r["team"]).lower()):
        s: Mapping[str, Any] = r.get("summary") or {}
        ok = r["status"] == "ok"
        link = (
            f'<a href="{html.escape(r["html"])}">{html.escape(r["team"])}</a>'
            if ok and r.get("html")
            else html.escape(r["team"])
        )
        nb_link = f'<a href="{html.escape(r["ipynb"])}">notebook</a>'
        status = (
            '<span class="ok">ok</span>'
            if ok
            else f'<span class="failed">failed</span><div class="err">'
            f"{html.escape(str(r.get('error') or ''))}</div>"
        )
        if ok and s and not s.get("has_data", True):
            status += '<div class="muted">no data this quarter</div>'
        score = s.get("hygiene_score")
        trusted = s.get("trusted")
        hyg = (
            "—"
            if score is None
            else f"{score:.0f}" + ("" if trusted is None else (" ✓" if trusted else " ⚠"))
        )
        median = s.get("median_decisions_per_day")
        flagged = s.get("flagged_bdrs")
        flagged_txt = "—" if flagged is None else (", ".join(map(html.escape, flagged)) or "none")
        cells = [
            link,
            status,
            nb_link,
            hyg,
            "—" if median is None else f"{median:.0f}",
            flagged_txt,
            _fmt_pct(s.get("share_within_24h")),
            _fmt_pct(s.get("top_performer_rate")),
        ]
        if not ok:
            cells[3:] = ["—"] * 5
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    period = run.get("period") or {}
    thresholds = run.get("thresholds") or {}
    failed = [r["team"] for r in results if r["status"] != "ok"]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    thr = ", ".join(f"{html.escape(str(k))} {html.escape(str(v))}" for k, v in thresholds.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Decision stack {html.escape(label)}: team reports</title>
<style>
body {{ font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 6px 12px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; border-bottom: 2px solid #444; }}
.ok {{ color: #2a7a2a; font-weight: bold; }}
.failed {{ color: #b00020; font-weight: bold; }}
.err {{ color: #b00020; font-size: 0.85em; max-width: 28em; }}
.muted {{ color: #777; font-size: 0.85em; }}
</style></head><body>
<h1>Decision stack: {html.escape(label)}</h1>
<p>Period {html.escape(str(period.get("start", "?")))} up to (not including)
{html.escape(str(period.get("end", "?")))} · as of {html.escape(str(run.get("as_of", "?")))}
· time zone {html.escape(str(run.get("tz", "UTC")))} · reports built {stamp}</p>
<p>{len(results) - len(failed)} of {len(results)} team reports ok{
        "" if not failed else " · failed: " + html.escape(", ".join(failed))
    }.
Thresholds (heuristics): {thr or "—"}.</p>
<table>
<thead><tr><th>Team</th><th>Status</th><th>Notebook</th><th>Hygiene (✓ trusted, ⚠ not)</th>
<th>Decisions / rep-day (median)</th><th>Flagged BDRs</th><th>Handoffs within 24 h</th>
<th>Top performer win rate (shrunk)</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p class="muted">— means no evidence (never zero). Each report opens with its data-trust
summary; figures on untrusted data carry a ⚠ warning.</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


# --- teams ----------------------------------------------------------------------------
def _teams_of(metrics_dir: Path, run: Mapping[str, Any]) -> list[str]:
    teams = run.get("teams")
    if teams:
        return sorted(map(str, teams))
    import polars as pl

    found: set[str] = set()
    for name in ("hygiene", "decision_load", "bdr_funnel", "skill_gaps", "rep_load"):
        path = metrics_dir / f"{name}.parquet"
        if path.exists():
            col = pl.scan_parquet(path).select("team").unique().collect()["team"]
            found.update(t for t in col.to_list() if t is not None and t != "all")
    return sorted(found)


def _select_teams(known: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    if not wanted:
        return list(known)
    by_slug = {team_slug(t): t for t in known}
    chosen, unknown = [], []
    for name in wanted:
        team = name if name in known else by_slug.get(team_slug(name))
        (chosen if team else unknown).append(team or name)
    if unknown:
        raise BadInputError(
            f"unknown team(s) {', '.join(map(repr, unknown))}; "
            f"teams in the data: {', '.join(known) or 'none'}"
        )
    return list(dict.fromkeys(chosen))


def _slugs(teams: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for team in teams:
        slug, n = team_slug(team), 2
        base = slug
        while slug in used or slug.startswith("_"):
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        out[team] = slug
    return out


# --- entry point ----------------------------------------------------------------------
def run_reports(
    data_dir: Path | None,
    *,
    period: Period,
    out_dir: Path,
    teams: Sequence[str] | None = None,
    jobs: int | None = None,
    metrics_dir: Path | None = None,
    metrics_options: Mapping[str, object] | None = None,
    template: str = "team_quarterly",
    progress: bool = True,
    kernel_name: str = "python3",
    execution_timeout: int = 600,
) -> int:
    """Build every team's quarterly report; return the exit status (0 ok, 1 a team failed).

    Metrics are computed once into ``out_dir/<label>/_metrics`` (unless ``metrics_dir``
    points at an existing run) and shared by every team notebook. Each team runs in its
    own process and kernel (``jobs`` workers, default the CPU count) and produces
    ``<slug>.ipynb``, ``<slug>.html`` (no code) and ``<slug>.summary.json``;
    ``index.html`` links them all. Bad input (unknown team, unknown notebook
    parameter, missing metrics) raises :class:`BadInputError` before any team runs.

    Examples
    --------
    >>> run_reports(None, period=Period.quarter("2026Q3"), out_dir=Path("x"))
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: report: give a data directory or an existing metrics directory
    """
    if jobs is not None and jobs < 1:
        raise BadInputError(f"--jobs must be at least 1, got {jobs}")
    if data_dir is None and metrics_dir is None:
        raise BadInputError("report: give a data directory or an existing metrics directory")
    nb = read_template(template)
    out = Path(out_dir) / period.label
    options = dict(metrics_options or {})

    base_params = {
        "metrics_dir": "",
        "team": "",
        "quarter": period.label,
        "as_of": "",
        "tz": "UTC",
        "summary_path": "",
    }
    check_parameters(nb, base_params, name=f"notebook template {template!r}")

    if metrics_dir is None:
        from analysis.pipeline import run_metrics  # lazy: computed once, here

        metrics_path = out / "_metrics"
        assert data_dir is not None
        options.setdefault("progress", progress)
        run = run_metrics(Path(data_dir), metrics_path, period=period, **options)
    else:
        metrics_path = Path(metrics_dir)
        run_file = metrics_path / "run.json"
        if not run_file.exists():
            raise BadInputError("not a metrics directory (run.json missing)", file=metrics_path)
        run = json.loads(run_file.read_text())
    out.mkdir(parents=True, exist_ok=True)

    chosen = _select_teams(_teams_of(metrics_path, run), teams)
    if not chosen:
        raise BadInputError("no teams to report on (reps has no team)", file=metrics_path)
    slugs = _slugs(chosen)

    tasks = []
    for team in chosen:
        slug = slugs[team]
        summary = out / f"{slug}.summary.json"
        for stale in (summary, out / f"{slug}.html"):
            stale.unlink(missing_ok=True)
        params = {
            **base_params,
            "metrics_dir": str(metrics_path.resolve()),
            "team": team,
            "as_of": str(run.get("as_of") or ""),
            "tz": str(run.get("tz") or options.get("tz") or "UTC"),
            "summary_path": str(summary.resolve()),
        }
        tasks.append(
            {
                "team": team,
                "slug": slug,
                "label": period.label,
                "nb": nb,
                "parameters": params,
                "ipynb": str(out / f"{slug}.ipynb"),
                "html": str(out / f"{slug}.html"),
                "log": str(out / "_logs" / f"{slug}.log"),
                "kernel_name": kernel_name,
                "execution_timeout": execution_timeout,
            }
        )

    # Import the heavy modules once here: forked workers inherit them instead of
    # re-importing (the kernel still starts fresh per team).
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401
    from tqdm.auto import tqdm

    workers = min(jobs or os.cpu_count() or 1, len(tasks))
    results: list[dict[str, Any]] = []
    method = "fork" if sys.platform == "linux" else "spawn"
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        # with fork every worker starts at the first submit, before any thread of ours
        futures = {pool.submit(_run_team, task): task for task in tasks}
        bar = tqdm(
            total=len(tasks),
            desc=f"team reports {period.label}",
            unit="team",
            file=sys.stderr,
            disable=not progress,
        )
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as err:  # the worker process itself died
                result = {
                    "team": task["team"],
                    "slug": task["slug"],
                    "status": "failed",
                    "error": f"{type(err).__name__}: {err}",
                    "ipynb": Path(task["ipynb"]).name,
                    "html": None,
                }
            summary = out / f"{task['slug']}.summary.json"
            if result["status"] == "ok" and summary.exists():
                result["summary"] = json.loads(summary.read_text())
            results.append(result)
            bar.set_postfix_str(f"{task['team']}: {result['status']}")
            bar.update()
        bar.close()

    index = write_index(out, results, run=run, label=period.label)
    failed = sorted((r for r in results if r["status"] != "ok"), key=lambda r: r["team"])
    for r in failed:
        print(
            f"report failed for team {r['team']}: {r['error']} (see {out / r['ipynb']})",
            file=sys.stderr,
        )
    if progress:
        print(
            f"{len(results) - len(failed)}/{len(results)} team reports ok: {index}", file=sys.stderr
        )
    return 1 if failed else 0
