"""The roll-rate model as a registry family: what its MLflow run holds and how a champion is re-scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd  # DRIFT
from mlflow.pyfunc import PyFuncModel

from core.contracts import NEXT_BUCKET, SOURCE_BUCKET
from core.params import Params
from models.common import drift, plots  # DRIFT: drift
from models.common.card import markdown_table, slice_table
from models.common.metrics import log_loss
from models.common.pyfunc import served_inputs
from models.common.registry import flatten
from models.common.split import AccountSplit
from models.propensity.rows import in_arrears  # DRIFT
from models.roll_rate.evaluation import roll_forward_score  # DRIFT
from models.roll_rate.pyfunc import log_pyfunc
from models.roll_rate.train import BASELINE, MODEL, PLAIN, RollRateResult


@dataclass
class RollRateFamily:
    """A fitted roll-rate result with the params it was trained under (implements `ModelFamily`)."""

    result: RollRateResult
    run_params: Params
    #: The feature catalogue (markdown) logged beside the model, so analysts read what each column means.
    catalogue_markdown: str | None = None

    family = "roll_rate"
    score_name = "logloss"
    score_metric = "model.logloss"

    @property
    def experiment(self) -> str:
        return self.run_params.roll_rate.experiment

    @property
    def registered_model(self) -> str:
        return self.run_params.roll_rate.registered_model

    def params(self) -> dict[str, object]:
        p = self.run_params
        out = {f"roll_rate.{k}": v for k, v in flatten(p.roll_rate.model_dump()).items()}
        out["seeds.training"] = p.seeds.training
        out["buckets.names"] = ",".join(p.buckets.names)
        out["buckets.min_dpd"] = ",".join(str(v) for v in p.buckets.min_dpd)
        return out

    def tags(self) -> dict[str, str]:
        model = self.result.model
        return {
            "model_form": model.model_form_,
            "calibration": model.calibration_,
            **{f"split.{k}": v for k, v in self.result.split.describe().items()},
        }

    def metrics(self) -> dict[str, object]:
        return self.result.metrics

    def test_score(self) -> float:
        return float(self.result.metrics["model"]["logloss"])

    def write_artifacts(self, folder: Path) -> None:
        result, names = self.result, tuple(self.run_params.buckets.names)
        model = result.model
        plots.transition_heatmaps(result.transitions, names, folder / "transition_heatmaps.png")
        plots.calibration_curves(result.calibration, folder / "calibration_curves.png")
        plots.roc_curves(result.roc, folder / "roc_per_bucket.png")
        plots.feature_importance(model.feature_importance(), folder / "feature_importance.png")
        current = result.test[result.test[SOURCE_BUCKET] == 0].head(self.run_params.roll_rate.shap_sample)
        values, X = model.contributions(current, source=0, target=1)
        if len(X):
            plots.shap_summary(
                values,
                X,
                folder / "shap_summary.png",
                f"SHAP: {names[0]} -> {names[1]} (roll forward from current), raw score",
            )
        for name, table in (
            ("transitions", result.transitions),
            ("forecast", result.forecast),
            ("roc", result.roc),
            ("calibration", result.calibration),
        ):
            table.to_csv(folder / f"{name}.csv", index=False)
        if self.catalogue_markdown is not None:
            (folder / "feature_catalogue.md").write_text(self.catalogue_markdown)
        # --- DRIFT (issue 16): the training population's profile, read by the nightly drift check
        if len(result.test):
            drift.write_reference(self.reference(), folder)

    def reference(self) -> dict[str, object]:
        """The test window's model features and served roll-forward score (out of sample), profiled for PSI
        (models/common/drift.py) on the rows in arrears: the accounts nightly decisions and scores are for,
        and the population the nightly check can compare like with like (every row if none is in arrears)."""
        test, buckets = self.result.test, self.run_params.buckets.as_buckets()
        charge_off_dpd = int(buckets.min_dpd[buckets.charge_off])
        rows = in_arrears(test, charge_off_dpd)
        population = {"rows": "in_arrears", "charge_off_dpd": charge_off_dpd, "window": "test"}
        if not rows.any():
            rows, population = np.ones(len(test), dtype=bool), {"rows": "all", "window": "test"}
        score = roll_forward_score(self.result.predictions["model"], test[SOURCE_BUCKET].to_numpy())
        features = drift.profile(test[rows], self.result.model.layout_.columns, population=population)
        frame = pd.DataFrame({"score_roll_forward": score[rows]})
        return drift.reference(self.family, features, drift.profile(frame, frame.columns, population=population))

    # --- end DRIFT

    def components(self) -> dict[str, dict[str, object]]:
        """The registered model and its two baselines, each a nested run with its test-window metrics."""
        m = self.result.metrics
        return {name: m[name] for name in (MODEL, BASELINE, PLAIN) if isinstance(m.get(name), dict)}

    def card_sections(self) -> dict[str, str]:
        m, test = self.result.metrics, self.result.test
        headline = pd.DataFrame(
            [{"model": name, **metrics} for name, metrics in self.components().items()],
        )
        y = test[NEXT_BUCKET].to_numpy(np.int64)
        preds = {k: v for k, v in self.result.predictions.items() if len(v) == len(test)}

        def score(rows: np.ndarray, p: np.ndarray) -> float:
            return log_loss(y[rows], p[rows])

        slices = [
            markdown_table(slice_table(test[column], preds, score))
            for column in ("product", SOURCE_BUCKET)
            if column in test.columns
        ]
        return {
            "Metrics on the test window": markdown_table(headline)
            + f"\n\nLog loss reduction vs the Markov baseline: {m.get('logloss_reduction', float('nan')):.4f}.",
            "Slices (log loss of next month's bucket, by product and by source bucket)": "\n\n".join(slices)
            or "No slice column in the test rows.",
            "Known limits": "\n".join(
                [
                    "- Region is not among the features, so no slice by region here: the nightly drift check and "
                    "the recommendations report by region.",
                    "- Trained on the months of the data window only: a shift in the economy or in collections "
                    "practice after it is not in the model (watch the PSI of the nightly scoring runs).",
                    "- Probabilities are calibrated on the validation window; slices with few rows (under 50, left "
                    "empty above) say nothing.",
                ]
            ),
        }

    def log_model(self):
        return log_pyfunc(self.result.model, tuple(self.run_params.buckets.names), self.result.test.head(5))

    def score(self, model: PyFuncModel) -> float:
        if isinstance(self.result.split, AccountSplit):
            # out of fold, every labelled row is a test row, and a champion fitted on this data has
            # trained on all of them: its score here would be in sample. The logged scores decide.
            raise ValueError("the account split has no rows a previous champion never saw")
        test = self.result.test
        proba = model.predict(served_inputs(model, test)).to_numpy(np.float64)
        return log_loss(test[NEXT_BUCKET].to_numpy(np.int64), proba)
