"""DVC stage `simulate`: write the embedded default data set (the tables and the decision log) to data/raw.

The tables are what a lender's systems would have logged under its business-as-usual
contact policy in the simulated world of simulator/ (seeded by params.yaml `seeds.world`, shaped by
`simulate`). The run's true outcomes go to data/metrics/simulate.json.
"""

from __future__ import annotations

from pathlib import Path

import typer

from core.io import write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, PARAMS_FILE, RAW_DIR
from simulator import Simulation

METRICS_FILE = METRICS_DIR / "simulate.json"


def run(
    params: Params, out_dir: Path = RAW_DIR, accounts: int | None = None, metrics_file: Path | None = METRICS_FILE
) -> list[Path]:
    """Simulate the book under business as usual, write the tables (decisions included); returns their paths.

    `accounts` overrides params.simulate.accounts (quick runs, benchmarks).
    """
    overrides = {"accounts": accounts} if accounts is not None else {}
    sim = Simulation.from_params(params, **overrides)
    result = sim.run(record=True)
    paths = result.write(Path(out_dir))
    if metrics_file is not None:
        metrics = result.outcome.as_dict()  # no timings: a forced re-run must give identical metrics
        metrics["rows"] = {p.stem: _rows(p) for p in paths}
        write_json(metrics, Path(metrics_file))
    return paths


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file."),
    out_dir: Path = typer.Option(RAW_DIR, help="Directory for the tables."),
    accounts: int | None = typer.Option(None, min=10, help="Override simulate.accounts from the parameters file."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Where to write the run's true outcomes (JSON)."),
) -> None:
    """Simulate the default book of accounts and write the canonical tables and the decision log."""
    paths = run(load_params(params_file), out_dir, accounts=accounts, metrics_file=metrics_file)
    typer.echo(f"simulate: wrote {', '.join(p.name for p in paths)} to {out_dir}")
