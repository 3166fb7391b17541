"""DVC stage `features`: data/validated -> features, labels and contact labels in data/processed.

The book is processed one partition of accounts at a time (`features.partition_accounts`)
through the partitioned backend (core/partitions.py): memory holds one partition's histories,
never the whole book, and the outputs are published only when every partition has succeeded.
What the source lacks (a table it has no records of, a column it never reports) is found once
over the whole book: the features that need it are empty in every partition, and features.json
lists them with the reason (`features_not_computable`).
The feature catalogue is written beside them, for the roll-rate stage to log with its model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer

from core.contracts import NEXT_BUCKET, paid_label
from core.io import atomic_path, write_json
from core.params import Params, load_params
from core.partitions import PartitionedBook, map_partitions
from core.paths import METRICS_DIR, PARAMS_FILE, PROCESSED_DIR, VALIDATED_DIR
from features import build_all, catalogue_markdown
from features.build import book_inputs, not_computable
from features.labels import observation_end

METRICS_FILE = METRICS_DIR / "features.json"
OUTPUTS = ("features", "labels", "contact_labels")


def run(
    params: Params, in_dir: Path = VALIDATED_DIR, out_dir: Path = PROCESSED_DIR, metrics_file: Path = METRICS_FILE
) -> dict[str, Any]:
    """Write features.parquet, labels.parquet, contact_labels.parquet and feature_catalogue.md; return metrics."""
    out_dir = Path(out_dir)
    counts = {"rows": 0, "accounts": 0, "contacts": 0, "partitions": 0, "next_bucket_observed": 0}
    positives: dict[str, list[int]] = {}
    n_features = 0
    book = PartitionedBook(Path(in_dir))
    # every partition judges "fully observed" against the whole book's end of data, and what the
    # source lacks against the whole book
    end = observation_end(book.column("statements", "cycle_date").to_frame())
    inputs = book_inputs(book)
    missing = not_computable(params.features, inputs)

    def compute(part: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return build_all(part, params.features, params.buckets, observed_until=end, inputs=inputs)

    def tally(frames) -> None:
        nonlocal n_features
        feats, labels, contact = frames
        n_features = feats.shape[1] - 2
        counts["rows"] += len(feats)
        counts["accounts"] += int(feats["account_id"].nunique())
        counts["contacts"] += len(contact)
        counts["next_bucket_observed"] += int(labels[NEXT_BUCKET].notna().sum())
        for col in [paid_label(h) for h in params.features.ptp_horizons_days]:  # propensity-to-pay labels
            seen = labels[col].dropna()
            got = positives.setdefault(col, [0, 0])
            got[0] += int(seen.sum())
            got[1] += len(seen)

    outputs = [out_dir / f"{name}.parquet" for name in OUTPUTS]
    counts["partitions"] = map_partitions(
        book, params.features.partition_accounts, compute, outputs, tally, description="features"
    )
    with atomic_path(out_dir / "feature_catalogue.md") as tmp:
        tmp.write_text(catalogue_markdown(params.features))
    metrics = {
        **counts,
        "feature_columns": n_features,
        # what the source lacks, and the features left empty for it (never filled with a guess)
        "tables_absent": sorted(inputs.absent_tables),
        "columns_empty": sorted(inputs.empty_columns),
        "features_not_computable": {
            why: sorted(n for n, w in missing.items() if w == why) for why in sorted(set(missing.values()))
        },
        **{f"{col}_rate": round(p / n, 4) if n else None for col, (p, n) in positives.items()},
        **{f"{col}_observed": n for col, (p, n) in positives.items()},
    }
    write_json(metrics, metrics_file)
    return metrics


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (sections `features`, `buckets`)."),
    in_dir: Path = typer.Option(VALIDATED_DIR, help="Directory with the five validated tables."),
    out_dir: Path = typer.Option(PROCESSED_DIR, help="Where features, labels and contact labels go (parquet)."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Summary metrics (JSON): rows, label coverage."),
) -> None:
    """Build point-in-time features and labels for every account and cycle."""
    metrics = run(load_params(params_file), in_dir, out_dir, metrics_file)
    typer.echo(
        f"features: {metrics['rows']:,} rows x {metrics['feature_columns']} features for "
        f"{metrics['accounts']:,} accounts in {metrics['partitions']} partition(s); "
        f"{metrics['contacts']:,} contacts labelled; outputs in {out_dir}"
    )
