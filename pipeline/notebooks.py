"""What the analyst notebooks (notebooks/) share: a small trained pipeline, and running them all.

The notebooks read the project only through its public functions and MLflow. Where the project's own
outputs are absent (a fresh clone: no runs in the MLflow store, no data/models/), notebooks 03 and 04 build
a small pipeline of their own in a temporary folder with `small_pipeline`: a simulated book, the stages as
library calls (validate, features, roll_rate, propensity, uplift, promote) with small, fast LightGBM
settings, tracked into a throwaway MLflow store inside that folder, and the strategy's context. Nothing is
written into data/, mlflow.db or mlartifacts.

`run_notebooks` executes every notebook of a folder top to bottom (nbclient, the Jupyter kernel
`python3`) and counts the ones that ran and the ones that failed: the check of issue 17
(benchmarks/reports.py) and tests/test_notebooks.py call it. docs/notebooks.md is the manual.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.params import Params, load_params
from core.paths import PROJECT_ROOT

#: Small, fast LightGBM settings (the same as the test suite's small champions).
FAST = {"num_leaves": 7, "min_child_samples": 40, "n_estimators": 40, "early_stopping_rounds": 10, "num_threads": 1}
#: Environment variable: set to 1 to ignore the project's outputs and always build the small pipeline.
FRESH_ENV = "NOTEBOOK_FRESH"
#: MLflow's switch for its artifact progress bars.
PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
#: Terminal colour codes (Jupyter tracebacks carry them).
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Seconds a single notebook may run before it counts as failed.
TIMEOUT_S = 600


def fresh() -> bool:
    """True when the notebooks are asked to ignore the project's outputs (`NOTEBOOK_FRESH=1`)."""
    return os.environ.get(FRESH_ENV, "").strip().lower() in {"1", "true", "yes"}


def small_params(accounts: int = 1200, cycles: int = 10, params: Params | None = None) -> Params:
    """The project's params with a small book and small, fast models (any book of 8+ cycles)."""
    params = fast_models(params or load_params())
    return params.model_copy(
        update={"simulate": params.simulate.model_copy(update={"accounts": accounts, "cycles": cycles})}
    )


def fast_models(params: Params) -> Params:
    """`params` with small, fast models and short validation windows (any book of 8+ cycles): the notebooks'
    small pipeline and the scoring benchmark's --quick champions."""
    return params.model_copy(
        update={
            "roll_rate": params.roll_rate.model_copy(
                update={
                    "valid_cycles": 2,
                    "test_cycles": 2,
                    "shap_sample": 50,
                    "lightgbm": params.roll_rate.lightgbm.model_copy(update=FAST),
                }
            ),
            "propensity": params.propensity.model_copy(
                update={"lightgbm": params.propensity.lightgbm.model_copy(update=FAST)}
            ),
            "uplift": params.uplift.model_copy(
                update={
                    "valid_days": 30,
                    "test_days": 30,
                    "bootstrap": 20,
                    "lightgbm": params.uplift.lightgbm.model_copy(update=FAST),
                }
            ),
        }
    )


@contextlib.contextmanager
def tracking_store(uri: str) -> Iterator[str]:
    """MLflow tracking and registry pointed at `uri` inside the block (the previous settings restored)."""
    import mlflow

    from models.common import tracking

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, uri))
    mlflow.set_tracking_uri(uri)  # an explicit URI outranks the environment: set both
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # the stages pointed MLflow's process-wide URIs at `uri`: back to what the environment says now
        mlflow.set_tracking_uri(tracking.tracking_uri())
        mlflow.set_registry_uri(tracking.registry_uri())


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """MLflow's and the stages' chatter (progress bars, 'Created version ...') kept out of a notebook's
    output inside the block; errors still raise."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)
    before = os.environ.get(PROGRESS_BAR_ENV)
    os.environ[PROGRESS_BAR_ENV] = "false"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
        if before is None:
            os.environ.pop(PROGRESS_BAR_ENV, None)
        else:
            os.environ[PROGRESS_BAR_ENV] = before


@dataclass(frozen=True)
class SmallPipeline:
    """Where a small pipeline's outputs lie (all under `root`), and the seconds each step took."""

    root: Path
    params: Params
    tracking_uri: str
    raw: Path
    validated: Path
    processed: Path
    uplift_dir: Path
    strategy_dir: Path
    seconds: dict[str, float]


FAMILIES = ("roll_rate", "propensity", "uplift")


