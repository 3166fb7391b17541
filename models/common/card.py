"""The model card logged with every registered model: what it learnt from, how good it is against its
baselines, where it is weaker, and what it cannot do.

A collections manager asked "can we trust this model for the CN book, for BNPL?" should find the answer
on the registered version's page, not in a notebook. The card is markdown: the registry shows it as the
version's description and the training run holds it as `model_card.md`. The common header (the run, the
commit, the params hash, the data hashes, the data window) comes from the run's tags; each family adds
its own sections (metrics against the baselines, slices by product and region where its rows carry
them, known limits) through `ModelFamily.card_sections`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

#: Name of the card among the training run's artifacts.
CARD_FILE = "model_card.md"
#: The first line of every card (how a reader, or a check, knows a description is a card).
TITLE = "# Model card"


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table; floats rounded to `digits`, missing values as an empty cell."""

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return ""
        if isinstance(value, float | np.floating):
            return f"{float(value):.{digits}f}"
        return str(value)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def slice_table(
    groups: pd.Series,
    predictions: Mapping[str, np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], float],
    min_rows: int = 50,
) -> pd.DataFrame:
    """Per value of `groups` (a column of the test rows): its rows and `score(rows, predictions)` of each
    model. `score` receives the row positions and one model's predictions; slices under `min_rows` rows
    are reported without scores (too few rows to say anything)."""
    values = groups.astype(object).where(groups.notna(), "(missing)").to_numpy(object)
    out = []
    for value in sorted(set(values), key=str):
        rows = np.flatnonzero(values == value)
        entry: dict[str, object] = {groups.name or "slice": value, "rows": len(rows)}
        for name, p in predictions.items():
            entry[name] = score(rows, p) if len(rows) >= min_rows else None
        out.append(entry)
    return pd.DataFrame(out)


def model_card(
    name: str, family: str, run_id: str, tags: Mapping[str, str], sections: Mapping[str, str], score: str
) -> str:
    """The card's markdown: the common header from the run's tags, then the family's sections in order."""
    window = {k.removeprefix("split."): v for k, v in sorted(tags.items()) if k.startswith("split.")}
    hashes = {k.removeprefix("dvc_hash."): v for k, v in sorted(tags.items()) if k.startswith("dvc_hash.")}
    lines = [
        f"{TITLE}: `{name}` ({family})",
        "",
        f"- Training run: `{run_id}`; git commit `{tags.get('git_commit', 'unknown')}`; "
        f"params hash `{tags.get('params_hash', 'unknown')}`.",
        "- Data (DVC hashes): " + (", ".join(f"{k} `{v}`" for k, v in hashes.items()) or "not recorded") + ".",
        "- Data window: " + ("; ".join(f"{k}: {v}" for k, v in window.items()) or "not recorded") + ".",
        f"- The registry compares versions by `{score}` on the same test window (lower is better) and moves "
        "`champion` only on a win by `promote.margin` (docs/mlflow.md).",
    ]
    for title, body in sections.items():
        lines += ["", f"## {title}", "", body.strip()]
    return "\n".join(lines) + "\n"


def audit_cards(client) -> list[str]:
    """Every registered model version (`name/version`) whose description is not a model card."""
    missing = []
    for model in client.search_registered_models():
        for version in client.search_model_versions(f"name = '{model.name}'"):
            if not (version.description or "").startswith(TITLE):
                missing.append(f"{model.name}/{version.version}")
    return sorted(missing)
