"""Replay policies on held-out worlds, price the outcomes, summarise across seeds.

One job is (world seed, policy): the world of params `simulate:` at the evaluation size, drawn
from an evaluation seed (never `seeds.world`, the logged book's), runs business as usual through
the burn-in and the policy for the horizon. Jobs run `workers` at a time, each world in its own
process (spawned, so it inherits nothing), each policy in one more (evaluation/remote.py).

Across seeds: the mean and a two-sided t-interval over the per-seed values (k - 1 degrees of
freedom). With three seeds the interval is wide by construction (t = 4.30 at 95%); gains against
business as usual are paired by seed (same borrowers, same exogenous draws), which narrows them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from core.params import Params
from core.workers import ordered_map
from evaluation.pricing import Priced, price
from evaluation.references import ORACLE, REFERENCES, Reference, resolve
from evaluation.remote import PolicyError, RemotePolicy
from simulator import SimConfig, Simulation
from simulator.outcomes import Outcome
from simulator.policies import Oracle

BAU = "business_as_usual"
#: Figures summarised across seeds for every policy.
FIGURES = (
    "net_value",
    "collected",
    "cost",
    "harm_cost",
    "contacts",
    "complaints",
    "cease_requests",
    "opt_outs",
    "charge_offs",
    "charged_off_balance",
    "contacts_per_1000_collected",
)


def held_out_seeds(params: Params, seeds: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The evaluation seeds, refused when one is the logged book's world seed."""
    chosen = tuple(params.evaluate.seeds if seeds is None else seeds)
    if not chosen:
        raise PolicyError("no evaluation seeds")
    if params.seeds.world in chosen:
        raise PolicyError(
            f"evaluation seed {params.seeds.world} is seeds.world, the logged book's world: evaluation worlds "
            "must be held out (a policy may have learnt the logged book by heart)"
        )
    return chosen


def world_config(params: Params, seed: int, accounts: int | None = None, cycles: int | None = None) -> SimConfig:
    """The evaluation world of `seed`: params' world at the evaluation size and horizon."""
    ev = params.evaluate
    overrides = {
        "accounts": accounts or ev.accounts or params.simulate.accounts,
        "cycles": cycles or ev.cycles or params.simulate.cycles,
    }
    return dataclasses.replace(SimConfig.from_params(params, **overrides), seed=seed)


def run_one(config: SimConfig, reference: Reference) -> Outcome:
    """Replay one world under one policy; the oracle in this process, every other policy in its own."""
    sim = Simulation(config)
    if reference.name == ORACLE:
        return sim.replay(Oracle.for_config(config))  # ORACLE: the world's mechanics, prices and rules
    with RemotePolicy(reference.spec, reference.kwargs) as policy:
        return sim.replay(policy)


def _job_of(job: tuple[SimConfig, Reference]) -> tuple[Outcome, float]:
    """One policy in one world (a worker process's task, core.workers): its outcome and the seconds it took."""
    config, reference = job
    began = time.perf_counter()
    outcome = run_one(config, reference)
    return outcome, time.perf_counter() - began


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"mean": round(self.mean, 4), "low": round(self.low, 4), "high": round(self.high, 4)}


