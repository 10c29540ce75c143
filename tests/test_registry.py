"""The registry of output tables agrees with what ``metrics`` writes, table by table."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from analysis import registry
from analysis.cli import main
from analysis.periods import Period
from analysis.pipeline import run_metrics


def _written(out: Path) -> dict[str, pl.Schema]:
    return {p.stem: pl.read_parquet_schema(p) for p in sorted(out.glob("*.parquet"))}


def _assert_registered(out: Path) -> set[str]:
    written = _written(out)
    for name, schema in written.items():
        assert name in registry.TABLES, f"{name}.parquet is written but not registered"
        assert registry.check_frame(name, schema) == [], name
    unavailable = json.loads((out / "quality.json").read_text())["unavailable"]
    assert set(written).isdisjoint(unavailable)
    assert set(written) | set(unavailable) == set(registry.names()), "registered but not written"
    return set(written)


def test_sample_run_writes_exactly_the_registered_tables(sample_metrics: Path) -> None:
    written = _assert_registered(sample_metrics)
    assert written == set(registry.names())  # the full sample has every input table
    run = json.loads((sample_metrics / "run.json").read_text())
    assert set(run["tables"]) == written


@pytest.mark.parametrize(
    ("inputs", "expected_written"),
    [
        (("reps", "opportunities"), {"skill_gaps", "hygiene", "team_summary", "team_trend"}),
        (
            ("reps", "meetings", "opportunities"),
            {"bdr_funnel", "skill_gaps", "hygiene", "team_summary", "team_trend"},
        ),
    ],
)
def test_partial_inputs_write_registered_tables_or_list_them_unavailable(
    sample_dir: Path, tmp_path: Path, inputs: tuple[str, ...], expected_written: set[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in inputs:
        (data / f"{name}.csv").write_bytes((sample_dir / f"{name}.csv").read_bytes())
    out = tmp_path / "out"
    run_metrics(data, out, period=Period.quarter("2026Q3"))
    assert _assert_registered(out) == expected_written
    unavailable = json.loads((out / "quality.json").read_text())["unavailable"]
    assert unavailable["decisions"] == ["activities"]
    if "meetings" not in inputs:
        assert unavailable["bdr_funnel"] == ["meetings"]


def test_tables_json_lists_every_table_with_columns_as_written(
    sample_metrics: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tables", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == list(registry.TABLES)
    written = _written(sample_metrics)
    for entry in entries:
        if entry["command"] != "metrics":
            continue  # e.g. the impact tables (tests/test_impact.py checks them)
        assert {"name", "grain", "needs", "columns"} <= set(entry)
        schema = written[entry["name"]]
        assert entry["columns"] == [{"name": n, "type": str(t)} for n, t in schema.items()]


def test_tables_text_names_grain_and_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tables"]) == 0
    text = capsys.readouterr().out
    assert "handoff_summary  (one row per" in text
    assert "    share_within_24h: Float64" in text


def test_registry_entries_are_complete() -> None:
    import importlib

    for spec in registry.TABLES.values():
        module, _, function = spec.producer.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), spec.producer
        assert spec.grain and spec.description and spec.columns
        assert set(spec.upstream) <= set(registry.TABLES), spec.name
        assert "reps" in spec.needs


def test_check_frame_names_each_difference() -> None:
    schema = dict(registry.get("taxonomy_coverage").schema())
    schema["coverage"] = pl.Float32
    schema["extra"] = pl.String
    assert registry.check_frame("taxonomy_coverage", schema) == [
        "unregistered columns: extra",
        "coverage: written Float32, registered Float64",
    ]
    with pytest.raises(KeyError, match="not a registered output table"):
        registry.get("nonexistent")


def test_report_fixture_uses_only_registered_tables_and_column_names(tmp_path: Path) -> None:
    """The report tests' small metrics folder may omit columns, never invent or rename one."""
    from reports_fixtures import write_metrics_fixture

    out = write_metrics_fixture(tmp_path / "m")
    for name, schema in _written(out).items():
        registered = registry.get(name).schema()
        assert set(schema) <= set(registered), f"{name}: {set(schema) - set(registered)}"
