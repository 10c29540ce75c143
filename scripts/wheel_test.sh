#!/usr/bin/env bash
# The built wheel works alone: build it, install it in a fresh virtual environment
# outside the checkout, and run `decision-stack sample-data`, `report` and
# `notebooks` from another folder (no checkout on the path).
#
#   scripts/wheel_test.sh [PYTHON]     # PYTHON builds the wheel (default .venv/bin/python)
#
# Dependencies are installed from a local wheelhouse (.venv/wheelhouse, pinned by
# constraints.txt), refreshed only when pyproject.toml or constraints.txt change.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${1:-$ROOT/.venv/bin/python}
HOUSE=${WHEELHOUSE:-$ROOT/.venv/wheelhouse}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/decision-stack-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; } >&2; return "${PIPESTATUS[0]}"; }

echo "wheel test: building the wheel" >&2
quiet "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/decision_stack-*.whl)

if [[ ! -f "$HOUSE/.stamp" || "$ROOT/constraints.txt" -nt "$HOUSE/.stamp" || "$ROOT/pyproject.toml" -nt "$HOUSE/.stamp" ]]; then
  echo "wheel test: filling the wheelhouse $HOUSE" >&2
  rm -f "$HOUSE"/decision_stack-*.whl  # an older build would shadow this one's metadata
  quiet "$PY" -m pip wheel --quiet -c "$ROOT/constraints.txt" --wheel-dir "$HOUSE" "$WHEEL"
  rm -f "$HOUSE"/decision_stack-*.whl
  touch "$HOUSE/.stamp"
fi

echo "wheel test: installing $(basename "$WHEEL") in a fresh venv" >&2
BASE=$("$PY" -c "import os, sys; print(os.path.join(sys.base_prefix, 'bin', 'python3'))")
"$BASE" -m venv --without-pip "$WORK/venv"
quiet "$PY" -m pip --python "$WORK/venv/bin/python" install --quiet --no-compile --no-index \
  --find-links "$HOUSE" -c "$ROOT/constraints.txt" "$WHEEL"

mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"
unset PYTHONPATH
VPY="$WORK/venv/bin/python"
DS="$WORK/venv/bin/decision-stack"

# the package and its templates must not come from the checkout
"$VPY" - "$ROOT" <<'PY'
import sys
from pathlib import Path

import analysis
from analysis.reports.templates import notebook_dir

root = Path(sys.argv[1]).resolve()
where = Path(analysis.__file__).resolve()
assert root not in where.parents, f"analysis imported from the checkout: {where}"
assert root not in notebook_dir().resolve().parents, f"templates from the checkout: {notebook_dir()}"
PY

echo "wheel test: sample-data, report and notebooks from $PWD" >&2
"$DS" sample-data --out data --seed 7 --quarter 2026Q3 --scale 0.1
TEAM=$("$VPY" -c "import polars as pl; print(sorted(pl.read_csv('data/reps.csv')['team'].unique())[0])")
"$DS" report --data data --quarter 2026Q3 --out reports --team "$TEAM" --jobs 1
"$DS" notebooks --to my-notebooks
test -s reports/2026Q3/index.html
n_html=$(ls reports/2026Q3/*.html | grep -vc index.html)
test "$n_html" -eq 1
test -s my-notebooks/team_quarterly.py
echo "wheel test: ok (report for $TEAM from the installed wheel, outside the checkout)" >&2
