"""core.workers: one function over many tasks in spawned processes, results in task order, errors intact."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pytest

from core.errors import DataError
from core.workers import load_tables, ordered_map, save_tables

_STATE: dict[str, int] = {}


def _setup(offset: int) -> None:
    _STATE["offset"] = offset
    _STATE["setups"] = _STATE.get("setups", 0) + 1


def _task(value: int) -> tuple[int, int, int]:
    """The value shifted by the setup's offset, the process and how many times setup ran in it."""
    if value < 0:
        raise DataError("payments", "unique_key", f"value {value}", column="payment_id", rows=[value, 7])
    return value + _STATE["offset"], os.getpid(), _STATE["setups"]


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_in_task_order_with_each_process_set_up_once(workers):
    tasks = list(range(30))[::-1]  # descending, so that an unordered collection would show
    results = list(ordered_map(_task, tasks, workers, _setup, (100,)))
    assert [value for value, _, _ in results] == [t + 100 for t in tasks]
    assert {setups for _, _, setups in results} == {1}, "setup runs once per process, not per task"
    processes = {pid for _, pid, _ in results}
    if workers == 1:
        assert processes == {os.getpid()}
    else:
        assert os.getpid() not in processes and 1 <= len(processes) <= 2


def test_an_error_in_a_worker_reaches_the_caller_whole():
    with pytest.raises(DataError) as raised:
        list(ordered_map(_task, [1, 2, -3, 4], 2, _setup, (0,)))
    error = raised.value
    assert (error.table, error.rule, error.column, error.detail) == ("payments", "unique_key", "payment_id", "value -3")
    assert "row numbers: -3, 7" in str(error)


def test_tables_travel_through_arrow_files_unchanged(tmp_path):
    frame = pd.DataFrame({"id": [1, 2, 3], "text": ["a", None, "c"], "value": [0.5, float("nan"), 2.0]})
    tables = [pa.Table.from_pandas(frame, preserve_index=False), pa.table({"x": pa.array([], pa.int64())})]
    paths = save_tables(tables, tmp_path, "part-00001")
    loaded = load_tables(paths)
    for path in paths:
        path.unlink()  # the loaded tables outlive their files
    assert [t.equals(u) for t, u in zip(tables, loaded, strict=True)] == [True, True]
    pd.testing.assert_frame_equal(loaded[0].to_pandas(), frame)
