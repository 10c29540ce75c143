"""Scale benchmark: the decision-stack metrics against a polars floor and a pandas baseline.

Usage::

    .venv/bin/python benchmarks/run.py --activities 15000000 [--out benchmarks/out]
        [--streaming] [--in-memory] [--skip-pandas] [--scales 1500000,15000000]
        [--repeat N] [--only floor,metrics,pandas] [--keep-outputs] [--csv]

For each scale it generates (or reuses) a canonical dataset with
``benchmarks/generate.py`` and runs each measured thing in its own subprocess,
so that its peak memory is its own (the child reports its ``VmHWM``:
``ru_maxrss`` of a forked child would include the parent's resident set):

``floor``
    The reference: scan activities, join reps, rep-local day, ``seq_in_day``
    and the per rep-day count, in straightforward polars lazy, collected.
``metrics``
    The full ``decision-stack metrics`` (``analysis.pipeline.run_metrics``,
    default engine), with its per-stage timings and per-stage peak memory.
``pandas``
    The decision-load table as a RevOps analyst would write it in pandas.
``metrics_csv``
    (``--csv``, largest scale only) the metrics on the same dataset written as CSV
    files (an analyst's export: every value is text to parse), its outputs compared
    with the default run's.
``metrics_streaming`` / ``metrics_in_memory``
    (``--streaming`` / ``--in-memory``, largest scale only) the metrics with
    every collect on that polars engine (``engine=`` and
    ``POLARS_ENGINE_AFFINITY``), and a table-by-table check that the outputs
    equal the default run's (rows sorted). In polars 2.x the default
    ``"auto"`` engine is the streaming one.

Writes a markdown table to stdout and ``OUT/results.md``, ``OUT/results.json``
and the children's stderr to ``OUT/bench.log``. A stage that fails (e.g. the
pipeline is not importable yet) is reported as failed with its error and the
timings of the stages before the failure, and the others still run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUARTER = "2026Q3"
GIB = 1024**3

# --------------------------------------------------------------------------
# children: each runs in its own process and writes a JSON result file
# --------------------------------------------------------------------------


def child_floor(data: Path, out: Path) -> dict[str, Any]:
    """The reference query, collected (and, timed separately, written)."""
    import polars as pl

    from analysis.periods import Period

    period = Period.quarter(QUARTER)
    t0 = time.perf_counter()
    reps = pl.scan_parquet(data / "reps.parquet").select("rep_id", "team", "timezone")
    zones = reps.select(pl.col("timezone").unique().sort()).collect().to_series().to_list()
    acts = pl.scan_parquet(data / "activities.parquet").select(
        "activity_id", "rep_id", "occurred_at"
    )
    local_day: pl.Expr = pl.lit(None, dtype=pl.Date)
    for zone in zones:
        local_day = (
            pl.when(pl.col("timezone") == zone)
            .then(pl.col("occurred_at").dt.convert_time_zone(zone).dt.date())
            .otherwise(local_day)
        )
    decisions = (
        acts.join(reps, on="rep_id", how="inner")
        .with_columns(local_day.alias("day"))
        .filter(pl.col("day").is_between(period.start, period.end, closed="left"))
        .with_columns(
            pl.col("occurred_at")
            .rank("ordinal")
            .over("rep_id", "day", order_by="occurred_at")
            .cast(pl.UInt32)
            .alias("seq_in_day")
        )
    )
    load = decisions.group_by("rep_id", "team", "day").agg(pl.len().alias("decisions"))
    dec_df, load_df = pl.collect_all([decisions, load])
    collect_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    dec_df.write_parquet(out / "floor_decisions.parquet")
    load_df.sort("rep_id", "day").write_parquet(out / "floor_decision_load.parquet")
    write_s = time.perf_counter() - t1
    return {
        "seconds": round(collect_s, 3),
        "detail": {"collect_s": round(collect_s, 3), "write_s": round(write_s, 3)},
        "rows": {"decisions": dec_df.height, "rep_days": load_df.height},
    }


def child_pandas(data: Path, out: Path) -> dict[str, Any]:
    """The decision-load table in plain pandas (the analyst's baseline)."""
    import pandas as pd

    t0 = time.perf_counter()
    steps: dict[str, float] = {}

    def mark(name: str, since: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - since, 3)
        return now

    t = t0
    acts = pd.read_parquet(
        data / "activities.parquet", columns=["activity_id", "rep_id", "occurred_at"]
    )
    reps = pd.read_parquet(data / "reps.parquet", columns=["rep_id", "team", "timezone"])
    t = mark("read", t)
    df = acts.merge(reps, on="rep_id", how="inner")
    t = mark("merge", t)
    # local midnight as a naive datetime64 (the fast idiom; ``.dt.date`` would
    # build 15M Python objects and make the baseline look worse than it need be)
    parts = []
    for zone, group in df.groupby("timezone", sort=True):
        local = group["occurred_at"].dt.tz_convert(zone).dt.tz_localize(None)
        parts.append(group.assign(day=local.dt.normalize()))
    df = pd.concat(parts, ignore_index=True)
    t = mark("local_day", t)
    start, end = pd.Timestamp("2026-07-01"), pd.Timestamp("2026-10-01")
    df = df[(df["day"] >= start) & (df["day"] < end)]
    df = df.sort_values(["rep_id", "day", "occurred_at"], kind="stable")
    df["seq_in_day"] = df.groupby(["rep_id", "day"]).cumcount() + 1
    t = mark("sort_seq", t)
    load = df.groupby(["rep_id", "team", "day"], sort=True).size().rename("decisions").reset_index()
    t = mark("groupby", t)
    seconds = t - t0
    out.mkdir(parents=True, exist_ok=True)
    load.to_parquet(out / "pandas_decision_load.parquet", index=False)
    return {
        "seconds": round(seconds, 3),
        "detail": steps,
        "rows": {"decisions": len(df), "rep_days": len(load)},
    }


def _child_metrics(data: Path, out: Path, engine: str) -> dict[str, Any]:
    from analysis.periods import Period
    from analysis.pipeline import run_metrics

    t0 = time.perf_counter()
    run = run_metrics(data, out, period=Period.quarter(QUARTER), progress=True, engine=engine)
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "detail": run.get("timings_s", {}),
        "rows": run.get("tables", {}),
    }


