# decision-stack — two commands: `make report` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := data/sample
QUARTER ?= 2026Q3
SEED ?= 7

.PHONY: setup sample metrics report test wheel-test lint format lab bench clean

setup: $(STAMP)  ## create .venv with the pinned dependencies

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	$(BIN)/python scripts/lab_settings.py $(VENV)
	@touch $(STAMP)

$(SAMPLE)/reps.csv: $(STAMP)
	$(BIN)/decision-stack sample-data --out $(SAMPLE) --seed $(SEED) --quarter $(QUARTER)

sample: $(SAMPLE)/reps.csv  ## build the synthetic sample organisation

metrics: sample  ## compute the metric tables for the sample quarter
	$(BIN)/decision-stack metrics --data $(SAMPLE) --out data/metrics/$(QUARTER) --quarter $(QUARTER)

report: sample  ## set up, build the sample data, run the quarterly reports
	$(BIN)/decision-stack report --data $(SAMPLE) --quarter $(QUARTER) --out reports
	@echo "open reports/$(QUARTER)/index.html"

test: setup  ## the whole test suite (what CI runs)
	bash scripts/postgres.sh install
	$(BIN)/ruff check analysis tests notebooks benchmarks
	$(BIN)/ruff format --check analysis tests notebooks benchmarks
	@# the wheel test (mostly pip and kernel start-up waits) runs next to pytest
	@bash scripts/wheel_test.sh $(BIN)/python > $(VENV)/wheel-test.log 2>&1 & wheel=$$!; \
	  $(BIN)/python -m pytest; tests=$$?; \
	  if wait $$wheel; then tail -n 1 $(VENV)/wheel-test.log; \
	  else echo "wheel test failed:"; tail -n 40 $(VENV)/wheel-test.log; exit 1; fi; \
	  exit $$tests

wheel-test: setup  ## build the wheel, install it in a fresh venv, run sample-data + report elsewhere
	bash scripts/wheel_test.sh $(BIN)/python

lint:
	$(BIN)/ruff check analysis tests notebooks benchmarks
	$(BIN)/ruff format --check analysis tests notebooks benchmarks

format:
	$(BIN)/ruff format analysis tests notebooks benchmarks
	$(BIN)/ruff check --fix analysis tests notebooks benchmarks

lab: setup  ## open JupyterLab on the project environment
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: setup  ## scale benchmark (see README)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) data/sample data/metrics reports/*/
