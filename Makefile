# The two commands of the README: `make repro` (set up if needed, then run the whole
# pipeline on the embedded default data) and `make test` (set up if needed, then `make lint`
# and the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Telemetry off, OpenMP threads that do not spin, a fixed hash seed: for every process make starts,
# `dvc` itself included. The values come from core/environment.py, their one source (the Python
# entry points apply the same module); it needs only the standard library, so any python runs it.
ENVIRONMENT := $(shell $(PYTHON) core/environment.py)
ifeq ($(strip $(ENVIRONMENT)),)
$(error could not read the environment defaults: $(PYTHON) core/environment.py printed nothing)
endif
$(foreach assignment,$(ENVIRONMENT),$(eval export $(assignment)))
# dvc.yaml commands call `python`: make it the environment's.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: repro test lint env lock plots browser mlflow

env: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	$(BIN)/python -m pipeline.reports template  # REPORTS: .dvc/plots/offline.html, so `dvc plots show` works offline
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

# Lint (style, format, import layers), then the suite; any failure fails the build (.ci/run).
test: lint
	$(BIN)/python -m pytest -n 2 --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

lock: $(STAMP)
	$(BIN)/python -m pip freeze --all --exclude-editable | sed '1i # Exact versions for every install (pip install -c requirements.lock -e ".[dev]"). Regenerate with: make lock' > requirements.lock

# --- REPORTS (issue 17): reports that open offline (docs/reports.md)
# The plots page with Vega inlined: build/plots/index.html, or CONFIG=uci|own for a data configuration's.
plots: $(STAMP)
	$(BIN)/python -m pipeline.reports plots $(if $(CONFIG),--config $(CONFIG))

# Debian's Chromium for the headless-browser tests (tests/test_reports.py); CI runs this before `make test`.
browser:
	test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
# --- end REPORTS

# The MLflow UI on this machine only (127.0.0.1), against the project's store (docs/mlflow.md); PORT=5000 by default.
PORT ?= 5000
mlflow: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(abspath mlflow.db) --host 127.0.0.1 --port $(PORT)
