"""DVC stage `simulate`: write the embedded default data set (five canonical tables) to data/raw."""
from __future__ import annotations

from pathlib import Path

import typer

from core.params import Params, load_params
from core.paths import PARAMS_FILE, RAW_DIR


def run(params: Params, out_dir: Path = RAW_DIR) -> list[Path]:
    raise NotImplementedError("the simulator lands with issue 2")


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file."),
    out_dir: Path = typer.Option(RAW_DIR, help="Directory for the five tables."),
) -> None:
    """Simulate the default book of accounts and write the five canonical tables."""
    run(load_params(params_file), out_dir)
