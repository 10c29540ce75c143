"""Shared fixtures: the sample organisation and one metrics run over it (built once per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.periods import Period

QUARTER = "2026Q3"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default-scale sample dataset (seed 7), written once."""
    from analysis.sample.generate import generate_sample

    out = tmp_path_factory.mktemp("sample") / "data"
    generate_sample(out, seed=7, quarter=QUARTER)
    return out


@pytest.fixture(scope="session")
def planted(sample_dir: Path) -> dict[str, Any]:
    """What the generator planted (planted.json)."""
    return json.loads((sample_dir / "planted.json").read_text())


@pytest.fixture(scope="session")
def sample_metrics(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``decision-stack metrics`` over the sample quarter, run once."""
    from analysis.pipeline import run_metrics

    out = tmp_path_factory.mktemp("metrics") / QUARTER
    run_metrics(sample_dir, out, period=Period.quarter(QUARTER))
    return out
