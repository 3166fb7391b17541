"""The policy's side of an evaluation: a separate interpreter that builds the policy and answers each day.

Started by evaluation.remote.RemotePolicy as `python -m evaluation.policy_process`. It never
receives a simulator object, a seed or a random stream: only, each day, the local date and the
public state frame (simulator.observe.STATE_COLUMNS), and it sends back an actions frame. The
protocol runs on the process's original stdin and stdout (evaluation.wire); the policy's own
prints go to stderr so they cannot corrupt it.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any, BinaryIO

import pandas as pd

from evaluation import wire


def build(spec: str, kwargs: dict[str, Any]) -> Any:
    """The policy named by "package.module:factory", built with `kwargs` (plain JSON values)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"a policy spec is 'package.module:factory', not {spec!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)


def _describe(policy: Any) -> dict[str, Any]:
    name = getattr(policy, "name", None) or getattr(policy, "__name__", None) or type(policy).__name__
    return {
        "ok": True,
        "name": str(name)[:80],
        "wants_truth": bool(getattr(policy, "wants_truth", False)),
        "silent": bool(getattr(policy, "silent", False)),
    }


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """Answer messages until told to close or the pipe closes."""
    policy = None
    while True:
        try:
            header, frame = wire.receive(inp, allow_pickle=True)
        except wire.WireError:
            return
        op = header.get("op")
        try:
            if op == "build":
                policy = build(str(header["spec"]), dict(header.get("kwargs") or {}))
                wire.send(out, _describe(policy))
            elif op == "decide":
                if policy is None:
                    raise RuntimeError("decide before build")
                actions = policy(pd.Timestamp(header["day"]), frame)
                if actions is not None and not isinstance(actions, pd.DataFrame):
                    raise TypeError(f"a policy returns a DataFrame or None, not {type(actions).__name__}")
                wire.send(out, {"ok": True}, actions)
            elif op == "close":
                return
            else:
                raise ValueError(f"unknown operation {op!r}")
        except Exception:  # every failure of the policy goes back to the world as a message
            wire.send(out, {"ok": False, "error": traceback.format_exc(limit=8)})


def main() -> None:
    inp = os.fdopen(os.dup(0), "rb")
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the policy's prints go to stderr
    sys.stdout = sys.stderr
    serve(inp, out)


if __name__ == "__main__":
    main()