def child_metrics(data: Path, out: Path) -> dict[str, Any]:
    """The full decision-stack metrics run (default engine)."""
    return _child_metrics(data, out, "auto")


def child_metrics_streaming(data: Path, out: Path) -> dict[str, Any]:
    """The full decision-stack metrics run on the streaming engine (every collect)."""
    return _child_metrics(data, out, "streaming")


def child_metrics_in_memory(data: Path, out: Path) -> dict[str, Any]:
    """The full decision-stack metrics run on the in-memory engine (every collect)."""
    return _child_metrics(data, out, "in-memory")


CHILDREN = {
    "floor": child_floor,
    "metrics": child_metrics,
    "pandas": child_pandas,
    "metrics_csv": child_metrics,  # the same run, on the CSV copy of the dataset
    "metrics_streaming": child_metrics_streaming,
    "metrics_in_memory": child_metrics_in_memory,
}
#: Engine affinity per child, so that collects inside the pipeline that do not
#: take ``engine=`` follow it too (polars 2.x: "auto" means streaming unless set).
AFFINITY = {"metrics_streaming": "streaming", "metrics_in_memory": "in-memory"}


def _vmhwm_gib() -> float | None:
    """This process's peak resident set (``VmHWM``), GiB.

    ``ru_maxrss`` of a child also counts the parent's resident set at fork
    time (Linux carries the high-water mark across ``execve``), so the child
    reads its own ``VmHWM``, which belongs to the post-exec address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / GIB
    except OSError:
        pass
    return None


class _StagePeaks:
    """Each pipeline stage's timing and peak memory, and the process's peak.

    :func:`_track_stage_peaks` fills it from the pipeline's own stage timer.
    """

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.stage_peak_gib: dict[str, float] = {}
        self.peak_gib = 0.0

    def hwm(self) -> float:
        """The kernel's peak-RSS mark now (GiB), kept in the running maximum."""
        hwm = _vmhwm_gib() or 0.0
        self.peak_gib = max(self.peak_gib, hwm)
        return hwm


