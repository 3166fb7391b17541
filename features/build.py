"""The public entry points: feature, label and contact-label tables for a partition of accounts.

Every function takes the canonical tables of some accounts (all of them, or one partition:
accounts are independent, so partition results concatenate to the whole-book result) and
returns one frame. `partition_bounds` cuts a book into account-id ranges for the stage.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.buckets import Buckets
from core.params import BucketParams, FeaturesParams, Params
from core.partitions import PartitionedBook
from core.schema import TABLES
from features import account, contacts, decisions, delinquency, payments, raw, restrictions
from features.asof import AsOfDates, Book, Context, Spine, make_book, make_spine, to_seconds
from features.catalogue import feature_specs
from features.labels import contact_label_columns, contact_labels, label_columns, observation_end, roll_and_pay_labels
from features.spec import Inputs

FAMILIES = (delinquency, payments, contacts, restrictions, decisions, account, raw)
Tables = Mapping[str, pd.DataFrame]


def resolve(
    params: FeaturesParams | Params | None, buckets: Buckets | BucketParams | None
) -> tuple[FeaturesParams, Buckets]:
    """Accept the whole Params or its sections, so callers pass whatever they hold."""
    if isinstance(params, Params):
        buckets = params.buckets if buckets is None else buckets
        params = params.features
    params = params or FeaturesParams()
    buckets = buckets or BucketParams()
    if isinstance(buckets, BucketParams):
        buckets = buckets.as_buckets()
    return params, buckets


def source_inputs(tables: Tables) -> Inputs:
    """What the tables given lack: optional tables left out of `tables` (or None), and optional columns
    left out of a table with rows or empty in every row. The features stage passes what the whole
    book lacks instead, so that every partition agrees."""
    absent = frozenset(n for n, t in TABLES.items() if t.optional and tables.get(n) is None)
    empty = set()
    for name, frame in tables.items():
        if frame is None or len(frame) == 0 or name not in TABLES:
            continue
        for col in TABLES[name].columns:
            if col.optional and (col.name not in frame.columns or frame[col.name].isna().all()):
                empty.add(f"{name}.{col.name}")
    return Inputs(absent, frozenset(empty))


def book_inputs(book: PartitionedBook) -> Inputs:
    """What the validated book lacks: optional tables with no rows (a source without them), and optional
    columns empty in every row of a table that has rows (a source that does not report them).

    A parquet table is judged from its file's statistics where they settle it (row counts; a value in a row
    group, or every row missing), so that a book of a million accounts is not read column by column (its
    decision log's text columns alone would take gigabytes); a column the statistics leave open is read."""
    absent, empty = set(), set()
    for name, spec in TABLES.items():
        rows = _row_count(book, name, spec.key[0])
        if rows == 0:
            if spec.optional:
                absent.add(name)
            continue
        for col in spec.columns:
            if col.optional and _all_missing(book, name, col.name):
                empty.add(f"{name}.{col.name}")
    return Inputs(frozenset(absent), frozenset(empty))


def _metadata(book: PartitionedBook, name: str):
    """The parquet metadata of a table the book reads from a parquet file, else None."""
    if name in book.whole or book.files[name].suffix != ".parquet":
        return None
    return pq.ParquetFile(book.files[name]).metadata


def _row_count(book: PartitionedBook, name: str, key: str) -> int:
    meta = _metadata(book, name)
    return meta.num_rows if meta is not None else len(book.column(name, key))


def _all_missing(book: PartitionedBook, name: str, column: str) -> bool:
    """Whether every value of the column is missing: from the row groups' statistics (min and max are of the
    values present, NaN excluded) when every group has them and they decide, else by reading the column."""
    meta = _metadata(book, name)
    if meta is not None:
        groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
        found = [
            next((g.column(i) for i in range(g.num_columns) if g.column(i).path_in_schema == column), None)
            for g in groups
        ]
        stats = [None if c is None else c.statistics for c in found]
        if all(s is not None and s.has_null_count for s in stats):
            if any(s.has_min_max for s in stats):
                return False
            if all(s.null_count == g.num_rows for s, g in zip(stats, groups, strict=True)):
                return True
    return bool(book.column(name, column).isna().all())


def not_computable(params: FeaturesParams, inputs: Inputs) -> dict[str, str]:
    """The features a source with these `inputs` cannot compute (left empty), with why."""
    out = {}
    for spec in feature_specs(params):
        why = inputs.why_not(spec)
        if why is not None:
            out[spec.name] = why
    return out


def _context(
    tables: Tables,
    as_of_dates: AsOfDates,
    params: FeaturesParams | Params | None,
    buckets: Buckets | BucketParams | None,
    inputs: Inputs | None = None,
    absorbing_last_bucket: bool = True,
) -> Context:
    params, buckets = resolve(params, buckets)
    book = make_book(tables)
    spine = make_spine(book, as_of_dates, buckets, absorbing_last_bucket)
    return Context.create(book, spine, params, buckets, source_inputs(tables) if inputs is None else inputs)


def _blank(values: object, n: int) -> object:
    """An empty column in place of `values`: missing categories for a categorical, NaN (float32) otherwise."""
    if isinstance(values, pd.Categorical) or isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return pd.Categorical.from_codes(np.full(n, -1), dtype=pd.Categorical(values).dtype)
    return np.full(n, np.nan, dtype=np.float32)


def _keys(ctx: Context) -> dict[str, np.ndarray]:
    return {"account_id": ctx.book.account_ids[ctx.spine.codes], "as_of_date": ctx.spine.as_of}


def _feature_frame(ctx: Context) -> pd.DataFrame:
    columns = _keys(ctx)
    for family in FAMILIES:
        columns.update(family.compute(ctx))
    for name in not_computable(ctx.params, ctx.inputs):
        columns[name] = _blank(columns[name], len(ctx.spine))
    names = [f.name for f in feature_specs(ctx.params)]
    if list(columns) != names:
        missing, extra = set(names) - set(columns), set(columns) - set(names)
        raise RuntimeError(
            f"features differ from the catalogue: missing {sorted(missing)}, extra {sorted(extra)}, or out of order"
        )
    return pd.DataFrame(columns, copy=False)


def _label_frame(ctx: Context, observed_until: np.int64 | None) -> pd.DataFrame:
    end = observation_end(ctx.book.statements.frame) if observed_until is None else observed_until
    columns = _keys(ctx)
    labels = roll_and_pay_labels(ctx, end)
    assert list(labels) == label_columns(ctx.params)
    columns.update(labels)
    return pd.DataFrame(columns, copy=False)


def _contact_frame(book: Book, params: FeaturesParams, observed_until: np.int64 | None, inputs: Inputs) -> pd.DataFrame:
    end = observation_end(book.statements.frame) if observed_until is None else observed_until
    out = contact_labels(book, params, end, payments_known="payments" not in inputs.absent_tables)
    assert list(out.columns[-3:]) == contact_label_columns(params)
    return out


def build_features(
    tables: Tables,
    as_of_dates: AsOfDates = None,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    inputs: Inputs | None = None,
    absorbing_last_bucket: bool = True,
) -> pd.DataFrame:
    """One row per (account_id, as_of_date) with every catalogued feature, from records before the date.

    `as_of_dates=None` gives training rows (each cycle_date + 1 day); a date or list of dates
    gives scoring rows for the accounts open then (opened before the date, on the book at their
    last statement, and not in the last bucket when it is absorbing: pass the model's
    `roll_rate.absorbing_last_bucket`); a frame of (account_id, as_of_date) pairs gives exactly
    those rows. Features the source cannot compute (`inputs`, by default what `tables` lack:
    `source_inputs`) are empty.
    """
    return _feature_frame(_context(tables, as_of_dates, params, buckets, inputs, absorbing_last_bucket))


def build_latest(
    tables: Tables,
    run_date: object,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    inputs: Inputs | None = None,
) -> pd.DataFrame:
    """Each account's latest training row as of `run_date` at the latest: the rows `build_features(tables)`
    would give, less every row but each account's last with `as_of_date <= run_date`, built alone.

    Why: the models learnt from training rows (as of each statement's next day), so the nightly job scores
    each account on the row of its latest statement, the one a row as of the run date itself would blur
    (days since the statement would read 0 at training and up to a cycle at night). Building only those
    rows costs a cycle's worth of the whole table's time and memory.
    """
    params, buckets = resolve(params, buckets)
    book = make_book(tables)
    spine = make_spine(book, None, buckets)
    limit = to_seconds(pd.Series([pd.Timestamp(run_date)]))[0]
    rows = np.flatnonzero(spine.seconds <= limit)
    codes = spine.codes[rows]
    last = rows[np.r_[codes[1:] != codes[:-1], True]] if len(rows) else rows  # the spine is sorted by account, date
    latest = Spine(codes=spine.codes[last], as_of=spine.as_of[last], seconds=spine.seconds[last])
    inputs = source_inputs(tables) if inputs is None else inputs
    # consolidated (one block per dtype): a frame this size is cheap to copy, and callers index and reset it
    return _feature_frame(Context.create(book, latest, params, buckets, inputs)).copy()


def build_labels(
    tables: Tables,
    as_of_dates: AsOfDates = None,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    observed_until: np.int64 | None = None,
    inputs: Inputs | None = None,
) -> pd.DataFrame:
    """Labels for the same rows as `build_features` (same arguments give the same keys, same order).

    `observed_until` (seconds since features.asof.BASE, exclusive) is the end of the data; by
    default the day after the latest statement in `tables`. A partitioned caller passes the
    whole book's end so that every partition judges "fully observed" alike.
    """
    return _label_frame(_context(tables, as_of_dates, params, buckets, inputs), observed_until)


def build_contact_labels(
    tables: Tables,
    params: FeaturesParams | Params | None = None,
    observed_until: np.int64 | None = None,
    inputs: Inputs | None = None,
) -> pd.DataFrame:
    """One row per contact (sorted by contact_id) with its response labels."""
    params, _ = resolve(params, None)
    inputs = source_inputs(tables) if inputs is None else inputs
    return _contact_frame(make_book(tables), params, observed_until, inputs)


def build_all(
    tables: Tables,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    observed_until: np.int64 | None = None,
    inputs: Inputs | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training features, labels and contact labels of a partition, indexing its tables once.

    `inputs`: what the whole book lacks (the stage passes it to every partition); by default what
    `tables` lack."""
    ctx = _context(tables, None, params, buckets, inputs)
    return (
        _feature_frame(ctx),
        _label_frame(ctx, observed_until),
        _contact_frame(ctx.book, ctx.params, observed_until, ctx.inputs),
    )
