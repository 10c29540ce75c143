"""Run the quarterly team notebook once per team and publish code-free HTML.

Flow (:func:`run_reports`): take the output folder's lock (a second run exits 2) →
build the whole quarter folder in a hidden temporary folder beside the old one →
compute the metrics once into it (``analysis.pipeline.run_metrics``, a separate step)
→ render (:func:`render_reports`: check the template's parameters, execute one kernel
per team in a process pool, export each executed notebook to HTML without code, write
``index.html`` and the ``reports.json`` manifest) → swap the new folder in. A killed,
failed or out-of-space run leaves the previous quarter folder as it was; pool workers
die with the runner. A failed team keeps its failed notebook (papermill's error banner
on top); the others continue and the exit status is 1. ``--team`` reruns rebuild those
teams and carry the other teams' reports over from the previous folder.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.errors import BadInputError
from analysis.log import get_logger
from analysis.log import progress as log_progress
from analysis.outputs import (
    check_output_dir,
    output_lock,
    remove_stale,
    staging_dir,
    swap_into_place,
    write_marker,
)
from analysis.periods import Period
from analysis.reports.slugs import team_slugs
from analysis.reports.templates import notebook_dir

_log = get_logger(__name__)

__all__ = [
    "NOTEBOOK_DIR",
    "check_parameters",
    "notebook_to_html",
    "read_template",
    "render_reports",
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
#: nbconvert's ``lab`` page without the scripts it loads from a CDN (require.js, MathJax,
#: Mermaid, the widget manager): a report opens offline, under a strict CSP, and reaches
#: no third party. The reports hold no math, diagrams or widgets; CSS is inlined.
OFFLINE_TEMPLATE = "decision_stack_offline.html.j2"
_OFFLINE_TEMPLATE_TEXT = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def notebook_to_html(ipynb: Path, html_path: Path, *, title: str | None = None) -> Path:
    """Export an executed notebook to one self-contained HTML page, without code,
    prompts or stderr noise.

    Figures stay embedded as base64 PNG and the CSS is inlined; no script or style
    sheet is loaded from elsewhere (:data:`OFFLINE_TEMPLATE`). Cells tagged
    ``remove-cell`` are dropped, ``remove-input`` cells keep only their output.
    """
    import nbformat
    from jinja2 import DictLoader
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
        config=config,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_loaders=[DictLoader({OFFLINE_TEMPLATE: _OFFLINE_TEMPLATE_TEXT})],
        template_file=OFFLINE_TEMPLATE,
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
                result["os_errno"] = _fatal_errno(err)
                break
        if result["status"] == "ok":
            try:
                notebook_to_html(out_ipynb, out_html, title=f"{task['team']} {task['label']}")
                result["html"] = out_html.name
            except Exception as err:
                result["status"] = "failed"
                result["error"] = f"HTML export failed: {type(err).__name__}: {err}"
                result["os_errno"] = _fatal_errno(err)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


#: OS errors that end the whole run (nothing is swapped in): no space, no permission
_FATAL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


def _fatal_errno(err: BaseException) -> int | None:
    """The errno of a disk-full or permission error anywhere in ``err``'s chain."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FATAL_ERRNOS:
            return seen.errno
        if "No space left on device" in str(seen):
            return errno.ENOSPC
        seen = seen.__cause__ or seen.__context__
    return None


def _worker_init(parent: int) -> None:
    """Pool worker set-up: die with the runner (Linux parent-death signal), default SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the runner died before the signal was armed
        os._exit(1)


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` (so temporary folders and workers are cleaned up)."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    """Write ``index.html`` linking every team with its status and key figures, and the
    change-impact reports beside the quarter folder (``../impact/``), if any."""
    from analysis.reports.links import impact_section

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
        if r.get("kept"):
            status += '<div class="muted">from an earlier run</div>'
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
{impact_section(Path(out).parent)}
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
    """The teams named by ``--team``: the exact name, else the only case-insensitive or
    slug match (``apac`` never picks ``APAC`` when a team ``apac`` exists)."""
    if not wanted:
        return list(known)
    slugs = team_slugs(known)
    chosen, unknown = [], []
    for name in wanted:
        if name in known:
            chosen.append(name)
            continue
        matches = [t for t in known if t.casefold() == name.casefold()] or [
            t for t in known if slugs[t] == name or slugs[t] == team_slugs([name])[name]
        ]
        if len(matches) == 1:
            chosen.append(matches[0])
        elif matches:
            raise BadInputError(
                f"team {name!r} is ambiguous: give one of {', '.join(map(repr, matches))}"
            )
        else:
            unknown.append(name)
    if unknown:
        raise BadInputError(
            f"unknown team(s) {', '.join(map(repr, unknown))}; "
            f"teams in the data: {', '.join(known) or 'none'}"
        )
    return list(dict.fromkeys(chosen))


# --- carrying teams over from the previous folder (``--team`` reruns) -----------------
MANIFEST = "reports.json"


def _previous_results(folder: Path) -> list[dict[str, Any]]:
    """Per team, the last run's result in ``folder`` (manifest, else the notebooks)."""
    manifest = folder / MANIFEST
    if manifest.exists():
        with contextlib.suppress(OSError, ValueError, KeyError):
            return list(json.loads(manifest.read_text())["results"])
    results = []
    for ipynb in sorted(folder.glob("*.ipynb")):  # a folder written before the manifest
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            team = json.loads(ipynb.read_text())["metadata"]["papermill"]["parameters"]["team"]
            html_path = ipynb.with_suffix(".html")
            results.append(
                {
                    "team": str(team),
                    "slug": ipynb.stem,
                    "status": "ok" if html_path.exists() else "failed",
                    "error": None if html_path.exists() else "failed in an earlier run",
                    "ipynb": ipynb.name,
                    "html": html_path.name if html_path.exists() else None,
                }
            )
    return results


