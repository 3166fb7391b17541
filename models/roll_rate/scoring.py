"""The fitted roll-rate model as data: what scoring needs, saved as plain files, nothing pickled.

`RollRateScorer` is everything `predict_proba` reads once fitting is over (the feature layout,
the sub-models, the calibrator and the absorbing-bucket rule) and nothing of the fitting (params,
validation frames, the losing model form). `RollRateModel.predict_proba` and the registered MLflow
model both call it, so the served probabilities come from the same code as the evaluated ones.

`save(folder)` writes LightGBM text model files (one per booster, cut at the early-stopping
iteration; a sub-model trained by inner folds holds one booster per fold and scores with their
mean) and one `scorer.json` (layout, sub-model classes and constants, calibration parameters,
bucket count, absorbing bucket or none, model form): files a person can read and diff, that
do not depend on Python object layouts, and whose loading executes no stored code.

`check_input` is what the served model runs before scoring: it refuses, with the problem on the
first line of a DataError, a frame lacking feature columns, an empty frame, category values or
bucket codes the model never saw, and missing values in a column that held none in the feature
table the model was trained from (layout `missing`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.contracts import SOURCE_BUCKET as SOURCE
from core.errors import DataError
from core.io import atomic_path, write_json
from models.common.calibration import Calibrator, clip_normalise
from models.common.dataset import FeatureLayout

#: Bumped when the files' meaning changes; `load` refuses versions it cannot read instead of guessing.
#: 2: the layout records each column's dtype and whether it held missing values (1 had neither,
#: so a version-1 scorer cannot check its input and is refused).
#: 3: a sub-model may hold several boosters (`boosters`, scored by their mean) and `absorbing` may
#: be null (no absorbing bucket). A version-2 manifest is a version 3 one with a single booster and
#: an absorbing bucket, so it is still read; code that reads version 2 only refuses version 3.
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
MANIFEST = "scorer.json"
#: Sub-model key of the single multiclass model; other keys are source bucket codes.
MULTICLASS = -1


@dataclass
class SubModel:
    """Boosters over `classes` (global bucket codes), scored by the mean of their probabilities (one
    booster, or one per inner fold), or a constant row when there is nothing to learn."""

    classes: np.ndarray
    boosters: tuple[lgb.Booster, ...] = ()
    constant: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boosters = tuple(self.boosters)
        if not self.boosters and self.constant is None:
            raise ValueError("a sub-model needs boosters or a constant")

    @property
    def booster(self) -> lgb.Booster | None:
        """The first booster (the only one unless trained by inner folds); None for a constant."""
        return self.boosters[0] if self.boosters else None

    def predict(self, X: pd.DataFrame, n_buckets: int) -> np.ndarray:
        out = np.zeros((len(X), n_buckets))
        if not self.boosters:
            out[:, self.classes] = self.constant
            return out
        local = 0.0
        for booster in self.boosters:
            raw = booster.predict(X, num_iteration=booster.best_iteration or None)
            local = local + (np.column_stack([1 - raw, raw]) if len(self.classes) == 2 else raw)
        out[:, self.classes] = local / len(self.boosters)
        return out


def _booster_file(key: int, member: int, members: int) -> str:
    stem = "booster_multiclass" if key == MULTICLASS else f"booster_source_{key}"
    return f"{stem}.txt" if members == 1 else f"{stem}_{member}.txt"


@dataclass
class RollRateScorer:
    """Calibrated next-bucket probabilities (n, K) from a feature frame holding the `bucket` column.

    `calibrator` is None only while fitting compares strategies on raw probabilities.
    """

    layout: FeatureLayout
    n_buckets: int
    #: The absorbing bucket (charge-off: an account there stays there), or None when every bucket
    #: can be left (params `roll_rate.absorbing_last_bucket: false`).
    absorbing: int | None
    models: dict[int, SubModel]
    model_form: str
    calibrator: Calibrator | None = None

    def _absorbed(self, source: np.ndarray) -> np.ndarray:
        if self.absorbing is None:
            return np.zeros(len(source), dtype=bool)
        return source == self.absorbing

    def raw(self, X: pd.DataFrame, source: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities of laid-out rows; the absorbing bucket stays put, and so do
        source buckets no sub-model was trained for."""
        out = np.zeros((len(X), self.n_buckets))
        if MULTICLASS in self.models:
            out[:] = self.models[MULTICLASS].predict(X, self.n_buckets)
        else:
            for s, model in self.models.items():
                rows = source == s
                if rows.any():
                    out[rows] = model.predict(X[rows], self.n_buckets)
            unseen = ~np.isin(source, list(self.models))
            out[unseen] = np.eye(self.n_buckets)[np.clip(source[unseen], 0, self.n_buckets - 1)]
        absorbed = self._absorbed(source)
        if absorbed.any():
            out[absorbed] = np.eye(self.n_buckets)[self.absorbing]
        return clip_normalise(out)

    def check_input(self, frame: pd.DataFrame) -> None:
        """Refuse (DataError, the problem on its first line) a frame this scorer cannot score as it
        was trained: see `FeatureLayout.check`; and bucket codes outside 0..n_buckets-1 (the
        charge-off rule reads them)."""
        self.layout.check(frame)
        codes = pd.to_numeric(frame[SOURCE], errors="coerce").to_numpy(np.float64)
        bad = ~np.isin(codes, np.arange(self.n_buckets))
        if bad.any():
            shown = ", ".join(str(v) for v in frame.index[bad][:5])
            raise DataError(
                "features",
                "bucket_codes",
                f"{int(bad.sum())} row(s) hold a bucket code outside 0..{self.n_buckets - 1}: "
                f"{sorted(set(frame[SOURCE][bad].tolist()), key=str)[:8]} (index {shown})",
                column=SOURCE,
            )

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.calibrator is None:
            raise ValueError("the scorer has no calibrator yet: it is still being fitted")
        X = self.layout.apply(frame)
        source = frame[SOURCE].to_numpy(np.int64)
        proba = self.calibrator.transform(self.raw(X, source))
        absorbed = self._absorbed(source)
        if absorbed.any():
            proba[absorbed] = clip_normalise(np.eye(self.n_buckets)[np.full(int(absorbed.sum()), self.absorbing)])
        return proba

    # --- files -------------------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        """Write the booster text files and `scorer.json` into `folder` (created); returns the manifest."""
        if self.calibrator is None:
            raise ValueError("only a fitted (calibrated) scorer can be saved")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        submodels = []
        for key, model in sorted(self.models.items()):
            entry: dict[str, object] = {"key": int(key), "classes": [int(c) for c in model.classes]}
            if not model.boosters:
                entry["constant"] = np.asarray(model.constant, dtype=np.float64).tolist()
            else:
                names = []
                for i, booster in enumerate(model.boosters):
                    name = _booster_file(int(key), i, len(model.boosters))
                    with atomic_path(folder / name) as tmp:
                        booster.save_model(tmp, num_iteration=booster.best_iteration or None)
                    names.append(name)
                entry["boosters"] = names
            submodels.append(entry)
        manifest = {
            "format_version": FORMAT_VERSION,
            "n_buckets": int(self.n_buckets),
            "absorbing": None if self.absorbing is None else int(self.absorbing),
            "strategy": self.model_form,  # the manifest key predates the params rename
            "layout": self.layout.to_dict(),
            "submodels": submodels,
            "calibrator": self.calibrator.to_dict(),
        }
        write_json(manifest, folder / MANIFEST)
        return folder / MANIFEST

    @classmethod
    def load(cls, folder: Path) -> RollRateScorer:
        """The scorer `save` wrote: boosters from their text files, the rest from `scorer.json`."""
        folder = Path(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        found = manifest.get("format_version")
        if found not in READABLE_VERSIONS:
            why = (
                " (written before the scorer recorded dtypes and missing values, so it cannot check its input;"
                " retrain, e.g. `dvc repro roll_rate`, to register a model this code serves)"
                if found == 1
                else ""
            )
            readable = " or ".join(str(v) for v in READABLE_VERSIONS)
            raise ValueError(f"{folder / MANIFEST}: format_version {found!r}, this code reads {readable}{why}")
        layout = manifest["layout"]
        models = {}
        for entry in manifest["submodels"]:
            classes = np.asarray(entry["classes"], dtype=np.int64)
            files = entry.get("boosters", [entry["booster"]] if "booster" in entry else [])  # version 2: "booster"
            if files:
                boosters = tuple(lgb.Booster(model_file=str(folder / name)) for name in files)
                models[int(entry["key"])] = SubModel(classes, boosters)
            else:
                models[int(entry["key"])] = SubModel(classes, (), np.asarray(entry["constant"], dtype=np.float64))
        return cls(
            layout=FeatureLayout.from_dict(layout),
            n_buckets=int(manifest["n_buckets"]),
            absorbing=None if manifest["absorbing"] is None else int(manifest["absorbing"]),
            models=models,
            model_form=str(manifest["strategy"]),
            calibrator=Calibrator.from_dict(manifest["calibrator"]),
        )
