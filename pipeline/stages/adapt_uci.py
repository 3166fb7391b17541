"""Stage `adapt_uci` (configs/uci/dvc.yaml): the UCI credit-card CSV as the five canonical tables.

The real-data configuration's first stage, in place of `simulate`: everything after it
(validate, features, roll_rate) is the default pipeline's code, run on data/uci/.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adapters.uci_credit_default import load
from core.io import write_tables
from core.paths import DATA_DIR, UCI_CREDIT_DEFAULT_CSV


def run(csv: Path = UCI_CREDIT_DEFAULT_CSV, out_dir: Path = DATA_DIR / "uci" / "raw") -> list[Path]:
    tables, _ = load(Path(csv))
    return write_tables(tables, Path(out_dir))


def command(
    csv: Path = typer.Option(UCI_CREDIT_DEFAULT_CSV, help="UCI_Credit_Card.csv (see its PROVENANCE.md)."),
    out_dir: Path = typer.Option(DATA_DIR / "uci" / "raw", help="Directory for the five canonical tables."),
) -> None:
    """Map the UCI default-of-credit-card-clients CSV into the canonical schema."""
    paths = run(csv, out_dir)
    typer.echo(f"wrote {', '.join(p.name for p in paths)} to {out_dir}")
