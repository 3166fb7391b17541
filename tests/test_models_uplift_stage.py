"""The uplift stage on a small simulated book: outputs, MLflow run and registration, champion rule, and the
greedy policy built from the published model files answering on a state frame of the same world."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from core.errors import DataError
from core.io import read_tables, write_tables
from core.params import parse_params
from models.uplift.policy import build
from pipeline.stages import promote, simulate, uplift

FAST = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 40,
    "n_estimators": 40,
    "early_stopping_rounds": 10,
    "num_threads": 1,
}


def _params():
    return parse_params(
        {
            "simulate": {"accounts": 1200, "cycles": 8},
            "uplift": {
                "valid_days": 30,
                "test_days": 30,
                "bootstrap": 20,
                "experiment": "uplift_test",
                "registered_model": "uplift_test",
                "lightgbm": FAST,
            },
        }
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    simulate.run(_params(), folder, metrics_file=None)
    return folder


def _outputs(tmp_path):
    return {
        "metrics_file": tmp_path / "metrics" / "uplift.json",
        "plots_dir": tmp_path / "plots" / "uplift",
        "model_dir": tmp_path / "models" / "uplift",
        "registration_file": tmp_path / "models" / "uplift.json",
    }


def test_stage_publishes_metrics_curves_model_and_registers_a_champion(book, tmp_path):
    out = _outputs(tmp_path)
    summary = uplift.run(_params(), book, **out)
    metrics = json.loads(out["metrics_file"].read_text())
    assert metrics["learner"] in ("t", "dr") and set(metrics["validation"]) == {"qini_valid_t", "qini_valid_dr"}
    assert metrics["qini"], "no arm was scored on the test window"
    for q in metrics["qini"].values():
        assert q["low"] <= q["coefficient"] <= q["high"]
    # each banded channel with a band scored has its bands pooled too
    assert set(metrics["qini_channel"]) == {a.split("_")[0] for a in metrics["qini"] if "_" in a and a != "field_visit"}
    assert metrics["qini_channel"]
    for q in metrics["qini_channel"].values():
        assert q["low"] <= q["coefficient"] <= q["high"]
    # ... and read from doubly robust scores; every scored arm's weights are checked against its decisions
    assert set(metrics["qini_channel_dr"]) == set(metrics["qini_channel"])
    for q in metrics["qini_channel_dr"].values():
        assert q["low"] <= q["coefficient"] <= q["high"] and q["rows"] >= q["treated"]
    # ... and on whether anything was paid, in probability per decision
    assert set(metrics["qini_channel_dr_paid"]) == set(metrics["qini_channel_dr"])
    for q in metrics["qini_channel_dr_paid"].values():
        assert -1 <= q["low"] <= q["coefficient"] <= q["high"] <= 1 and q["rows"] >= q["treated"]
    assert set(metrics["weight_balance"]) == set(metrics["qini"])
    for w in metrics["weight_balance"].values():
        assert 0 < w["clipped"] <= w["floor"] and w["allowed"] > 0
    curves = sorted(p.stem for p in (out["plots_dir"] / "qini").glob("*.csv"))
    assert curves == sorted(
        [
            *metrics["qini"],
            *metrics["qini_channel"],
            *(f"{c}_dr" for c in metrics["qini_channel_dr"]),
            *(f"{c}_dr_paid" for c in metrics["qini_channel_dr_paid"]),
        ]
    )
    assert (out["model_dir"] / "uplift.json").exists() and not list(out["model_dir"].rglob("*.pkl"))
    record = json.loads(out["registration_file"].read_text())
    assert record["champion_version"] is None and str(summary["registration"].version) == str(record["version"])
    promoted = promote.run(_params(), [out["registration_file"]], tmp_path / "promotion.json")
    assert promoted["families"]["uplift"]["decision"] == "promoted"
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("uplift_test", "champion").version) == str(record["version"])
    # the same data again: an equal model ties on the same window, and a tie does not take the alias
    again = uplift.run(_params(), book, **out)["registration"]
    assert int(again.version) == int(record["version"]) + 1 and again.champion_version == str(record["version"])
    assert again.champion_score == pytest.approx(again.score, abs=1e-9)
    kept = promote.run(_params(), [out["registration_file"]], tmp_path / "promotion.json")
    assert kept["families"]["uplift"]["decision"] == "kept"
    assert str(client.get_model_version_by_alias("uplift_test", "champion").version) == str(record["version"])
    assert json.loads(out["metrics_file"].read_text())["qini"] == metrics["qini"]


def test_policy_from_the_published_files_answers_on_the_state_frame(book, tmp_path):
    from simulator import Simulation
    from simulator.observe import STATE_COLUMNS

    out = _outputs(tmp_path)
    uplift.run(_params(), book, track=False, **out)
    policy = build(str(out["model_dir"]))
    seen = []

    def spy(day, states):
        assert set(states.columns) <= set(STATE_COLUMNS)
        actions = policy(day, states[list(STATE_COLUMNS)])
        seen.append(0 if actions is None else len(actions))
        return actions

    sim = Simulation.from_params(_params(), accounts=300, cycles=3, seed=11)
    sim.replay(spy)
    assert sum(seen) > 0


def test_stage_refuses_a_book_without_a_decision_log(book, tmp_path):
    tables = read_tables(book)
    tables["decisions"] = tables["decisions"].iloc[:0]
    write_tables(tables, tmp_path / "raw")
    with pytest.raises(DataError, match="decision log"):
        uplift.run(_params(), tmp_path / "raw", track=False, **_outputs(tmp_path))
