"""Policy evaluation: replay a contact policy on held-out simulated worlds and price what happens.

    from evaluation import evaluate
    report = evaluate(load_params(), ["business_as_usual", "mypkg.policy:build"])

A policy is named by a reference name (evaluation.references) or an import spec "module:factory";
it is built and run in a separate process that receives, each day, only the public daily state
(simulator.observe.STATE_COLUMNS) and the local date (evaluation/remote.py). The worlds use seeds
the logged book never saw (params `evaluate.seeds`). docs/evaluation.md is the manual.

The names below are imported on first use, so that the policy process (evaluation.policy_process),
which imports this package, starts without loading the simulator and SciPy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EvaluationReport": "evaluation.harness",
    "evaluate": "evaluation.harness",
    "Priced": "evaluation.pricing",
    "price": "evaluation.pricing",
    "PolicyError": "evaluation.remote",
    "RemotePolicy": "evaluation.remote",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
