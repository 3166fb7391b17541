"""The features stage on Spark: the same partition function as `pipeline.stages.features`, per account range.

What the pandas stage computes once for the whole book is computed here the same way, on the driver,
from single columns (`BookColumns`): the end of observation (`features.labels.observation_end`) and
what the source lacks (`book_inputs`, which `pipeline.stages.features` uses). Every range then runs
`features.build_all` with them, on the executors (`pipeline.spark.engine`). The metrics are the pandas
stage's, added up from each range's summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq

from core.contracts import NEXT_BUCKET, paid_label
from core.io import atomic_path, cast_column, find_table_file, write_json
from core.params import Params
from core.schema import TABLE_NAMES, table
from features import build_all, catalogue_markdown
from features.build import not_computable
from features.labels import observation_end
from pipeline.spark.engine import map_partitions_spark
from pipeline.stages.features import METRICS_FILE, OUTPUTS, book_inputs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class BookColumns:
    """Whole columns of a book's tables in the schema's types, read one column at a time (what
    `book_inputs` asks of a book), without holding any table whole."""

    def __init__(self, directory: Path) -> None:
        self.files = {name: find_table_file(Path(directory), name) for name in TABLE_NAMES}
        #: No table is held whole: `book_inputs` reads parquet files' statistics (`files`), else `column`.
        self.whole: dict[str, pd.DataFrame] = {}

    def column(self, name: str, column: str) -> pd.Series:
        path = self.files[name]
        logical = table(name).column(column).type
        if path.suffix == ".parquet":
            if column not in pq.read_schema(path).names:
                rows = pq.ParquetFile(path).metadata.num_rows
                return pd.Series(None, index=range(rows), dtype=table(name).column(column).dtype, name=column)
            values = pd.read_parquet(path, columns=[column])[column]
        else:  # CSV as core.io.read_raw reads it: text, only an empty cell missing
            if column not in pd.read_csv(path, dtype="str", nrows=0).columns:
                rows = len(pd.read_csv(path, dtype="str", usecols=[0]))
                return pd.Series(None, index=range(rows), dtype=table(name).column(column).dtype, name=column)
            text = {"dtype": "str", "keep_default_na": False, "na_values": [""], "index_col": False}
            values = pd.read_csv(path, usecols=[column], **text)[column]
        return cast_column(values, logical, name, column)


def run(
    params: Params,
    in_dir: Path,
    out_dir: Path,
    metrics_file: Path | None = METRICS_FILE,
    spark: SparkSession | None = None,
    timings: list[dict[str, float]] | None = None,
    read: str = "shuffle",
) -> dict[str, Any]:
    """Write features, labels and contact labels (parquet folders, one file per range) and the feature
    catalogue into `out_dir`; return the pandas stage's metrics. `read`: how the partitions' rows reach the
    executors (pipeline.spark.engine.map_partitions_spark)."""
    from pipeline.spark.session import get_session

    spark = spark or get_session()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = BookColumns(Path(in_dir))
    end = observation_end(book.column("statements", "cycle_date").to_frame())
    inputs = book_inputs(book)  # type: ignore[arg-type]  # it asks only for .column()
    missing = not_computable(params.features, inputs)
    features_params, buckets = params.features, params.buckets

    def compute(part: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return build_all(part, features_params, buckets, observed_until=end, inputs=inputs)

    horizons = tuple(params.features.ptp_horizons_days)

    def summarize(frames: Sequence[pd.DataFrame]) -> dict[str, Any]:
        feats, labels, contact = frames
        paid = {}
        for col in [paid_label(h) for h in horizons]:
            seen = labels[col].dropna()
            paid[col] = [int(seen.sum()), len(seen)]
        return {
            "rows": len(feats),
            "accounts": int(feats["account_id"].nunique()),
            "contacts": len(contact),
            "next_bucket_observed": int(labels[NEXT_BUCKET].notna().sum()),
            "feature_columns": feats.shape[1] - 2,
            "paid": paid,
        }

    outputs = [out_dir / f"{name}.parquet" for name in OUTPUTS]
    summaries = map_partitions_spark(
        spark, Path(in_dir), params.features.partition_accounts, compute, outputs, summarize, timings=timings, read=read
    )
    with atomic_path(out_dir / "feature_catalogue.md") as tmp:
        tmp.write_text(catalogue_markdown(params.features))
    counts = {key: sum(s[key] for s in summaries) for key in ("rows", "accounts", "contacts", "next_bucket_observed")}
    positives: dict[str, list[int]] = {}
    for summary in summaries:
        for col, (p, n) in summary["paid"].items():
            got = positives.setdefault(col, [0, 0])
            got[0] += p
            got[1] += n
    metrics = {
        **counts,
        "partitions": len(summaries),
        "feature_columns": summaries[-1]["feature_columns"],
        "tables_absent": sorted(inputs.absent_tables),
        "columns_empty": sorted(inputs.empty_columns),
        "features_not_computable": {
            why: sorted(n for n, w in missing.items() if w == why) for why in sorted(set(missing.values()))
        },
        **{f"{col}_rate": round(p / n, 4) if n else None for col, (p, n) in positives.items()},
        **{f"{col}_observed": n for col, (p, n) in positives.items()},
    }
    if metrics_file is not None:
        write_json(metrics, metrics_file)
    return metrics
