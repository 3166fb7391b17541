# The two commands of the README: `make repro` (set up if needed, then run the whole
# pipeline on the embedded default data) and `make test` (set up if needed, then the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export PYTHONHASHSEED := 0
# dvc.yaml commands call `python`: make it the environment's.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: repro test env lock

env: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lock: $(STAMP)
	$(BIN)/python -m pip freeze --all --exclude-editable | sed '1i # Exact versions for every install (pip install -c requirements.lock -e ".[dev]"). Regenerate with: make lock' > requirements.lock
