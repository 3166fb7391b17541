"""Figures for MLflow (PNG): transition heatmaps, calibration curves, ROC per bucket, feature
importance and the SHAP summary. The same numbers go to data/plots/ as CSV for `dvc plots`;
the PNGs are for people reading a run in the MLflow UI.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from core.io import atomic_path


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def transition_heatmaps(
    table: pd.DataFrame, names: tuple[str, ...], path: Path, columns: tuple[str, ...] = ("actual", "model", "baseline")
) -> Path:
    """Side-by-side heatmaps of actual and predicted transition rates on the test window."""
    sources = [n for n in names if n in set(table["from"])]
    fig, axes = plt.subplots(1, len(columns), figsize=(5.2 * len(columns), 4.4), squeeze=False, layout="constrained")
    for ax, column in zip(axes[0], columns, strict=True):
        grid = table.pivot(index="from", columns="to", values=column).reindex(index=sources, columns=list(names))
        image = ax.imshow(grid.to_numpy(), vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(column)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(sources)), sources, fontsize=7)
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if np.isfinite(value) and value >= 0.005:
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if value < 0.5 else "black",
                )
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle("Next-cycle transition rates, test window (row: bucket now)")
    return _save(fig, path)


def _per_bucket_axes(buckets: list[str]) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(3, max(1, len(buckets)))
    rows = int(np.ceil(len(buckets) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.6 * rows), squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[len(buckets) :]:
        ax.axis("off")
    return fig, flat


def calibration_curves(
    points: pd.DataFrame,
    path: Path,
    title: str = "Calibration of P(roll forward), test window",
    xlabel: str = "predicted roll-forward",
) -> Path:
    """Reliability per panel (`bucket`: a source bucket, or a propensity horizon): each model against the diagonal."""
    buckets = list(dict.fromkeys(points["bucket"]))
    fig, axes = _per_bucket_axes(buckets)
    for ax, bucket in zip(axes, buckets, strict=False):  # spare axes stay blank
        for model, part in points[points["bucket"] == bucket].groupby("model", sort=False):
            ax.plot(part["predicted"], part["observed"], marker="o", label=model)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set_title(bucket, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("observed", fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def roc_curves(points: pd.DataFrame, path: Path) -> Path:
    buckets = list(dict.fromkeys(points["bucket"]))
    fig, axes = _per_bucket_axes(buckets)
    for ax, bucket in zip(axes, buckets, strict=False):  # spare axes stay blank
        for model, part in points[points["bucket"] == bucket].groupby("model", sort=False):
            ax.plot(part["fpr"], part["tpr"], label=model)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set_title(bucket, fontsize=9)
        ax.set_xlabel("false positive rate", fontsize=8)
        ax.set_ylabel("true positive rate", fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle("ROC of P(roll forward) per source bucket, test window")
    return _save(fig, path)


def lift_curves(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Lift by score decile (1: highest scores) per panel (`bucket`), one line per model."""
    panels = list(dict.fromkeys(table["bucket"]))
    fig, axes = _per_bucket_axes(panels)
    for ax, panel in zip(axes, panels, strict=False):  # spare axes stay blank
        for model, part in table[table["bucket"] == panel].groupby("model", sort=False):
            ax.plot(part["decile"], part["lift"], marker="o", label=model)
        ax.axhline(1.0, color="grey", linestyle=":")
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel("score decile (1: highest)", fontsize=8)
        ax.set_ylabel("lift", fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def feature_importance(importance: pd.Series, path: Path, top: int = 25) -> Path:
    shown = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(shown) + 1), layout="constrained")
    ax.barh(shown.index, shown.to_numpy())
    ax.set_xlabel("total gain")
    ax.set_title(f"Feature importance (top {len(shown)})")
    ax.tick_params(axis="y", labelsize=7)
    return _save(fig, path)


def shap_summary(values: np.ndarray, X: pd.DataFrame, path: Path, title: str) -> Path:
    """Beeswarm of SHAP values (computed by LightGBM's TreeSHAP) for the rows of `X`."""
    import shap  # imported here: heavy, and only this plot needs it

    numeric = X.copy()
    for column in numeric.columns:
        if isinstance(numeric[column].dtype, pd.CategoricalDtype):
            numeric[column] = numeric[column].cat.codes.astype("float64")
    # an explicit generator: shap's jitter must not depend on (or warn about) numpy's global RNG
    shap.summary_plot(values, numeric, show=False, max_display=20, plot_size=(7, 6), rng=np.random.default_rng(0))
    fig = plt.gcf()
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)