def _carry_over(previous: Path, out: Path, *, rebuilt: Sequence[str]) -> list[dict[str, Any]]:
    """Copy the reports of teams not being rebuilt from ``previous`` into ``out``."""
    kept = []
    for result in _previous_results(previous):
        if result.get("team") in rebuilt:
            continue
        slug = str(result.get("slug") or "")
        if not slug or not (previous / f"{slug}.ipynb").exists():
            continue
        for name in (f"{slug}.ipynb", f"{slug}.html", f"{slug}.summary.json"):
            if (previous / name).exists():
                shutil.copy2(previous / name, out / name)
        log = previous / "_logs" / f"{slug}.log"
        if log.exists():
            (out / "_logs").mkdir(exist_ok=True)
            shutil.copy2(log, out / "_logs" / log.name)
        summary = out / f"{slug}.summary.json"
        entry = {k: v for k, v in result.items() if k != "summary"}
        if entry.get("status") == "ok" and summary.exists():
            with contextlib.suppress(ValueError):
                entry["summary"] = json.loads(summary.read_text())
        kept.append({**entry, "kept": True})
    return kept


# --- entry points ---------------------------------------------------------------------
#: the parameters every team template declares (checked before any team runs)
BASE_PARAMETERS: dict[str, object] = {
    "metrics_dir": "",
    "team": "",
    "quarter": "",
    "as_of": "",
    "tz": "UTC",
    "summary_path": "",
}


def _read_run(metrics_dir: Path) -> dict[str, Any]:
    run_file = Path(metrics_dir) / "run.json"
    if not run_file.exists():
        raise BadInputError("not a metrics directory (run.json missing)", file=metrics_dir)
    try:
        return dict(json.loads(run_file.read_text()))
    except ValueError:
        raise BadInputError("unreadable run.json", file=run_file) from None


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

    The ``report`` command (module docstring): one run at a time per ``out_dir``; the
    quarter folder ``out_dir/<label>`` is built beside the old one and swapped in only
    when complete. Metrics are computed once into its ``_metrics`` (unless
    ``metrics_dir`` points at an existing run), then :func:`render_reports` renders.
    Bad input (unknown team, unknown notebook parameter, missing metrics, a foreign
    ``out_dir``, a run already writing it) raises :class:`BadInputError` before any
    team runs.

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
    check_parameters(nb, BASE_PARAMETERS, name=f"notebook template {template!r}")
    if metrics_dir is not None:
        _read_run(Path(metrics_dir))
    root = check_output_dir(out_dir, kind="reports")
    final = root / period.label
    with output_lock(root), _sigterm_exits():
        check_output_dir(root, kind="reports")  # again, now that no one else writes it
        root.mkdir(parents=True, exist_ok=True)
        write_marker(root)
        remove_stale(final)
        stage = staging_dir(final)
        try:
            if metrics_dir is None:
                metrics_path = compute_metrics(
                    Path(data_dir),  # type: ignore[arg-type]
                    stage / "_metrics",
                    period=period,
                    options=metrics_options,
                    progress=progress,
                )
            else:
                metrics_path = Path(metrics_dir)
            status = render_reports(
                metrics_path,
                stage,
                period=period,
                teams=teams,
                jobs=jobs,
                template=nb,
                options=metrics_options,
                previous=final if teams and final.is_dir() else None,
                shown_as=final,
                progress=progress,
                kernel_name=kernel_name,
                execution_timeout=execution_timeout,
            )
            write_marker(stage)
            swap_into_place(stage, final)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    if progress:
        _log.info("reports written to %s", final / "index.html")
    return status


def compute_metrics(
    data_dir: Path,
    out: Path,
    *,
    period: Period,
    options: Mapping[str, object] | None = None,
    progress: bool = True,
) -> Path:
    """The metrics step of ``report``: ``run_metrics`` into ``out``; return ``out``."""
    from analysis.pipeline import run_metrics  # lazy: computed once, here

    kwargs = dict(options or {})
    kwargs.setdefault("progress", progress)
    run_metrics(Path(data_dir), out, period=period, **kwargs)
    for litter in (out.parent / f".{out.name}.lock", out.parent / f".{out.name}.lock.json"):
        litter.unlink(missing_ok=True)  # the report's own lock covers this folder
    return out


