"""DVC stage `evaluate`: the reference policies replayed on held-out worlds, priced; data/metrics/evaluate.json.

The worlds are the simulated world of params `simulate:` drawn from `evaluate.seeds` (never
`seeds.world`, the logged book's), at `evaluate.accounts` and over `evaluate.cycles` (null: the
book's own size and horizon). Prices come from `contact:`. The library is evaluation/;
docs/evaluation.md is the manual. Outside DVC the command also evaluates a policy of your own:

    python -m pipeline evaluate --policy mypkg.policy:build [--fresh-seeds 3]
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import mlflow
import typer

from core.io import write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, PARAMS_FILE
from evaluation.harness import BAU, evaluate
from evaluation.remote import PolicyError
from models.common.tracking import configure, experiment_id, run_tags
from models.common.tracking import run_name as stage_run_name
from pipeline.stages.recommend import STRATEGY_DIR, UPLIFT_DIR

METRICS_FILE = METRICS_DIR / "evaluate.json"
EXIT_POLICY_ERROR = 4
#: MLflow experiment of the evaluation runs.
EXPERIMENT = "evaluation"
#: Per-policy figures logged to MLflow (means over the worlds).
FIGURES = ("net_value", "collected", "cost", "harm_cost", "contacts", "complaints", "cease_requests", "charge_offs")


def run(
    params: Params,
    metrics_file: Path | None = METRICS_FILE,
    policies: list[str] | None = None,
    seeds: tuple[int, ...] | None = None,
    accounts: int | None = None,
    cycles: int | None = None,
    workers: int | None = None,
    track: bool = True,
    run_name: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Evaluate `policies` (default evaluate.policies; business as usual always, for the gains); write the metrics.

    Returns the metrics (no timings: a forced re-run gives identical metrics) and readable lines.
    """
    chosen = list(policies) if policies else list(params.evaluate.policies)
    if BAU not in chosen:
        chosen.insert(0, BAU)
    report = evaluate(params, chosen, seeds=seeds, accounts=accounts, cycles=cycles, workers=workers)
    metrics = report.as_dict()
    if track:
        log_evaluation(metrics, run_name or ", ".join(chosen), params)
    if metrics_file is not None:
        write_json(metrics, Path(metrics_file))
    return metrics, report.lines()


def _key(name: str) -> str:
    """A policy name as an MLflow metric key (letters, digits, `_-. /` only)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name)


def log_evaluation(metrics: dict[str, Any], policies: str, params: Params) -> None:
    """One MLflow run (experiment `evaluation`, tagged as every run: tracking.run_tags): per policy its mean
    figures and gain vs BAU, seeds and policies as tags. The inputs are the models a policy loads from disk."""
    configure()
    figures: dict[str, float] = {}
    for name, policy in metrics["policies"].items():
        for figure in FIGURES:
            value = policy.get(figure)
            if isinstance(value, int | float):
                figures[f"{_key(name)}.{figure}"] = float(value)
        gain = policy.get("gain_vs_bau")
        if isinstance(gain, dict) and isinstance(gain.get("mean"), int | float):
            figures[f"{_key(name)}.gain_vs_bau"] = float(gain["mean"])
    tags = run_tags({"uplift": UPLIFT_DIR, "strategy": STRATEGY_DIR}, "evaluate", params)
    name = f"{stage_run_name('evaluate', tags['git_commit'])}: {policies}"[:250]
    with mlflow.start_run(experiment_id=experiment_id(EXPERIMENT), run_name=name):
        mlflow.set_tags({**tags, "seeds": ",".join(map(str, metrics.get("seeds", []))), "policies": policies[:5000]})
        mlflow.log_params({"accounts": metrics.get("accounts"), "cycles": metrics.get("cycles")})
        mlflow.log_metrics(figures)


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file."),
    policy: list[str] = typer.Option(
        [], help="A policy to evaluate, 'package.module:factory' or a reference name (repeatable)."
    ),
    seeds: str | None = typer.Option(None, help="Comma-separated evaluation seeds (default evaluate.seeds)."),
    fresh_seeds: int | None = typer.Option(
        None, min=1, help="Draw this many secret seeds at run time instead (reported after the run)."
    ),
    accounts: int | None = typer.Option(None, min=10, help="Accounts per world (default evaluate.accounts)."),
    cycles: int | None = typer.Option(None, min=3, help="Horizon in cycles (default evaluate.cycles)."),
    workers: int | None = typer.Option(None, min=1, help="Worlds at a time (default evaluate.workers)."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Where to write the report (JSON)."),
    track: bool = typer.Option(True, help="Log the report to MLflow (experiment `evaluation`)."),
) -> None:
    """Replay policies on held-out simulated worlds and report their net value with intervals across seeds."""
    params = load_params(params_file)
    chosen: tuple[int, ...] | None = None
    if fresh_seeds:
        chosen = tuple(secrets.randbelow(2**31) + 1 for _ in range(fresh_seeds))
    elif seeds:
        chosen = tuple(int(s) for s in seeds.split(",") if s.strip())
    try:
        _, lines = run(params, metrics_file, policy or None, chosen, accounts, cycles, workers, track)
    except PolicyError as exc:
        typer.echo(f"policy error: {exc}", err=True)
        raise typer.Exit(EXIT_POLICY_ERROR) from None
    for line in lines:
        typer.echo(line)
    typer.echo(f"evaluate: wrote {metrics_file}")