def small_pipeline(
    root: Path,
    params: Params,
    families: tuple[str, ...] = FAMILIES,
    roll_rate_variants: tuple[dict[str, object], ...] = ({},),
    track: bool = True,
) -> SmallPipeline:
    """Simulate `params.simulate`'s book and train `families` on it through the stages, as `dvc repro` does.

    Each item of `roll_rate_variants` updates `roll_rate.lightgbm` for one roll-rate run (two items: two
    runs to compare). With `track`, runs go to a throwaway MLflow store `root/mlflow.db` and the
    champions are promoted. With uplift, the strategy's context (harm rates, outlook, reminder lift) is
    fitted and saved as the `recommend` stage does, so `strategy.policy:build` can load both folders.
    """
    from core.io import read_tables
    from models.uplift.rows import decision_rows
    from pipeline.stages import features, promote, propensity, roll_rate, simulate, uplift, validate
    from strategy.model import fit_context, save_context

    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown model families {sorted(unknown)}: choose among {FAMILIES}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    out = SmallPipeline(
        root,
        params,
        f"sqlite:///{root / 'mlflow.db'}",
        root / "raw",
        root / "validated",
        root / "processed",
        root / "uplift",
        root / "strategy",
        seconds,
    )

    def step(name: str, call) -> None:
        began = time.perf_counter()
        call()
        seconds[name] = round(time.perf_counter() - began, 1)

    m = {"metrics_file": root / "metrics.json", "plots_dir": root / "plots", "track": track}
    records: list[Path] = []
    with tracking_store(out.tracking_uri), quiet():
        step("simulate", lambda: simulate.run(params, out.raw, metrics_file=None))
        step(
            "validate",
            lambda: validate.run(
                params, out.raw, out.validated, root / "quarantine", root / "validation.json", root / "report", root
            ),
        )
        if {"roll_rate", "propensity"} & set(families):
            step("features", lambda: features.run(params, out.validated, out.processed, root / "features.json"))
        for i, variant in enumerate(roll_rate_variants if "roll_rate" in families else ()):
            lgbm = params.roll_rate.lightgbm.model_copy(update=variant)
            p = params.model_copy(update={"roll_rate": params.roll_rate.model_copy(update={"lightgbm": lgbm})})
            record = root / f"roll_rate_{i}.json"
            step(f"roll_rate_{i}", lambda p=p, r=record: roll_rate.run(p, out.processed, registration_file=r, **m))
            if track:  # as after each night's `dvc repro`: the next run is scored against this champion
                step(f"promote_{i}", lambda r=record, i=i: promote.run(params, [r], root / f"promotion_{i}.json"))
        if "propensity" in families:
            records.append(root / "propensity.json")
            step("propensity", lambda: propensity.run(params, out.processed, registration_file=records[-1], **m))
        if "uplift" in families:
            records.append(root / "uplift.json")
            step(
                "uplift",
                lambda: uplift.run(params, out.validated, model_dir=out.uplift_dir, registration_file=records[-1], **m),
            )
        if track and records:
            step("promote", lambda: promote.run(params, records, root / "promotion.json"))
    if "uplift" in families:
        tables = read_tables(out.validated)
        step(
            "strategy",
            lambda: save_context(fit_context(tables, params, decision_rows(tables, params)), params, out.strategy_dir),
        )
    return out


def run_notebooks(
    folder: Path = PROJECT_ROOT / "notebooks", env: Mapping[str, str] | None = None, timeout: int = TIMEOUT_S
) -> tuple[int, int]:
    """Execute every `*.ipynb` of `folder` (sorted) in a fresh kernel each; return (run, failed).

    `env` adds environment variables for the kernels (e.g. `{"NOTEBOOK_ACCOUNTS": "1000"}`); the project
    root is put on PYTHONPATH. Each notebook runs in its own temporary working folder, so nothing is
    written beside it, and the stored notebook is never changed. A notebook fails when a cell raises or
    a cell runs past `timeout` seconds (or the kernel dies); each failure is printed on one line.
    """
    names = ("PYTHONPATH", *(env or {}))
    before = {name: os.environ.get(name) for name in names}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), before["PYTHONPATH"]) if p)
    os.environ.update(env or {})
    run = failed = 0
    try:
        for path in sorted(Path(folder).glob("*.ipynb")):
            run += 1
            error = execute(path, timeout)
            if error:
                failed += 1
                print(f"notebook {path.name} failed: {last_line(error)}")
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return run, failed


def last_line(error: str) -> str:
    """The last non-empty line of an error, without the terminal colour codes of a Jupyter traceback."""
    lines = [line for line in ANSI.sub("", error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else error


def execute(path: Path, timeout: int = TIMEOUT_S) -> str | None:
    """Run one notebook in a temporary working folder; None when every cell ran, else the error (its
    traceback as the notebook would show it, ending with the exception's line)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="notebook-") as cwd:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}})
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
            return str(err).strip() or type(err).__name__
    return None