def render_reports(
    metrics_dir: Path,
    out: Path,
    *,
    period: Period | None = None,
    teams: Sequence[str] | None = None,
    jobs: int | None = None,
    template: Any = "team_quarterly",
    options: Mapping[str, object] | None = None,
    previous: Path | None = None,
    shown_as: Path | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
    execution_timeout: int = 600,
) -> int:
    """Render the team reports of a metrics run into the folder ``out``; return the status.

    Only renders: the metrics are read from ``metrics_dir`` (never computed). Each team
    runs in its own process and kernel (``jobs`` workers, default the CPU count) and
    produces ``<slug>.ipynb``, ``<slug>.html`` (no code) and ``<slug>.summary.json``;
    ``index.html`` links them all and ``reports.json`` records each team's result.
    With ``previous`` (a ``--team`` rerun) the other teams' reports are copied over from
    that folder. A disk-full or permission error raises :class:`OSError`. ``options``
    are the metric options (``tz`` is the fallback time zone); ``shown_as`` is the folder
    named in messages (where ``out`` will be moved).
    """
    if jobs is not None and jobs < 1:
        raise BadInputError(f"--jobs must be at least 1, got {jobs}")
    nb = read_template(template) if isinstance(template, str | Path) else template
    check_parameters(nb, BASE_PARAMETERS, name="notebook template")
    metrics_path = Path(metrics_dir)
    run = _read_run(metrics_path)
    label = period.label if period else str((run.get("period") or {}).get("label", ""))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    options = dict(options or {})
    known = _teams_of(metrics_path, run)
    chosen = _select_teams(known, teams)
    if not chosen:
        raise BadInputError("no teams to report on (reps has no team)", file=metrics_path)
    slugs = team_slugs(known)
    kept = _carry_over(previous, out, rebuilt=chosen) if previous is not None else []

    tasks = []
    for team in chosen:
        slug = slugs[team]
        summary = out / f"{slug}.summary.json"
        for stale in (summary, out / f"{slug}.html", out / f"{slug}.ipynb"):
            stale.unlink(missing_ok=True)
        params = {
            **BASE_PARAMETERS,
            "metrics_dir": str(metrics_path.resolve()),
            "team": team,
            "quarter": label,
            "as_of": str(run.get("as_of") or ""),
            "tz": str(run.get("tz") or options.get("tz") or "UTC"),
            "summary_path": str(summary.resolve()),
        }
        tasks.append(
            {
                "team": team,
                "slug": slug,
                "label": label,
                "nb": nb,
                "parameters": params,
                "ipynb": str(out / f"{slug}.ipynb"),
                "html": str(out / f"{slug}.html"),
                "log": str(out / "_logs" / f"{slug}.log"),
                "kernel_name": kernel_name,
                "execution_timeout": execution_timeout,
            }
        )

    results = _run_pool(tasks, jobs=jobs, label=label, progress=progress)
    for r in results:
        if r.get("os_errno"):
            raise OSError(r["os_errno"], os.strerror(r["os_errno"]), str(out / r["ipynb"]))
        summary = out / f"{r['slug']}.summary.json"
        if r["status"] == "ok" and summary.exists():
            r["summary"] = json.loads(summary.read_text())
    everything = kept + results
    write_index(out, everything, run=run, label=label)
    manifest = {
        "label": label,
        "results": [{k: v for k, v in r.items() if k != "summary"} for r in everything],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    failed = sorted((r for r in results if r["status"] != "ok"), key=lambda r: r["team"])
    for r in failed:
        where = (shown_as or out) / r["ipynb"]
        _log.error("report failed for team %s: %s (see %s)", r["team"], r["error"], where)
    if progress:
        _log.info("%d/%d team reports ok", len(results) - len(failed), len(results))
    return 1 if failed else 0


def _run_pool(
    tasks: Sequence[dict[str, Any]], *, jobs: int | None, label: str, progress: bool
) -> list[dict[str, Any]]:
    """Run the team tasks in a process pool whose workers die with this process."""
    # Import the heavy modules once here: forked workers inherit them instead of
    # re-importing (the kernel still starts fresh per team).
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    workers = min(jobs or os.cpu_count() or 1, len(tasks))
    results: list[dict[str, Any]] = []
    method = "fork" if sys.platform == "linux" else "spawn"
    ctx = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )
    finished = False
    try:
        # with fork every worker starts at the first submit, before any thread of ours
        futures = {pool.submit(_run_team, task): task for task in tasks}
        bar = log_progress(
            total=len(tasks), desc=f"team reports {label}", unit="team", enabled=progress
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
            results.append(result)
            bar.set_postfix_str(f"{task['team']}: {result['status']}")
            bar.update()
        bar.close()
        finished = True
    finally:
        if not finished:  # interrupted: stop the workers now, do not wait for them
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        pool.shutdown(wait=finished, cancel_futures=not finished)
    return results
