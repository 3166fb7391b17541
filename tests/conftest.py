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


#: The suite's longest test (minutes): it runs first, so that under `pytest -n 2` it never starts late and
#: alone sets the wall time, while the other worker works through the rest.
LONGEST = "tests/test_e2e_pipeline.py"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`-n N` without `--dist` distributes by work stealing: an idle worker takes queued tests from a busy one.
    (pytest-xdist's default, `load`, hands each worker a fixed share of the first tests up front, so a worker
    running the longest test would still owe its share of the next slow ones when the other one ran dry.)"""
    if config.getoption("numprocesses", None) and config.getoption("dist", None) == "no":
        config.option.dist = "worksteal"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with slow (`e2e`) tests first, the longest of all first of them; a module's tests stay together
    (so module-scoped fixtures are built once per worker) and in their own order."""
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        slow = 0 if module.endswith(LONGEST) else 1 if item.get_closest_marker("e2e") else 2
        rank[module] = min(rank.get(module, 2), slow)
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])
