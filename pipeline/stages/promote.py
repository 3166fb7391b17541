"""DVC stage `promote`: champion/challenger over the training stages' registration records, and rollback.

Training (roll_rate, propensity, uplift) registers a new version of each family as a challenger and
measures the current champion on the same test window; this stage moves the alias `champion` to the
challenger only when there is no champion or the challenger beats it by more than `promote.margin`
(a share of the champion's lower-is-better score), and refuses when the alias moved since the challenger
was scored (models/common/promotion.py). Each decision is tagged on the model version and its run
(`promotion.*`); data/models/promotion.json says what happened per family (no timestamps: the same
records and registry give the same bytes).

`--rollback NAME` (a family or a registered model name) moves `champion` back to the version the current
champion replaced, tags why, and exits 3 with one line when there is nothing to roll back to.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from core import lifecycle
from core.errors import DataError
from core.io import write_json
from core.params import Params, load_params
from core.paths import MODELS_DIR, PARAMS_FILE
from models.common.promotion import Decision, Rollback, RollbackError, promote, rollback

#: The registration records of the default pipeline's training stages.
RECORDS = (MODELS_DIR / "roll_rate.json", MODELS_DIR / "propensity.json", MODELS_DIR / "uplift.json")
OUTPUT_FILE = MODELS_DIR / "promotion.json"
#: Families whose params section names their registered model (`--rollback roll_rate` reads it there).
FAMILIES = ("roll_rate", "propensity", "uplift")
EXIT_NOTHING_TO_ROLL_BACK = 3


def _read_record(path: Path) -> dict[str, object]:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("registration", "exists", f"no registration record at {path} (train first)") from None
    except json.JSONDecodeError as exc:
        raise DataError("registration", "json", f"{path} is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise DataError("registration", "json", f"{path} holds no JSON object")
    return payload


def run(params: Params, records: tuple[Path, ...] | list[Path] = RECORDS, output_file: Path = OUTPUT_FILE) -> dict:
    """Decide each record's challenger, then write the per-family summary (all records are read first,
    so a missing or malformed one stops the stage before any alias moves)."""
    margin = params.promote.margin
    payloads = [(Path(path).stem, _read_record(Path(path))) for path in records]
    decisions: list[Decision] = []
    for stem, payload in payloads:
        lifecycle.check_parent()  # a run that DVC left behind moves no alias (core/lifecycle.py)
        decisions.append(promote(payload, margin, family=stem))
    summary = {"margin": margin, "families": {d.family: asdict(d) for d in decisions}}
    write_json(summary, Path(output_file))
    return summary


def registered_name(params: Params, name: str) -> str:
    """A family's registered model under these params (`roll_rate` -> `roll_rate.registered_model`), or `name`."""
    return getattr(params, name).registered_model if name in FAMILIES else name


def roll_back(params: Params, name: str, reason: str) -> Rollback:
    return rollback(registered_name(params, name), reason)


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (section `promote`)."),
    record: list[Path] = typer.Option(
        list(RECORDS), "--record", help="Registration record of a training stage (repeat for several)."
    ),
    output_file: Path = typer.Option(OUTPUT_FILE, "--output", help="What happened per family (JSON)."),
    rollback_name: str | None = typer.Option(
        None,
        "--rollback",
        help="Instead of promoting: move `champion` of this family or registered model back to the previous one.",
    ),
    reason: str = typer.Option("manual rollback", help="Why (tagged on the versions) with --rollback."),
) -> None:
    """Move each family's `champion` to its new challenger only when it wins by the margin; or roll back."""
    params = load_params(params_file)
    if rollback_name is not None:
        try:
            done = roll_back(params, rollback_name, reason)
        except RollbackError as err:
            typer.echo(f"promote --rollback: {err}", err=True)
            raise typer.Exit(EXIT_NOTHING_TO_ROLL_BACK) from None
        typer.echo(done.line())
        return
    summary = run(params, tuple(record), output_file)
    for row in summary["families"].values():
        typer.echo(Decision(**row).line())
