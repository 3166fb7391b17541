"""The fitted propensity models as data: what scoring needs, saved as plain files, nothing pickled.

`PropensityScorer` holds, per horizon h (days), a LightGBM classifier of `paid_{h}d` with its
calibrator and a LightGBM Tweedie regression of the amount paid within h days, the feature
layout, and the charge-off edge that defines the rows it scores (models/propensity/rows.py).
`predict` returns `p_pay_{h}d` and `expected_paid_{h}d` per row; rows not in arrears get empty
values: the model says nothing about them. Training, evaluation and the registered MLflow
model all score through it.

`save(folder)` writes one LightGBM text file per booster (cut at the early-stopping iteration)
and `scorer.json` (layout, horizons, charge-off edge, calibrators); loading parses them and
executes no stored code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.io import atomic_path, write_json
from models.common.calibration import Calibrator
from models.common.dataset import FeatureLayout
from models.propensity.rows import in_arrears

FORMAT_VERSION = 1
MANIFEST = "scorer.json"


def probability_column(days: int) -> str:
    return f"p_pay_{days}d"


def amount_column(days: int) -> str:
    return f"expected_paid_{days}d"


def predict_booster(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    return booster.predict(X, num_iteration=booster.best_iteration or None)


@dataclass
class Horizon:
    """The models of one horizon: P(paid) (raw booster, then calibrator) and the expected amount."""

    days: int
    classifier: lgb.Booster
    calibrator: Calibrator
    amount: lgb.Booster
    #: multiplies the regression's amounts: paid / predicted totals on the validation window (later than training)
    amount_scale: float = 1.0

    def probability(self, X: np.ndarray) -> np.ndarray:
        raw = predict_booster(self.classifier, X)
        return self.calibrator.transform(np.column_stack([1 - raw, raw]))[:, 1]

    def expected_amount(self, X: np.ndarray) -> np.ndarray:
        return predict_booster(self.amount, X) * self.amount_scale


@dataclass
class PropensityScorer:
    layout: FeatureLayout
    charge_off_dpd: int
    horizons: tuple[Horizon, ...]

    @property
    def columns(self) -> list[str]:
        """Output columns, in order: the probabilities, then the expected amounts."""
        days = [h.days for h in self.horizons]
        return [probability_column(d) for d in days] + [amount_column(d) for d in days]

    def check_input(self, frame: pd.DataFrame) -> None:
        """Refuse (DataError, the problem on its first line) a frame this scorer cannot score as trained."""
        self.layout.check(frame)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row of `frame`: calibrated P(paid) and expected amount paid per horizon; empty (NaN)
        for rows that are not in arrears."""
        out = pd.DataFrame(np.nan, index=frame.index, columns=self.columns)
        rows = np.flatnonzero(in_arrears(frame, self.charge_off_dpd))
        if len(rows):
            X = self.layout.matrix(frame, rows)
            for h in self.horizons:
                out.iloc[rows, out.columns.get_loc(probability_column(h.days))] = h.probability(X)
                out.iloc[rows, out.columns.get_loc(amount_column(h.days))] = h.expected_amount(X)
        return out

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for h in self.horizons:
            files = {"classifier": f"classifier_{h.days}d.txt", "amount": f"amount_{h.days}d.txt"}
            for key, booster in (("classifier", h.classifier), ("amount", h.amount)):
                with atomic_path(folder / files[key]) as tmp:
                    booster.save_model(tmp, num_iteration=booster.best_iteration or None)
            entry = {"days": h.days, **files, "calibrator": h.calibrator.to_dict(), "amount_scale": h.amount_scale}
            entries.append(entry)
        manifest = {
            "format_version": FORMAT_VERSION,
            "charge_off_dpd": int(self.charge_off_dpd),
            "layout": self.layout.to_dict(),
            "horizons": entries,
        }
        write_json(manifest, folder / MANIFEST)
        return folder / MANIFEST

    @classmethod
    def load(cls, folder: Path) -> PropensityScorer:
        folder = Path(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{folder / MANIFEST}: format_version {manifest.get('format_version')!r}, "
                f"this code reads {FORMAT_VERSION}"
            )
        horizons = tuple(
            Horizon(
                int(e["days"]),
                lgb.Booster(model_file=str(folder / e["classifier"])),
                Calibrator.from_dict(e["calibrator"]),
                lgb.Booster(model_file=str(folder / e["amount"])),
                float(e["amount_scale"]),
            )
            for e in manifest["horizons"]
        )
        return cls(FeatureLayout.from_dict(manifest["layout"]), int(manifest["charge_off_dpd"]), horizons)
