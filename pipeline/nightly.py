"""The nightly plan of a whole book, one partition of borrowers at a time, and its outputs.

`prepare` reads what every partition shares once (the strategy's context fitted on the whole book, what the
book lacks, the champions); `plan_book` maps strategy.nightly.plan_partition over the book's borrower
partitions (core.partitions.borrower_partitions: memory holds one partition's histories), appending each
partition's recommendations and latest feature rows to draft files; `finish` gives the rows their book-wide
priority rank and writes `<date>.parquet` and `<date>.csv`. Only the draft's partition loop depends on the
engine: the Spark engine (pipeline/spark) runs the same partition function on executors and the same
`finish` on its draft.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.io import atomic_path, conform, read_table
from core.params import Params
from core.partitions import PartitionedBook, borrower_partitions, map_partitions
from core.schema import TABLE_NAMES, table
from core.workers import ordered_map
from features.build import book_inputs
from models.common.tracking import registry_uri, tracking_uri
from models.uplift.store import load_facts
from strategy.model import context_of_parts, context_part, fit_model, strategy_model
from strategy.nightly import Night, plan_partition, priority_ranks
from strategy.output import NO_CONTACT, SCORES
from strategy.scores import Champion

#: Tables the strategy's context does not read (strategy.model.context_part): the decision log's facts come
#: with the uplift champion.
CONTEXT_SKIPS = ("decisions",)
#: Columns of the recommendations the run's summary and monitoring read back (strategy.output columns).
SUMMARY_COLUMNS = ("account_id", "region", "action", "expected_net_value")


def prepare(
    params: Params,
    validated_dir: Path,
    uplift_dir: Path,
    run_date: dt.date,
    champions: Mapping[str, Champion | None],
) -> Night:
    """What every partition of the night shares: the strategy's context fitted on the whole book one borrower
    partition at a time (strategy.model.context_part, on `scoring.workers` processes), what the book lacks,
    the champions. An uplift model saved without the decision log's facts (an older one) needs the log's
    decision rows, built from the whole validated book at once."""
    book = PartitionedBook(Path(validated_dir))
    facts = load_facts(Path(uplift_dir))
    if facts is None:
        tables = {name: read_table(Path(validated_dir), name) for name in TABLE_NAMES}
        model = fit_model(tables, params, Path(uplift_dir))
        del tables
    else:
        parts = partitions(book, params.scoring.partition_accounts)
        state = (Path(validated_dir), params, _last_cycle(book))
        counted = ordered_map(_context_part, parts, params.scoring.workers, _start_context, state)
        try:
            context = context_of_parts(counted, params, facts)
        finally:
            _CONTEXT.clear()
        model = strategy_model(Path(uplift_dir), params, context)
    total = int(book.whole["accounts"]["account_id"].nunique())
    return Night(run_date, params, model, champions, book_inputs(book), total)


#: A process's book view and params for the context's partitions (`_start_context`).
_CONTEXT: dict[str, object] = {}


def _start_context(validated_dir: Path, params: Params, last_cycle: pd.Timestamp | None) -> None:
    _CONTEXT.update(book=_without(PartitionedBook(validated_dir), CONTEXT_SKIPS), params=params, last=last_cycle)


def _context_part(ids: np.ndarray):
    """One partition's part of the strategy's context (strategy.model.context_part), read without the log."""
    book = _CONTEXT["book"]
    return context_part(book.read_accounts(ids), _CONTEXT["params"], _CONTEXT["last"])  # type: ignore[union-attr]


def _without(book: PartitionedBook, names: tuple[str, ...]) -> PartitionedBook:
    """A view of `book` whose tables `names` read as empty, so that a step that does not need them does not read
    them (the decision log is most of a book's rows)."""
    view = copy.copy(book)
    schemas = {n: pq.ParquetFile(book.files[n]).schema_arrow for n in names if n not in book.whole}
    view.whole = {
        **book.whole,
        **{n: conform(schema.empty_table().to_pandas(), table(n)) for n, schema in schemas.items()},
    }
    return view


def _last_cycle(book: PartitionedBook) -> pd.Timestamp | None:
    """The book's latest statement with days past due (the outlook's censoring edge)."""
    cycles = book.column("statements", "cycle_date")
    known = cycles[book.column("statements", "days_past_due").notna().to_numpy()]
    return known.max() if len(known) else None


def partitions(book: PartitionedBook, size: int) -> list[np.ndarray]:
    """The book's borrower partitions of about `size` accounts (one empty partition for an empty book, so that
    the outputs still get every column)."""
    return borrower_partitions(book.whole["accounts"], size) or [np.zeros(0, dtype=np.int64)]


def plan_book(night: Night, validated_dir: Path, draft: Path, latest_file: Path, size: int, workers: int = 1) -> int:
    """Run `plan_partition` on every borrower partition; append its recommendations to `draft` and its latest
    feature rows to `latest_file` (both published only once every partition succeeded). `workers` above 1:
    that many processes plan partitions at once, each loading the night's champions once from the registry
    (`shipped`). Returns the number of partitions."""
    book = PartitionedBook(Path(validated_dir))
    parts = partitions(book, size)
    if min(workers, len(parts)) <= 1:  # map_partitions runs a book of one partition in this process
        setup, args = _use_night, (night,)
    else:  # a loaded pyfunc model does not pickle: a worker loads the same versions from the same registry
        setup, args = _use_shipped, shipped(night)
    try:
        return map_partitions(
            book,
            size,
            _plan,
            [draft, latest_file],
            description="score",
            accounts=parts,
            workers=workers,
            setup=setup,
            setup_args=args,
        )
    finally:
        _NIGHT.clear()


#: The night a process plans partitions for (`_use_night`, `_use_shipped`).
_NIGHT: dict[str, Night] = {}


def _use_night(night: Night) -> None:
    _NIGHT["night"] = night


def _use_shipped(*shipment) -> None:
    _NIGHT["night"] = unshipped(*shipment)


def _plan(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    recs, latest = plan_partition(tables, _NIGHT["night"])
    return typed(recs), latest


def shipped(night: Night) -> tuple[Night, dict[str, tuple[str, str] | None], str, str]:
    """The night as it travels to another process (a worker, a Spark executor): without its loaded champions
    (a loaded pyfunc model does not pickle), with their registered names and versions and this process's
    MLflow tracking and registry URIs (`unshipped` loads the same versions from the same registry)."""
    versions = {key: (c.name, c.version) if c is not None else None for key, c in night.champions.items()}
    return dataclasses.replace(night, champions={}), versions, tracking_uri(), registry_uri()


def unshipped(light: Night, versions: Mapping[str, tuple[str, str] | None], tracking: str, registry: str) -> Night:
    """The night `shipped` sent, its champions loaded (once per process: `load_champions`)."""
    return dataclasses.replace(light, champions=load_champions(versions, tracking, registry))


#: The champions this process has loaded: (tracking URI, registry URI, name, version) -> Champion.
_LOADED: dict[tuple[str, str, str, str], Champion] = {}


def load_champions(
    versions: Mapping[str, tuple[str, str] | None], tracking: str, registry: str
) -> dict[str, Champion | None]:
    """The night's champions in another process: the exact versions the job loaded, from the registry it uses,
    each loaded once per process (models from code import a module MLflow names at load time)."""
    import mlflow

    out: dict[str, Champion | None] = {}
    for key, version in versions.items():
        if version is None:
            out[key] = None
            continue
        name, number = version
        cache = (tracking, registry, name, number)
        if cache not in _LOADED:
            mlflow.set_tracking_uri(tracking)
            mlflow.set_registry_uri(registry)
            _LOADED[cache] = Champion(name, number, mlflow.pyfunc.load_model(f"models:/{name}/{number}"))
        out[key] = _LOADED[cache]
    return out


def typed(recs: pd.DataFrame) -> pd.DataFrame:
    """`recs` with the text columns that hold no value in this partition (a window where nothing is contacted)
    typed as text, so that every partition's rows share one parquet schema."""
    empty = [c for c in recs.columns if recs[c].dtype == object and recs[c].isna().all()]
    return recs.astype(dict.fromkeys(empty, "str")) if empty else recs


def finish(draft: Path | Sequence[Path], staged: Path, run_date: dt.date) -> None:
    """`<date>.parquet` and `<date>.csv` in `staged` from the draft's partitions (row groups or files, in
    order), each row's `priority_rank` the book-wide one (strategy.nightly.priority_ranks)."""
    pieces = _pieces(draft)
    values = [_contact_values(table) for table in _each(pieces, ["action", "expected_net_value"])]
    ranks = priority_ranks(values)
    name = run_date.isoformat()
    with ExitStack() as stack:
        parquet = stack.enter_context(atomic_path(Path(staged) / f"{name}.parquet"))
        csv = stack.enter_context(atomic_path(Path(staged) / f"{name}.csv"))
        writer: pq.ParquetWriter | None = None
        with open(csv, "w", encoding="utf-8", newline="") as text:
            for i, (table, rank) in enumerate(zip(_each(pieces, None), ranks, strict=True)):
                ranked = table.set_column(
                    table.schema.get_field_index("priority_rank"), "priority_rank", pa.array(rank, type=pa.int64())
                )
                ranked.to_pandas().to_csv(text, index=False, header=i == 0)
                if writer is None:
                    writer = pq.ParquetWriter(parquet, ranked.schema)
                writer.write_table(ranked.cast(writer.schema))
        if writer is not None:
            writer.close()


def _contact_values(table: pa.Table) -> np.ndarray:
    action = np.asarray(table.column("action").to_pylist(), dtype=object)
    value = table.column("expected_net_value").to_numpy(zero_copy_only=False).astype(np.float64)
    return np.where(action != NO_CONTACT, value, np.nan)


def _pieces(draft: Path | Sequence[Path]) -> list[tuple[Path, int | None]]:
    """(file, row group) per partition: a single draft file's row groups, or a list of files (Spark's)."""
    if isinstance(draft, (str, Path)):
        return [(Path(draft), g) for g in range(pq.ParquetFile(draft).num_row_groups)]
    return [(Path(f), None) for f in draft]


def _each(pieces: list[tuple[Path, int | None]], columns: list[str] | None):
    for path, group in pieces:
        f = pq.ParquetFile(path)
        yield f.read_row_group(group, columns=columns) if group is not None else f.read(columns=columns)


def summary_frame(recs_file: Path) -> pd.DataFrame:
    """The recommendations' columns the run's summary and monitoring read (SUMMARY_COLUMNS and the scores)."""
    names = pq.ParquetFile(recs_file).schema_arrow.names
    wanted = [c for c in (*SUMMARY_COLUMNS, *SCORES) if c in names]
    return pd.read_parquet(recs_file, columns=wanted)