def _track_stage_peaks(peaks: _StagePeaks) -> None:
    """Give each pipeline stage its own peak RSS: reset the kernel's mark as it starts.

    Wraps ``analysis.pipeline._Stages.stage`` (the stage timer every stage goes through),
    so the figures do not depend on what the progress bar prints.
    """
    try:
        from analysis import pipeline
    except ImportError:  # the pipeline is not importable: the child reports the failure
        return
    original = pipeline._Stages.stage

    @contextlib.contextmanager
    def stage(self: Any, name: str) -> Any:
        peaks.hwm()
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        with original(self, name):
            yield
        peaks.stages[name] = self.timings[name]
        peaks.stage_peak_gib[name] = round(peaks.hwm(), 3)

    pipeline._Stages.stage = stage  # type: ignore[method-assign]


def _child_main(kind: str, data: Path, out: Path, result: Path) -> int:
    sys.path.insert(0, str(ROOT))
    peaks = _StagePeaks()
    _track_stage_peaks(peaks)
    try:
        payload = {"ok": True, **CHILDREN[kind](data, out)}
    except BaseException as err:  # report any failure, never crash the harness
        payload = {
            "ok": False,
            "error": f"{type(err).__name__}: {err}"[:500],
            "detail": {f"{k} (before failure)": v for k, v in peaks.stages.items()},
            "traceback": traceback.format_exc()[-3000:],
        }
    payload["vmhwm_gib"] = max(_vmhwm_gib() or 0.0, peaks.peak_gib) or None
    if peaks.stage_peak_gib:
        payload["stage_peak_rss_gib"] = peaks.stage_peak_gib
    result.write_text(json.dumps(payload, default=str))
    return 0 if payload["ok"] else 1


# --------------------------------------------------------------------------
# parent
# --------------------------------------------------------------------------


