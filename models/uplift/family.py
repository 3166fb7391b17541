"""The uplift model as a registry family: what the MLflow run holds and how a champion is re-scored.

The score that decides the `champion` alias is the mean Qini coefficient over the arms scored on the
test window (higher is better; the registry compares lower-is-better scores, so its negative). A
previous champion is re-scored on this run's test rows, with this run's propensity weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PyFuncModel

from core.params import Params
from models.common import plots  # selects the Agg backend before pyplot is imported
from models.common.card import markdown_table, slice_table
from models.common.registry import flatten
from models.uplift.pyfunc import log_pyfunc
from models.uplift.qini import Qini
from models.uplift.reminders import ReminderModel
from models.uplift.rows import FEATURES, PRODUCTS
from models.uplift.train import UpliftResult, mean_qini


def qini_table(result: UpliftResult) -> pd.DataFrame:
    """Long table of the test window's Qini curves: arm (or banded channel, its bands pooled; `<channel>_dr` from
    doubly robust scores, `<channel>_dr_paid` the same on whether anything was paid), share targeted, qini,
    random."""
    dr = {f"{c}_dr": q for c, q in result.qini_channel_dr.items()}
    dr_paid = {f"{c}_dr_paid": q for c, q in result.qini_channel_dr_paid.items()}
    rows = [
        {"arm": name, "targeted": x, "qini": q, "random": r}
        for name, curve in (result.qini | result.qini_channel | dr | dr_paid).items()
        for x, q, r in curve.curve
    ]
    return pd.DataFrame(rows, columns=["arm", "targeted", "qini", "random"])


def _qini_figures(qinis: dict[str, Qini]) -> dict[str, dict[str, float]]:
    return {
        k: {"coefficient": q.coefficient, "low": q.low, "high": q.high, "rows": q.rows, "treated": q.treated}
        for k, q in qinis.items()
    }


def _channel_table(qinis: dict[str, Qini]) -> str:
    if not qinis:
        return "No channel with hour bands was scored on the test window."
    return markdown_table(pd.DataFrame([{"channel": c, **values} for c, values in _qini_figures(qinis).items()]))


def metrics(result: UpliftResult) -> dict[str, object]:
    return {
        "learner": result.model.learner,
        "validation": result.validation,
        "qini": _qini_figures(result.qini),
        "qini_channel": _qini_figures(result.qini_channel),
        "qini_channel_dr": _qini_figures(result.qini_channel_dr),
        "qini_channel_dr_paid": _qini_figures(result.qini_channel_dr_paid),
        "weight_balance": result.weight_balance,
        "model": {"mean_qini": mean_qini(result, result.mu_test)},
        "rows": {"train": len(result.train), "valid": len(result.valid), "test": len(result.test)},
        "conversation_rate": result.conversation_rate,
        "costs": {a.name: float(c) for a, c in zip(result.arms, result.costs, strict=True)},
    }


@dataclass
class UpliftFamily:
    """A fitted uplift result with the params it was trained under (implements `ModelFamily`)."""

    result: UpliftResult
    run_params: Params
    #: The decision log's facts the strategy reads (models/uplift/reminders.log_facts), saved with the model.
    facts: dict[str, object] | None = None
    #: The per-borrower reminder model learnt on the same log (models/uplift/reminders.py), saved with the model.
    reminders: ReminderModel | None = None

    family = "uplift"
    score_name = "neg_mean_qini"
    score_metric = "model.neg_mean_qini"

    @property
    def experiment(self) -> str:
        return self.run_params.uplift.experiment

    @property
    def registered_model(self) -> str:
        return self.run_params.uplift.registered_model

    def params(self) -> dict[str, object]:
        p = self.run_params
        out = {f"uplift.{k}": v for k, v in flatten(p.uplift.model_dump(mode="json")).items()}
        out["seeds.training"] = p.seeds.training
        out["contact.channel_cost"] = ",".join(f"{k}={v}" for k, v in p.contact.channel_cost.items())
        return out

    def tags(self) -> dict[str, str]:
        return {"learner": self.result.model.learner}

    def metrics(self) -> dict[str, object]:
        m = metrics(self.result)
        m["model"]["neg_mean_qini"] = -m["model"]["mean_qini"]
        return m

    def test_score(self) -> float:
        return -mean_qini(self.result, self.result.mu_test)

    def write_artifacts(self, folder: Path) -> None:
        table = qini_table(self.result)
        table.to_csv(folder / "qini.csv", index=False)
        plt = plots.plt
        fig, ax = plt.subplots(figsize=(7, 5))
        for name, part in table.groupby("arm", sort=False):
            ax.plot(part["targeted"], part["qini"] - part["random"], label=name)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("share of decisions targeted (highest predicted effect first)")
        ax.set_ylabel("Qini minus random targeting")
        ax.set_title("Qini curves, test window")
        ax.legend(fontsize=7)
        fig.savefig(folder / "qini_curves.png", dpi=100)
        plt.close(fig)

    def components(self) -> dict[str, dict[str, object]]:
        """One nested run per arm: its Qini coefficient (with interval) on the test window and its cost."""
        m = metrics(self.result)
        return {arm: {**q, "cost": m["costs"].get(arm)} for arm, q in m["qini"].items()}

    def card_sections(self) -> dict[str, str]:
        result = self.result
        qini = pd.DataFrame([{"arm": arm, **values} for arm, values in self.components().items()])
        test = result.test
        arm = test["arm"].to_numpy(np.int64)
        logged = result.mu_test[np.arange(len(test)), arm]  # predicted response of the action actually taken
        reward = test["reward"].to_numpy(np.float64)
        slices = []
        for column, labels in (("region_cn", {True: "CN", False: "US"}), ("product", dict(enumerate(PRODUCTS)))):
            if column in test.columns:
                groups = test[column].map(labels).rename("region" if column == "region_cn" else column)
                table = slice_table(
                    groups,
                    {"observed": reward, "predicted": logged},
                    lambda rows, values: float(np.mean(values[rows])),
                )
                slices.append(
                    f"Mean response per decision, observed vs predicted, by {groups.name}:\n\n"
                    + markdown_table(table, digits=2)
                )
        return {
            "Qini on the test window (per arm, vs random targeting)": markdown_table(qini),
            "Qini on the test window (per channel, its hour bands pooled)": _channel_table(result.qini_channel),
            "Qini on the test window (per channel, doubly robust scores on every decision it was allowed)": (
                _channel_table(result.qini_channel_dr)
            ),
            "Qini on the test window (per channel, doubly robust, on whether anything was paid)": (
                _channel_table(result.qini_channel_dr_paid)
            ),
            "Inverse-propensity weights per decision allowed (1: they stand for every decision)": (
                markdown_table(pd.DataFrame([{"arm": a, **v} for a, v in result.weight_balance.items()]))
                if result.weight_balance
                else "No arm was scored on the test window."
            ),
            "Slices": "\n\n".join(slices) or "No region or product column in the decision rows.",
            "Known limits": "\n".join(
                [
                    "- Learnt from the decision log: an action the logging policy never took in a state has no "
                    "support there, and its effect is extrapolated.",
                    "- Arms with too few logged decisions are not modelled (their Qini is missing above).",
                    "- The response is payments within `uplift.response_days` days; effects that build over months "
                    "are priced by the strategy's long-horizon term, not by this model.",
                ]
            ),
        }

    def log_model(self):
        result = self.result
        return log_pyfunc(
            result.model, result.costs, self.run_params, result.test.head(5), facts=self.facts, reminders=self.reminders
        )

    def score(self, model: PyFuncModel) -> float:
        """Negative mean Qini of the loaded model on this run's test rows and weights."""
        out = model.predict(self.result.test[list(FEATURES)].astype(np.float64))
        mu = np.column_stack([out[f"expected_{a.name}"].to_numpy(np.float64) for a in self.result.arms])
        return -mean_qini(self.result, mu)
