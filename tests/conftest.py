"""Shared test set-up: offline, quiet, and never touching the project's own stores."""

from __future__ import annotations

import pytest

from core import environment

# Before any test module imports DVC, MLflow, Great Expectations or LightGBM; forced, so that no
# developer setting makes the suite talk to the network.
environment.apply(override=True)


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path, monkeypatch):
    """Each test gets its own MLflow store so runs never leak into mlflow.db or each other."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
