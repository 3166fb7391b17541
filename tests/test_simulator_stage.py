"""The `simulate` stage, its command line and its parameters."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import ParamsError
from core.io import read_tables
from core.params import load_params, parse_params
from core.schema import TABLE_NAMES
from pipeline.cli import app
from pipeline.stages import simulate


def test_run_writes_the_five_tables_and_true_outcomes(tmp_path):
    params = parse_params({"seeds": {"world": 1}, "simulate": {"accounts": 200, "cycles": 4, "burn_in_cycles": 1}})
    paths = simulate.run(params, tmp_path / "raw", metrics_file=tmp_path / "m.json")
    assert sorted(p.stem for p in paths) == sorted(TABLE_NAMES)
    tables = read_tables(tmp_path / "raw")
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["policy"] == "business_as_usual"
    assert metrics["rows"] == {name: len(frame) for name, frame in tables.items()}
    assert metrics["contacts_total"] == len(tables["contacts"])
    assert len(tables["accounts"]) == 200


def test_command_line_overrides_the_size(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--accounts",
            "60",
            "--out-dir",
            str(tmp_path / "raw"),
            "--metrics-file",
            str(tmp_path / "m.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(read_tables(tmp_path / "raw")["accounts"]) == 60


def test_default_params_are_valid():
    sim = load_params().simulate
    assert sim.accounts >= 10_000 and sim.cycles == 24


@pytest.mark.parametrize(
    "bad",
    [
        {"product_mix": {"mortgage": 1.0}},
        {"segment_mix": {"normal": -1.0, "hardship": 2.0}},
        {"timezone_mix": {"Mars/Olympus": 1.0}},
        {"consent": {"sms": 0.5}},
        {"accounts": 5},
        {"bau_exploration": 1.5},
        {"unknown_knob": 1},
    ],
)
def test_bad_simulate_params_fail_early(bad):
    with pytest.raises(ParamsError, match="simulate"):
        parse_params({"simulate": bad})


def test_manual_documents_every_parameter_and_constant():
    from dataclasses import fields
    from pathlib import Path

    from core.params import SimulateParams
    from simulator.config import Mechanics

    text = (Path(__file__).resolve().parents[1] / "docs" / "simulator.md").read_text()
    names = [f.name for f in fields(Mechanics)] + list(SimulateParams.model_fields)
    assert [n for n in names if f"`{n}`" not in text] == []


def test_tables_need_a_recorded_run_and_are_built_once():
    from simulator import Simulation

    sim = Simulation.from_params(parse_params({"simulate": {"accounts": 30, "cycles": 3, "burn_in_cycles": 0}}))
    with pytest.raises(RuntimeError, match="record=True"):
        sim.run().tables()
    run = sim.run(record=True)
    assert len(run.tables()["accounts"]) == 30
    with pytest.raises(RuntimeError, match="once"):
        run.tables()
