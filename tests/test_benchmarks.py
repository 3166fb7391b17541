"""The benchmark scripts run, and their last line is the JSON the issues name.

Tiny books keep this fast; the figures themselves are measured by running the scripts by hand
(README, Measured figures), never asserted here: timings in unit tests only measure the machine.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.paths import PROJECT_ROOT

CASES = {
    "simulate": (["--accounts", "300", "--cycles", "4"], {"accounts", "cycles", "seconds", "peak_mib"}),
    "validate": (["--accounts", "300", "--cycles", "4"], {"accounts", "seconds", "peak_mib"}),
    "features": (["--accounts", "300", "--cycles", "6"], {"accounts", "account_cycles", "seconds", "peak_mib"}),
    "roll_rate": (["--accounts", "1500"], {"model_logloss", "baseline_logloss", "logloss_reduction",
                                          "roll_forward_auc"}),
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_ends_with_its_json_figures(name):
    args, keys = CASES[name]
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / f"{name}.py"), *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 2, "a benchmark prints readable lines before its JSON"
    figures = json.loads(lines[-1])
    assert keys <= set(figures), f"missing {keys - set(figures)}"
    assert all(figures[k] is not None for k in keys)
