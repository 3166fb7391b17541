"""Every analyst notebook runs top to bottom on small data (a notebook that breaks is a bug), and the
notebook runner the reports check uses counts what ran and what failed."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from core.paths import PROJECT_ROOT
from pipeline.notebooks import FRESH_ENV, execute, last_line, run_notebooks, tracking_store

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
#: Notebook 04's own knobs for its replays: smaller held-out worlds and a harm sweep of two scales beside the
#: recommended policy's (every cell and plot still runs; the harness's figures have their own tests).
SMALL_WORLDS = {"NOTEBOOK_EVAL_ACCOUNTS": "300", "NOTEBOOK_EVAL_CYCLES": "3", "NOTEBOOK_HARM_SCALES": "0,1000"}


def test_notebooks_are_numbered_and_stored_without_outputs():
    assert len(NOTEBOOKS) >= 4, "the project ships analyst notebooks: the book, roll rates, models, strategy"
    for path in NOTEBOOKS:
        assert path.name[:2].isdigit(), f"{path.name}: notebooks are numbered (NN_name.ipynb)"
        cells = nbformat.read(path, as_version=4).cells
        assert not any(c.get("outputs") for c in cells if c.cell_type == "code"), f"{path.name} has outputs"
        assert not any(c.get("execution_count") for c in cells if c.cell_type == "code"), f"{path.name} was run"
        assert cells[0].cell_type == "markdown", f"{path.name} opens with what it shows and how to read it"


def test_notebooks_read_the_project_only_through_public_functions():
    """No notebook imports the simulator's internals or asks for the hidden truth, or writes to the project."""
    forbidden = ("truth_", "simulator.population", "simulator.dynamics", "simulator.streams", "._", 'mlflow.db"')
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        found = [f for f in forbidden if f in code]
        assert not found, f"{path.name} uses {found}"
        assert "to_parquet" not in code and "to_csv(" not in code, f"{path.name} writes files"


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch):
    """As on a fresh clone: the MLflow store is this test's empty one (tests/conftest.py) and the
    project's data/models are ignored (NOTEBOOK_FRESH), so notebooks 03 and 04 train their small pipeline."""
    monkeypatch.setenv("PYTHONPATH", f"{PROJECT_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv(FRESH_ENV, "1")
    for name, value in SMALL_WORLDS.items():
        monkeypatch.setenv(name, value)
    error = execute(path, timeout=300)
    assert error is None, error


def _notebook(folder: Path, name: str, *sources: str) -> None:
    cells = [new_markdown_cell(f"# {name}"), *(new_code_cell(s) for s in sources)]
    nbformat.write(new_notebook(cells=cells, metadata=KERNEL), folder / f"{name}.ipynb")


@pytest.mark.e2e
def test_run_notebooks_counts_the_notebooks_run_and_failed(tmp_path, capsys):
    _notebook(tmp_path, "01_fine", "import os", "assert os.environ['NOTEBOOK_PROBE'] == 'yes'")
    _notebook(tmp_path, "02_broken", "x = 1", "raise ValueError('the book has no statements')", "x = 2")
    before = (tmp_path / "02_broken.ipynb").read_bytes()
    assert run_notebooks(tmp_path, {"NOTEBOOK_PROBE": "yes"}) == (2, 1)
    assert "NOTEBOOK_PROBE" not in os.environ, "the environment is restored"
    assert "02_broken.ipynb failed: ValueError: the book has no statements" in capsys.readouterr().out
    assert (tmp_path / "02_broken.ipynb").read_bytes() == before, "the stored notebook is never changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_fine.ipynb", "02_broken.ipynb"]
    assert run_notebooks(tmp_path, {"NOTEBOOK_PROBE": "no"}) == (2, 2)
    assert run_notebooks(tmp_path / "none") == (0, 0)


def test_last_line_drops_colour_codes():
    assert last_line("Traceback\n\x1b[31mValueError\x1b[39m: boom\n\n") == "ValueError: boom"


def test_tracking_store_points_mlflow_at_a_store_and_restores_the_environment(tmp_path, monkeypatch):
    import mlflow

    before = os.environ["MLFLOW_TRACKING_URI"]  # this test's own store (tests/conftest.py)
    uri = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    (tmp_path / "other").mkdir()
    with tracking_store(uri):
        assert os.environ["MLFLOW_TRACKING_URI"] == os.environ["MLFLOW_REGISTRY_URI"] == uri
        assert mlflow.get_tracking_uri() == uri
    assert os.environ["MLFLOW_TRACKING_URI"] == before
    assert mlflow.get_tracking_uri() == before
