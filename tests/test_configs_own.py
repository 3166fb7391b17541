"""The own-data configuration (configs/own/) cannot mix with the simulated default: its stages read
only the user's folder and write only under data/own/, and its params are the defaults (params.yaml)
but for the MLflow names."""

from __future__ import annotations

import yaml

from core.params import Params, load_params
from core.paths import PROJECT_ROOT

OWN = PROJECT_ROOT / "configs" / "own"


def _paths(stage: dict, key: str) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in stage.get(key, [])]


def test_own_pipeline_reads_the_users_folder_and_writes_only_under_data_own():
    stages = yaml.safe_load((OWN / "dvc.yaml").read_text())["stages"]
    assert set(stages) == {"validate_own", "features_own", "roll_rate_own", "promote_own"}, "nothing simulates"
    for name, stage in stages.items():
        written = [p for key in ("outs", "metrics", "plots") for p in _paths(stage, key)]
        assert all(p.startswith("data/own/") and not p.startswith("data/own/raw") for p in written), name
        read = [p for p in _paths(stage, "deps") if p.startswith("data/")]
        assert all(p.startswith("data/own/") for p in read), name
        assert "--params-file configs/own/params.yaml" in stage["cmd"], name
    assert "data/own/raw" in _paths(stages["validate_own"], "deps")


def test_default_pipeline_never_reads_data_own():
    assert "data/own" not in (PROJECT_ROOT / "dvc.yaml").read_text()


def test_own_params_are_the_defaults_with_their_own_mlflow_names():
    own = load_params(OWN / "params.yaml").model_dump(mode="json")
    assert (own["roll_rate"].pop("experiment"), own["roll_rate"].pop("registered_model")) == (
        "roll_rate_own",
        "roll_rate_own",
    )
    default = Params().model_dump(mode="json")
    del default["roll_rate"]["experiment"], default["roll_rate"]["registered_model"]
    assert own == default


def test_own_params_hold_every_section_its_stages_declare():
    """DVC refuses a stage whose declared params section is missing from the file."""
    written = yaml.safe_load((OWN / "params.yaml").read_text())
    stages = yaml.safe_load((OWN / "dvc.yaml").read_text())["stages"]
    for stage in stages.values():
        for key in stage["params"][0]["configs/own/params.yaml"]:
            section, _, sub = key.partition(".")
            assert section in written and (not sub or sub in written[section]), key
