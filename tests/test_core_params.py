"""params.yaml is validated in one place, with the key path in every message."""

from __future__ import annotations

import numpy as np
import pytest

from core.buckets import Buckets
from core.errors import ParamsError
from core.params import load_params, parse_params
from core.paths import PARAMS_FILE


def test_project_params_file_is_valid():
    params = load_params(PARAMS_FILE)
    assert params.buckets.as_buckets().names[-1] == "charge_off"


def test_unknown_key_is_rejected_with_its_path():
    with pytest.raises(ParamsError, match=r"simulate\.acounts"):
        parse_params({"simulate": {"acounts": 5}})


def test_bucket_edges_must_increase():
    with pytest.raises(ParamsError, match="buckets"):
        parse_params({"buckets": {"names": ["a", "b"], "min_dpd": [0, 0]}})


def test_bucket_codes_follow_edges():
    buckets = Buckets(names=("current", "early", "late", "co"), min_dpd=(0, 1, 30, 180))
    dpd = np.array([0, 1, 29, 30, 179, 180, 400])
    assert buckets.code(dpd).tolist() == [0, 1, 1, 2, 2, 3, 3]
    assert buckets.charge_off == 3