def t_interval(values: list[float], confidence: float) -> Interval:
    """Mean and two-sided t-interval over seeds (a single seed: no interval, low = high = mean)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Interval(mean, mean - half, mean + half)


@dataclass
class EvaluationReport:
    """Priced outcomes per policy and seed, and their summaries."""

    seeds: tuple[int, ...]
    accounts: int
    cycles: int
    confidence: float
    references: dict[str, Reference]
    runs: dict[str, dict[int, Priced]]
    seconds: float
    run_seconds: float

    def summary(self, name: str) -> dict[str, Interval]:
        return {f: t_interval([getattr(self.runs[name][s], f) for s in self.seeds], self.confidence) for f in FIGURES}

    def gain_vs_bau(self, name: str) -> Interval | None:
        """Net value ratio to BAU's minus one, per seed (paired), then mean and interval."""
        if BAU not in self.runs or name not in self.runs:
            return None
        ratios = [self.runs[name][s].net_value / self.runs[BAU][s].net_value - 1 for s in self.seeds]
        return t_interval(ratios, self.confidence)

    def as_dict(self) -> dict[str, Any]:
        policies = {}
        for name, ref in self.references.items():
            summary = self.summary(name)
            gain = self.gain_vs_bau(name)
            policies[name] = {
                "label": ref.label,
                **{f: round(v.mean, 4) for f, v in summary.items()},
                "intervals": {f: v.as_dict() for f, v in summary.items()},
                "gain_vs_bau": gain.as_dict() if gain else None,
                "contacts_by_channel": _mean_dict([self.runs[name][s].contacts_by_channel for s in self.seeds]),
                "call_rpc_rate": round(float(np.mean([self.runs[name][s].call_rpc_rate for s in self.seeds])), 4),
                "by_seed": {str(s): self.runs[name][s].as_dict() for s in self.seeds},
            }
        return {
            "seeds": list(self.seeds),
            "accounts": self.accounts,
            "cycles": self.cycles,
            "confidence": self.confidence,
            "interval": "two-sided t-interval over the per-seed values (k-1 degrees of freedom)",
            "oracle_note": "the oracle is a reference that knows the hidden truth, not an upper bound",
            "policies": policies,
        }

    def lines(self) -> list[str]:
        """A readable table: one line per policy, means across seeds with the gain's interval."""
        pct = f"{self.confidence:.0%}"
        out = [
            f"{len(self.seeds)} held-out world(s) (seeds {', '.join(map(str, self.seeds))}), {self.accounts:,} "
            f"accounts x {self.cycles} cycles; means across seeds, gain vs BAU with its {pct} t-interval"
            + (" (few seeds: the interval is wide)" if len(self.seeds) <= 3 else ""),
            f"{'policy':42s} {'net value':>12s} {'collected':>12s} {'cost':>10s} {'contacts':>9s} "
            f"{'complaints':>10s} {'ceases':>7s} {'opt-outs':>8s} {'charge-offs':>11s}  gain vs BAU",
        ]
        for name, ref in self.references.items():
            s = {f: v.mean for f, v in self.summary(name).items()}
            gain = self.gain_vs_bau(name)
            g = f"{gain.mean:+.1%} [{gain.low:+.1%}, {gain.high:+.1%}]" if gain else "-"
            out.append(
                f"{ref.label[:42]:42s} {s['net_value']:12,.0f} {s['collected']:12,.0f} {s['cost']:10,.0f} "
                f"{s['contacts']:9,.0f} {s['complaints']:10,.1f} {s['cease_requests']:7,.1f} {s['opt_outs']:8,.1f} "
                f"{s['charge_offs']:11,.1f}  {g}"
            )
        return out


def _mean_dict(values: list[dict[str, int]]) -> dict[str, float]:
    return {k: round(float(np.mean([v[k] for v in values])), 2) for k in values[0]}


def evaluate(
    params: Params,
    policies: list[str] | tuple[str, ...] | None = None,
    seeds: tuple[int, ...] | None = None,
    accounts: int | None = None,
    cycles: int | None = None,
    workers: int | None = None,
) -> EvaluationReport:
    """Run every policy (reference names or "module:factory" specs) on every held-out world and price it."""
    began = time.perf_counter()
    chosen = held_out_seeds(params, seeds)
    refs = {r.name: r for r in (resolve(p) for p in (policies or params.evaluate.policies))}
    configs = {s: world_config(params, s, accounts, cycles) for s in chosen}
    jobs = [(s, name) for s in chosen for name in refs]
    results = list(
        ordered_map(_job_of, [(configs[s], refs[name]) for s, name in jobs], workers or params.evaluate.workers)
    )
    runs: dict[str, dict[int, Priced]] = {name: {} for name in refs}
    for (s, name), (outcome, _) in zip(jobs, results, strict=True):
        runs[name][s] = price(outcome, params.contact)
    first = configs[chosen[0]].params
    return EvaluationReport(
        seeds=chosen,
        accounts=first.accounts,
        cycles=first.cycles,
        confidence=params.evaluate.confidence,
        references=refs,
        runs=runs,
        seconds=time.perf_counter() - began,
        run_seconds=sum(sec for _, sec in results),
    )


__all__ = ["REFERENCES", "EvaluationReport", "evaluate", "held_out_seeds", "run_one", "t_interval", "world_config"]
