"""DVC stage `features`: data/validated -> features, labels and contact labels in data/processed.

The book is processed one partition of accounts at a time (`features.partition_accounts`):
each partition's rows are read from the parquet files with a filter on account_id, turned
into features and labels, and appended to the outputs as one row group, so memory holds one
partition's histories, never the whole book. Each output is written beside its target and
renamed over it only when every partition has succeeded.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from core.io import atomic_path, cast_column, conform, find_table_file, read_table, write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, PARAMS_FILE, PROCESSED_DIR, VALIDATED_DIR
from core.schema import TABLE_NAMES, table
from features import build_all, catalogue_markdown, partition_bounds, slice_tables
from features.labels import observation_end

METRICS_FILE = METRICS_DIR / "features.json"
OUTPUTS = ("features", "labels", "contact_labels")
#: Tables read whole: one row per account, or few rows that may cover a borrower's every account.
READ_WHOLE = ("accounts", "restrictions")


class _PartitionReader:
    """Reads one account-id range of each table; parquet is filtered on read, CSV read once."""

    def __init__(self, directory: Path) -> None:
        self.files = {name: find_table_file(directory, name) for name in TABLE_NAMES}
        self.whole = {name: read_table(directory, name) for name in TABLE_NAMES
                      if name in READ_WHOLE or self.files[name].suffix != ".parquet"}

    def observed_until(self) -> np.int64:
        if "statements" in self.whole:
            return observation_end(self.whole["statements"])
        dates = pd.read_parquet(self.files["statements"], columns=["cycle_date"])["cycle_date"]
        return observation_end(cast_column(dates, "date", "statements", "cycle_date").to_frame())

    def read(self, first: int, last: int) -> dict[str, pd.DataFrame]:
        parts = slice_tables(self.whole, first, last)
        for name in TABLE_NAMES:
            if name not in parts:
                frame = pd.read_parquet(self.files[name], filters=[("account_id", ">=", first),
                                                                   ("account_id", "<=", last)])
                parts[name] = conform(frame, table(name))
        return parts


class _Appender:
    """Appends frames to one parquet file as row groups, all with the first frame's schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def append(self, frame: pd.DataFrame) -> None:
        arrow = _to_arrow(frame)
        if self.writer is None:
            # dictionary-encode only the category columns: trying it on ~180 numeric columns
            # doubles the write time for files no smaller
            categorical = [f.name for f in arrow.schema if pa.types.is_dictionary(f.type)]
            self.writer = pq.ParquetWriter(self.path, arrow.schema, use_dictionary=categorical)
        self.writer.write_table(arrow.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """pyarrow's pandas conversion reads tz-aware columns through a deprecated pandas path: pass
    those as UTC instants directly (pandas reads them back as datetime64[ns, UTC])."""
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    arrow = pa.Table.from_pandas(frame.drop(columns=aware), preserve_index=False)
    for name in aware:
        utc = frame[name].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        arrow = arrow.append_column(name, pa.array(utc, type=pa.timestamp("ns", tz="UTC")))
    return arrow.select(list(frame.columns))


def build_partitions(params: Params, in_dir: Path) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """(features, labels, contact labels) for each partition of accounts, in account-id order."""
    reader = _PartitionReader(in_dir)
    end = reader.observed_until()
    bounds = partition_bounds(reader.whole["accounts"]["account_id"], params.features.partition_accounts)
    if not bounds:  # an empty book still yields empty frames with every column
        bounds = [(0, -1)]
    for first, last in bounds:
        part = reader.read(first, last)
        yield build_all(part, params.features, params.buckets, observed_until=end)


def run(params: Params, in_dir: Path = VALIDATED_DIR, out_dir: Path = PROCESSED_DIR,
        metrics_file: Path = METRICS_FILE) -> dict[str, Any]:
    """Write features.parquet, labels.parquet, contact_labels.parquet and feature_catalogue.md; return metrics."""
    out_dir = Path(out_dir)
    counts = {"rows": 0, "accounts": 0, "contacts": 0, "partitions": 0, "next_bucket_observed": 0}
    positives: dict[str, list[int]] = {}
    n_features = 0
    with ExitStack() as stack:
        appenders = [_Appender(stack.enter_context(atomic_path(out_dir / f"{name}.parquet"))) for name in OUTPUTS]
        for appender in appenders:
            stack.callback(appender.close)  # runs before the atomic rename (LIFO)
        for feats, labels, contact in build_partitions(params, in_dir):
            for appender, frame in zip(appenders, (feats, labels, contact)):
                appender.append(frame)
            n_features = feats.shape[1] - 2
            counts["rows"] += len(feats)
            counts["accounts"] += int(feats["account_id"].nunique())
            counts["contacts"] += len(contact)
            counts["partitions"] += 1
            counts["next_bucket_observed"] += int(labels["next_bucket"].notna().sum())
            for col in [f"paid_{h}d" for h in params.features.ptp_horizons_days]:  # propensity-to-pay labels
                seen = labels[col].dropna()
                got = positives.setdefault(col, [0, 0])
                got[0] += int(seen.sum())
                got[1] += len(seen)
    with atomic_path(out_dir / "feature_catalogue.md") as tmp:
        tmp.write_text(catalogue_markdown(params.features))
    metrics = {**counts, "feature_columns": n_features,
               **{f"{col}_rate": round(p / n, 4) if n else None for col, (p, n) in positives.items()},
               **{f"{col}_observed": n for col, (p, n) in positives.items()}}
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
    typer.echo(f"features: {metrics['rows']:,} rows x {metrics['feature_columns']} features for "
               f"{metrics['accounts']:,} accounts in {metrics['partitions']} partition(s); "
               f"{metrics['contacts']:,} contacts labelled; outputs in {out_dir}")

