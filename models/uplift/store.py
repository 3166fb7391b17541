"""Save and load a fitted uplift model as files: LightGBM text boosters and one JSON (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np

from core.params import Params
from models.uplift.learners import UpliftModel
from models.uplift.reminders import ReminderModel

META = "uplift.json"


def save(
    model: UpliftModel,
    costs: np.ndarray,
    params: Params,
    folder: Path,
    facts: dict[str, object] | None = None,
    reminders: ReminderModel | None = None,
) -> None:
    """The model's boosters and meta; `facts`: what the strategy takes from the decision log it learnt from
    (models/uplift/reminders.log_facts), read back by `load_facts`; `reminders`: the per-borrower reminder model
    learnt on the same log (models/uplift/reminders.py), read back by `load_reminders`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in ("reward", "effect", "paid"):
        for a, booster in getattr(model, kind).items():
            name = f"{kind}_{a}.txt"
            booster.save_model(str(folder / name))
            files.setdefault(kind, {})[str(a)] = name
    for arm, booster in (reminders.boosters if reminders is not None else {}).items():
        booster.save_model(str(folder / f"reminder_{arm}.txt"))
    meta = {
        "learner": model.learner,
        "n_arms": model.n_arms,
        "costs": [float(c) for c in costs],
        "files": files,
        "uplift": params.uplift.model_dump(mode="json"),
        **({"log_facts": facts} if facts is not None else {}),
        **({"reminders": [f"reminder_{a}.txt" for a in reminders.boosters]} if reminders is not None else {}),
    }
    (folder / META).write_text(json.dumps(meta, indent=2) + "\n")  # key order: hour bands order the arms


def load(folder: Path) -> tuple[UpliftModel, np.ndarray, Params]:
    """The model, the arm costs it was trained with, and params carrying its `uplift:` section."""
    folder = Path(folder)
    meta = json.loads((folder / META).read_text())
    model = UpliftModel(meta["learner"], int(meta["n_arms"]))
    for kind, named in meta["files"].items():  # "files" only: the reminder boosters are load_reminders's
        for a, name in named.items():
            getattr(model, kind)[int(a)] = lgb.Booster(model_file=str(folder / name))
    return model, np.asarray(meta["costs"], float), Params.model_validate({"uplift": meta["uplift"]})


def load_facts(folder: Path) -> dict[str, object] | None:
    """The decision log's facts saved with the model (None: a model saved without them)."""
    return json.loads((Path(folder) / META).read_text()).get("log_facts")


def load_reminders(folder: Path) -> ReminderModel | None:
    """The per-borrower reminder model saved with the uplift model (None: a model saved without one)."""
    folder = Path(folder)
    names = json.loads((folder / META).read_text()).get("reminders")
    if not names:
        return None
    return ReminderModel(
        {
            name.removeprefix("reminder_").removesuffix(".txt"): lgb.Booster(model_file=str(folder / name))
            for name in names
        }
    )
