"""The environment variables the project sets for itself: no telemetry, OpenMP threads that do not spin.

The one source of these values. Every entry point calls `apply()` before it imports the libraries
that read them: the command line (pipeline.cli), the `models` package (before LightGBM loads),
tests/conftest.py and the benchmark harness (benchmarks/_harness.py). The Makefile exports the
same values for the processes it starts, `dvc` itself included: `python core/environment.py`
prints them (standard library only, so it runs before the virtual environment exists).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: Read by the libraries when they are imported or first used: set them before that.
DEFAULTS: dict[str, str] = {
    # The pipeline runs offline (CI, nightly jobs): no usage reports from DVC, MLflow or Great Expectations.
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    # LightGBM's OpenMP threads spin while waiting by default; on a shared 2-core machine (CI,
    # `pytest -n 2`, a laptop running DVC and MLflow) that makes training several times slower.
    # Passive waiting costs nothing when the cores are free. Read once, when OpenMP starts.
    "OMP_WAIT_POLICY": "PASSIVE",
}

#: Read only when a Python interpreter starts, so `apply()` cannot set it for the running process;
#: the Makefile exports it for the interpreters it starts (the stages `dvc repro` runs, the tests).
AT_INTERPRETER_START: dict[str, str] = {
    "PYTHONHASHSEED": "0",
}


def apply(environ: MutableMapping[str, str] | None = None, *, override: bool = False) -> None:
    """Set every DEFAULTS variable in `environ` (os.environ by default).

    A value already set wins (a user may turn telemetry on for a run), unless `override`: the tests
    use it so that no developer setting can make the suite talk to the network.
    """
    env = os.environ if environ is None else environ
    for name, value in DEFAULTS.items():
        if override:
            env[name] = value
        else:
            env.setdefault(name, value)


def shell_assignments() -> str:
    """`NAME=value` pairs, space separated, of every variable here (what the Makefile exports)."""
    return " ".join(f"{name}={value}" for name, value in {**DEFAULTS, **AT_INTERPRETER_START}.items())


if __name__ == "__main__":
    print(shell_assignments())
