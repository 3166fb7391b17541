"""The propensity models as a registry family: what the MLflow run holds and how a champion is re-scored.

The test score that decides the `champion` alias is the log loss of P(paid), averaged over the
horizons (lower is better): a proper score, so a model cannot win by ranking well while its
probabilities drift. A previous champion is re-scored on this run's test rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd  # DRIFT
from mlflow.pyfunc import PyFuncModel

from core.contracts import paid_label
from core.params import Params
from models.common import drift, plots  # DRIFT: drift
from models.common.card import markdown_table, slice_table
from models.common.metrics import log_loss
from models.common.pyfunc import served_inputs
from models.common.registry import flatten
from models.propensity.pyfunc import log_pyfunc
from models.propensity.scoring import probability_column
from models.propensity.train import PropensityResult


@dataclass
class PropensityFamily:
    """A fitted propensity result with the params it was trained under (implements `ModelFamily`)."""

    result: PropensityResult
    run_params: Params

    family = "propensity"
    score_name = "logloss"
    score_metric = "model.logloss"

    @property
    def experiment(self) -> str:
        return self.run_params.propensity.experiment

    @property
    def registered_model(self) -> str:
        return self.run_params.propensity.registered_model

    def params(self) -> dict[str, object]:
        p = self.run_params
        out = {f"propensity.{k}": v for k, v in flatten(p.propensity.model_dump()).items()}
        out["seeds.training"] = p.seeds.training
        out["features.ptp_horizons_days"] = ",".join(str(d) for d in p.features.ptp_horizons_days)
        out["features.ptp_min_share"] = p.features.ptp_min_share
        out["buckets.min_dpd"] = ",".join(str(v) for v in p.buckets.min_dpd)
        return out

    def tags(self) -> dict[str, str]:
        calibration = {f"calibration.{h}": str(t["calibration"]) for h, t in self.result.metrics["training"].items()}
        return {**calibration, **{f"split.{k}": v for k, v in self.result.split.describe().items()}}

    def metrics(self) -> dict[str, object]:
        return self.result.metrics

    def test_score(self) -> float:
        """As `score` computes it for a loaded champion (unrounded), so that an equal model ties."""
        return float(
            np.mean([self._logloss(h.days, self.result.predictions[f"{h.days}d"]["model"]) for h in self._horizons])
        )

    @property
    def _horizons(self):
        return self.result.scorer.horizons

    def _logloss(self, days: int, p: np.ndarray) -> float:
        hit = self.result.test[paid_label(days)].to_numpy(bool).astype(np.int64)
        return log_loss(hit, np.column_stack([1 - p, p]))

    def write_artifacts(self, folder: Path) -> None:
        result = self.result
        plots.calibration_curves(
            result.calibration, folder / "calibration_curves.png", "Calibration of P(paid), test window", "P(paid)"
        )
        plots.lift_curves(result.lift, folder / "lift_by_decile.png", "Lift by score decile, test window")
        plots.feature_importance(result.importance, folder / "feature_importance.png")
        result.calibration.to_csv(folder / "calibration.csv", index=False)
        result.lift.to_csv(folder / "lift.csv", index=False)
        # --- DRIFT (issue 16): the training population's profile, read by the nightly drift check
        if len(result.test):
            drift.write_reference(self.reference(), folder)

    def reference(self) -> dict[str, object]:
        """The test window's model features and served P(paid) per horizon (`score_pay_<d>d`), profiled for
        PSI (models/common/drift.py). The models see rows in arrears only: the population says so, and the
        nightly check compares tonight's rows in arrears with it."""
        result = self.result
        scores = pd.DataFrame(
            {f"score_pay_{h.days}d": result.predictions[f"{h.days}d"]["model"] for h in self._horizons}
        )
        population = {
            "rows": "in_arrears",
            "charge_off_dpd": int(result.scorer.charge_off_dpd),
            "window": "test",
            "description": "propensity test rows in arrears",
        }
        features = drift.profile(result.test, result.scorer.layout.columns, population=population)
        scores = drift.profile(scores, scores.columns, population=population)
        return drift.reference(self.family, features, scores)

    # --- end DRIFT

    def components(self) -> dict[str, dict[str, object]]:
        """One nested run per horizon (its model, logistic baseline and plain LightGBM metrics)."""
        return {f"paid within {h.days}d": self.result.metrics[f"{h.days}d"] for h in self._horizons}

    def card_sections(self) -> dict[str, str]:
        result, rows = self.result, []
        for h in self._horizons:
            m = result.metrics[f"{h.days}d"]
            for name in ("model", "baseline", "plain_lgbm"):
                if isinstance(m.get(name), dict):
                    rows.append({"horizon": f"{h.days}d", "model": name, **m[name]})
        slices = []
        for h in self._horizons:
            hit = result.test[paid_label(h.days)].to_numpy(bool).astype(np.int64)

            def score(r: np.ndarray, p: np.ndarray, hit: np.ndarray = hit) -> float:
                return log_loss(hit[r], np.column_stack([1 - p[r], p[r]]))

            if "product" in result.test.columns:
                table = slice_table(result.test["product"], result.predictions[f"{h.days}d"], score)
                slices.append(f"Paid within {h.days} days, log loss by product:\n\n{markdown_table(table)}")
        return {
            "Metrics on the test window (rows in arrears)": markdown_table(pd.DataFrame(rows)),
            "Slices": "\n\n".join(slices) or "No product column in the test rows.",
            "Known limits": "\n".join(
                [
                    "- Scores accounts in arrears only; current accounts get no propensity.",
                    "- Region is not among the features, so no slice by region here.",
                    "- A payment is any payment of at least `features.ptp_min_share` of what is past due within the "
                    "horizon: partial payments below it count as not paid.",
                    "- Contacts change who pays: this is the propensity under the logging policy's contacts, not "
                    "without contact (the uplift model answers that).",
                ]
            ),
        }

    def log_model(self):
        return log_pyfunc(self.result.scorer, self.result.test.head(5))

    def score(self, model: PyFuncModel) -> float:
        """Mean over this run's horizons of the loaded model's log loss on this run's test rows."""
        test = self.result.test
        out = model.predict(served_inputs(model, test))
        return float(
            np.mean(
                [self._logloss(h.days, out[probability_column(h.days)].to_numpy(np.float64)) for h in self._horizons]
            )
        )
