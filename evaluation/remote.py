"""The world's side of a policy that runs in another process: a proxy with the policy contract.

`RemotePolicy(spec)` starts `python -m evaluation.policy_process`, has it build the policy named
by `spec`, and is itself a policy the engine can call: each day it sends the date and only the
public columns of the state frame (simulator.observe.STATE_COLUMNS: never `truth_*` columns, a
simulator object, a seed or a stream), receives the actions, checks them (evaluation.actions)
and hands them to the world. What the policy cannot reach from its own process, it cannot use:
the world object, the world's seed and its random streams stay here.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from core.paths import PROJECT_ROOT
from core.state import STATE_COLUMNS
from evaluation import wire
from evaluation.actions import ActionsError, validate_actions


class PolicyError(RuntimeError):
    """The policy cannot be evaluated: it failed, declared wants_truth, or answered out of contract."""


class RemotePolicy:
    """A policy built and run in a separate process; call it like any policy, then `close()` it."""

    #: Seconds the world waits for one answer (building the policy included) before it gives up.
    TIMEOUT_S = 600.0

    def __init__(
        self, spec: str, kwargs: dict[str, Any] | None = None, cwd: Path | None = None, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "evaluation.policy_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        try:
            reply = self._ask({"op": "build", "spec": spec, "kwargs": kwargs or {}})[0]
            if reply.get("wants_truth"):
                raise PolicyError(
                    f"policy {spec} declares wants_truth: only the built-in oracle, a reference, sees the hidden "
                    "truth; a policy under evaluation gets the public state only"
                )
        except BaseException:
            self.close()
            raise
        self.name = str(reply.get("name") or spec)
        self.silent = bool(reply.get("silent"))
        self.wants_truth = False

    def _ask(self, header: dict[str, Any], frame: pd.DataFrame | None = None) -> tuple[dict, pd.DataFrame | None]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            wire.send(self._proc.stdin, header, frame, trusted=True)
            ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout_s)
            if not ready:
                self._proc.kill()  # it may never read the close message
                raise PolicyError(f"policy {self.spec} did not answer within {self.timeout_s:g} s")
            reply, body = wire.receive(self._proc.stdout)
        except (wire.WireError, BrokenPipeError) as exc:
            raise PolicyError(f"policy {self.spec}: its process ended ({exc}); see its stderr above") from None
        if not reply.get("ok"):
            raise PolicyError(f"policy {self.spec} failed in its process:\n{reply.get('error', '(no message)')}")
        return reply, body

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        public = states[[c for c in STATE_COLUMNS if c in states.columns]].copy()
        _, actions = self._ask({"op": "decide", "day": pd.Timestamp(day).date().isoformat()}, public)
        try:
            return validate_actions(actions)
        except ActionsError as exc:
            raise PolicyError(f"policy {self.spec} answered {pd.Timestamp(day).date()}: {exc}") from None

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                wire.send(proc.stdin, {"op": "close"})
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> RemotePolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