def measure(kind: str, data: Path, out: Path, *, log: Path) -> dict[str, Any]:
    """Run one child; return its result plus process wall time and peak RSS."""
    out.mkdir(parents=True, exist_ok=True)
    result = out / f"{kind}.result.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", kind]
    cmd += ["--_data", str(data), "--_out", str(out / kind), "--_result", str(result)]
    print(f"[bench] {kind} on {data.name} …", file=sys.stderr, flush=True)
    load_before = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"\n===== {kind} {data} =====\n")
        fh.flush()
        env = dict(os.environ)
        # as the CLI does (analysis/cli.py): many small fits, BLAS threads only contend
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        env.setdefault("OMP_NUM_THREADS", "1")
        if kind in AFFINITY:
            env["POLARS_ENGINE_AFFINITY"] = AFFINITY[kind]
        proc = subprocess.Popen(cmd, stdout=fh, stderr=fh, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss_gib = usage.ru_maxrss * 1024 / GIB  # Linux: KiB; includes the parent at fork
    if result.exists():
        res = json.loads(result.read_text())
    else:
        res = {"ok": False, "error": f"child died (exit {proc.returncode}); see {log}"}
    hwm = res.get("vmhwm_gib")
    rss_gib = hwm if hwm is not None else maxrss_gib
    res.update(
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        load_before=load_before,
        process_wall_s=round(wall, 3),
        peak_rss_gib=round(rss_gib, 3),
        ru_maxrss_gib=round(maxrss_gib, 3),
    )
    state = "ok" if res["ok"] else f"FAILED: {res['error']}"
    print(
        f"[bench] {kind}: {res.get('seconds', wall):.1f}s (cpu {res['cpu_s']:.1f}s, "
        f"load {load_before}), {rss_gib:.2f} GiB — {state}",
        file=sys.stderr,
        flush=True,
    )
    return res


def measure_best(kind: str, data: Path, out: Path, *, log: Path, repeat: int = 1) -> dict[str, Any]:
    """``measure`` ``repeat`` times; keep the fastest run (all wall times are recorded)."""
    runs = [measure(kind, data, out, log=log) for _ in range(max(repeat, 1))]
    good = [r for r in runs if r.get("ok")]
    best = min(good, key=lambda r: r["seconds"]) if good else runs[-1]
    if repeat > 1:
        best["all_seconds"] = [r.get("seconds") for r in runs]
    return best


def ensure_data(root: Path, n: int) -> Path:
    """Generate (or reuse) the dataset with ``n`` activities (in a subprocess)."""
    data = root / "data" / str(n)
    meta = data / "benchmark_meta.json"
    if meta.exists() and json.loads(meta.read_text())["rows"]["activities"] == n:
        return data
    print(f"[bench] generating {n:,} activities into {data}", file=sys.stderr, flush=True)
    if data.exists():
        shutil.rmtree(data)
    cmd = [sys.executable, str(HERE / "generate.py"), "--activities", str(n), "--out", str(data)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return data


def ensure_csv(data: Path) -> Path:
    """The dataset in ``data`` written as CSV files beside it (made once, streamed)."""
    import polars as pl

    csv = data.with_name(f"{data.name}-csv")
    done = csv / "benchmark_meta.json"
    if done.exists() and done.read_text() == (data / "benchmark_meta.json").read_text():
        return csv
    print(f"[bench] writing the CSV copy {csv}", file=sys.stderr, flush=True)
    csv.mkdir(parents=True, exist_ok=True)
    for path in sorted(data.glob("*.parquet")):
        pl.scan_parquet(path).sink_csv(csv / f"{path.stem}.csv")
    shutil.copyfile(data / "benchmark_meta.json", done)  # last: marks the copy complete
    return csv


def warm_cache(data: Path) -> None:
    """Read the input files once so that every stage sees a warm page cache."""
    for path in sorted([*data.glob("*.parquet"), *data.glob("*.csv")]):
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass


def compare_outputs(a: Path, b: Path) -> dict[str, str]:
    """Table-by-table comparison of two metrics output folders (sorted rows)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    verdict: dict[str, str] = {}
    names = sorted({p.name for p in a.glob("*.parquet")} | {p.name for p in b.glob("*.parquet")})
    for name in names:
        pa_, pb = a / name, b / name
        if not (pa_.exists() and pb.exists()):
            verdict[name] = "missing in one run"
            continue
        x, y = pl.read_parquet(pa_), pl.read_parquet(pb)
        if x.schema != y.schema or x.height != y.height:
            verdict[name] = f"differs (schema or rows: {x.height} vs {y.height})"
            continue
        keys = [c for c, t in x.schema.items() if not t.is_nested()]
        x, y = x.sort(keys, nulls_last=True), y.sort(keys, nulls_last=True)
        if x.equals(y):
            verdict[name] = "identical"
            continue
        try:
            assert_frame_equal(x, y, rel_tol=1e-9, abs_tol=1e-12)
            verdict[name] = "equal within 1e-9 (float rounding)"
        except AssertionError as err:
            verdict[name] = "DIFFERS: " + " ".join(str(err).split())[:200]
    return verdict


def _fmt(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def build_report(results: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The markdown tables and the target verdicts."""
    lines = [
        f"# decision-stack scale benchmark ({results['machine']['when']})",
        "",
        f"Machine: {results['machine']['cpus']} CPUs, {results['machine']['mem_gib']} GiB RAM, "
        f"Python {results['machine']['python']}, polars {results['machine']['polars']}, "
        f"pandas {results['machine']['pandas']}.",
        "",
        "Seconds: wall time of the measured work inside the child process (imports "
        "excluded; fastest of the repeats). CPU: user+sys seconds of the whole child. "
        "Peak RSS: the child's VmHWM. Load: 1-minute load average when the child "
        "started (the machine has 2 cores; above ~2 other work competed).",
        "",
        "| activities | stage | seconds | CPU s | peak RSS GiB | ratio to floor | load | status |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    targets: dict[str, Any] = {}
    by_scale = results["scales"]
    for n, runs in by_scale.items():
        floor = runs.get("floor", {})
        floor_s = floor.get("seconds") if floor.get("ok") else None
        for kind, res in runs.items():
            if kind.startswith("_"):
                continue
            secs = res.get("seconds") if res.get("ok") else None
            ratio = secs / floor_s if secs is not None and floor_s else None
            status = "ok" if res.get("ok") else "FAILED: " + res.get("error", "?")[:80]
            lines.append(
                f"| {int(n):,} | **{kind}** | {_fmt(secs)} | {_fmt(res.get('cpu_s'))} "
                f"| {_fmt(res.get('peak_rss_gib'), 2)} | {_fmt(ratio, 2)} "
                f"| {_fmt(res.get('load_before'))} | {status} |"
            )
            stage_peaks = res.get("stage_peak_rss_gib") or {}
            for stage, s in (res.get("detail") or {}).items():
                peak = _fmt(stage_peaks.get(stage), 2) if stage in stage_peaks else ""
                lines.append(
                    f"| {int(n):,} | &nbsp;&nbsp;{kind}: {stage} | {_fmt(s)} | | {peak} | | | |"
                )
    lines.append("")

    def ok(n: str, kind: str) -> dict[str, Any] | None:
        r = by_scale.get(n, {}).get(kind)
        return r if r and r.get("ok") else None

    top = str(max(int(n) for n in by_scale))
    m, f, p = ok(top, "metrics"), ok(top, "floor"), ok(top, "pandas")
    if m and f:
        ratio = m["seconds"] / f["seconds"]
        targets["metrics_within_3x_floor"] = {"value": round(ratio, 2), "pass": ratio <= 3}
        targets["metrics_peak_le_3gib"] = {
            "value": m["peak_rss_gib"],
            "pass": m["peak_rss_gib"] <= 3,
        }
    if m and p:
        speed = p["seconds"] / m["seconds"]
        targets["metrics_10x_faster_than_pandas"] = {
            "value": f"{speed:.2f}x (whole metrics run vs the pandas decision-load table)",
            "pass": speed >= 10,
        }
        part = sum(m["detail"].get(k, 0.0) for k in ("classify", "decision_load"))
        if part:
            speed = p["seconds"] / part
            targets["decision_tables_10x_faster_than_pandas"] = {
                "value": f"{speed:.2f}x (classify + decision_load stages, like for like)",
                "pass": speed >= 10,
            }
    if f and p:
        speed = p["seconds"] / f["seconds"]
        targets["floor_vs_pandas (context)"] = {
            "value": f"{speed:.2f}x (same result, polars lazy vs pandas)",
            "pass": speed >= 10,
        }
    scales = sorted(int(n) for n in by_scale)
    if len(scales) >= 2:
        lo, hi = str(scales[0]), str(scales[-1])
        ml, mh = ok(lo, "metrics"), ok(hi, "metrics")
        if ml and mh:
            data_ratio = int(hi) / int(lo)
            time_ratio = mh["seconds"] / ml["seconds"]
            limit = data_ratio * 1.1
            targets["linear_scaling"] = {
                "value": f"{data_ratio:g}x data -> {time_ratio:.2f}x time (limit {limit:g}x)",
                "pass": time_ratio <= limit,
            }
            fl, fh = ml["detail"].get("fatigue"), mh["detail"].get("fatigue")
            if fl is not None and fh is not None:
                fit = results.get("fatigue_fit", {})
                targets["fatigue_cost_independent_of_rows"] = {
                    "value": f"fatigue stage {fl:.2f}s -> {fh:.2f}s ({fh / max(fl, 1e-9):.2f}x "
                    f"for {data_ratio:g}x rows)" + (f"; GLM fit alone {fit}" if fit else ""),
                    "pass": fh / max(fl, 1e-9) <= 0.5 * data_ratio,
                }
    csv_run = ok(top, "metrics_csv")
    if csv_run:
        targets["metrics_csv_peak_le_3gib (context)"] = {
            "value": f"{csv_run['peak_rss_gib']} GiB, {csv_run['seconds']:.1f} s",
            "pass": csv_run["peak_rss_gib"] <= 3,
        }
    for kind in ("metrics_csv", "metrics_streaming", "metrics_in_memory"):
        variant = by_scale.get(top, {}).get(kind)
        if variant is None:
            continue
        cmp = by_scale[top].get(f"_{kind}_vs_default", {})
        same = bool(cmp) and all(
            v == "identical" or v.startswith("equal within") for v in cmp.values()
        )
        n_same = sum(v == "identical" for v in cmp.values())
        odd = {k: v for k, v in cmp.items() if v != "identical"}
        targets[f"{kind}_results_equal_default"] = {
            "value": f"{n_same}/{len(cmp)} tables identical"
            + ("; " + "; ".join(f"{k}: {v}" for k, v in odd.items()) if odd else ""),
            "pass": same and bool(variant.get("ok")),
        }
    lines += ["## Targets", "", "| target | measured | pass |", "|---|---|---|"]
    for name, t in targets.items():
        lines.append(f"| {name} | {t['value']} | {'PASS' if t['pass'] else 'FAIL'} |")
    if not targets:
        lines.append("| (none could be evaluated) | | |")
    lines.append("")
    return "\n".join(lines), targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="decision-stack scale benchmark")
    parser.add_argument("--activities", type=int, default=15_000_000, help="largest scale")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument(
        "--scales",
        default=None,
        help="comma-separated activity counts (default: activities/10 and activities)",
    )
    parser.add_argument("--streaming", action="store_true", help="also run the streaming engine")
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="also run the metrics with the in-memory engine forced (slow; compared too)",
    )
    parser.add_argument(
        "--csv",
        action="store_true",
        help="also run the metrics on a CSV copy of the largest dataset (compared too)",
    )
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--only", default=None, help="comma-separated subset of floor,metrics,pandas"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage; the fastest counts")
    parser.add_argument("--keep-outputs", action="store_true", help="keep metric output tables")
    parser.add_argument("--_child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--_data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        return _child_main(args._child, args._data, args._out, args._result)

    import pandas as pd
    import polars as pl

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.scales:
        scales = sorted({int(s.replace("_", "")) for s in args.scales.split(",") if s.strip()})
    else:
        scales = sorted({max(args.activities // 10, 1000), args.activities})
    kinds = ["floor", "metrics", "pandas"]
    if args.only:
        kinds = [k for k in kinds if k in args.only.split(",")]
    if args.skip_pandas and "pandas" in kinds:
        kinds.remove("pandas")
    log = out / "bench.log"
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1)
    results: dict[str, Any] = {
        "machine": {
            "when": time.strftime("%Y-%m-%d %H:%M"),
            "cpus": os.cpu_count(),
            "mem_gib": mem_gib,
            "python": platform.python_version(),
            "polars": pl.__version__,
            "pandas": pd.__version__,
            "platform": platform.platform(),
        },
        "args": {k: str(v) for k, v in vars(args).items() if not k.startswith("_")},
        "scales": {},
    }
    for n in scales:
        data = ensure_data(out, n)
        run_dir = out / "runs" / str(n)
        if run_dir.exists():
            shutil.rmtree(run_dir)
        runs: dict[str, Any] = {}
        warm_cache(data)
        for kind in kinds:
            runs[kind] = measure_best(kind, data, run_dir, log=log, repeat=args.repeat)
        if args.csv and n == scales[-1]:
            csv = ensure_csv(data)
            warm_cache(csv)
            runs["metrics_csv"] = measure_best("metrics_csv", csv, run_dir, log=log)
            if runs["metrics_csv"].get("ok") and runs.get("metrics", {}).get("ok"):
                runs["_metrics_csv_vs_default"] = compare_outputs(
                    run_dir / "metrics", run_dir / "metrics_csv"
                )
            warm_cache(data)
        if (args.streaming or args.in_memory) and n == scales[-1]:
            variants = ["metrics_streaming"] if args.streaming else []
            variants += ["metrics_in_memory"] if args.in_memory else []
            for kind in variants:
                runs[kind] = measure_best(kind, data, run_dir, log=log, repeat=args.repeat)
                if runs[kind].get("ok") and runs.get("metrics", {}).get("ok"):
                    runs[f"_{kind}_vs_default"] = compare_outputs(
                        run_dir / "metrics", run_dir / kind
                    )
        results["scales"][str(n)] = runs
        if not args.keep_outputs:
            for sub in (*CHILDREN, "floor"):
                shutil.rmtree(run_dir / sub, ignore_errors=True)

    report, targets = build_report(results)
    results["targets"] = targets
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(report)
    print(f"[bench] wrote {out / 'results.md'} and {out / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
