"""params.yaml and the code's defaults are one source: they may never disagree."""

from __future__ import annotations

import yaml

from core.params import Params, load_params, parse_params
from core.paths import PARAMS_FILE


def test_params_yaml_equals_the_code_defaults():
    assert load_params(PARAMS_FILE).model_dump(mode="json") == Params().model_dump(mode="json")


def test_params_yaml_sets_every_key_explicitly():
    """Every knob a user can turn is visible in params.yaml (no hidden default)."""

    def keys(tree, prefix=""):
        out = set()
        for key, value in tree.items():
            out.add(prefix + key)
            if isinstance(value, dict) and not key.endswith(("_mix", "consent", "channel_cost", "profiles")):
                out |= keys(value, f"{prefix}{key}.")
        return out

    written = yaml.safe_load(PARAMS_FILE.read_text())
    assert keys(written) == keys(Params().model_dump(mode="json", by_alias=True))


def test_a_changed_default_is_caught():
    """The comparison above can fail: one changed value makes the two differ."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    raw["roll_rate"]["smoothing"] = 0.25
    assert parse_params(raw).model_dump(mode="json") != Params().model_dump(mode="json")


def test_seeds_are_per_purpose():
    params = parse_params({"seeds": {"world": 3, "training": 5}})
    assert (params.seeds.world, params.seeds.training) == (3, 5)
