"""One function over many independent tasks in worker processes, the results in task order.

The nightly job validates and plans the book one partition of borrowers at a time, and the partitions are
independent: on a machine with N cores, N workers take N partitions at once (params `scoring.workers`).

- Processes, not threads: validation (Great Expectations) and feature building are Python code that holds
  the interpreter lock.
- Spawned, not forked: LightGBM's OpenMP runtime does not survive a fork once the parent has used it (the
  LightGBM FAQ), and a spawned worker holds only what it is given, not a copy of the parent's memory.
- Each worker runs `setup(*setup_args)` once, for what every task shares (the night's models, the book's
  whole tables), then its tasks; a task and its result are small (an index, a few paths).
- At most twice as many tasks as workers are in flight, so the results waiting for the caller stay bounded.
- Frames travel as Arrow IPC files in a folder the caller owns (`save_tables`, `load_tables`): pickled
  through a pipe, a partition's rows would be copied twice; a file in the page cache is written once and
  memory-mapped by the reader.

With `workers` 1 everything runs in the calling process, in the same order, through the same functions.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

Task = TypeVar("Task")
Result = TypeVar("Result")

#: Tasks in flight per worker: one running and one queued, so that no worker waits while the caller collects.
IN_FLIGHT_PER_WORKER = 2


def ordered_map(
    function: Callable[[Task], Result],
    tasks: Iterable[Task],
    workers: int,
    setup: Callable[..., None] | None = None,
    setup_args: Sequence[Any] = (),
) -> Iterator[Result]:
    """`function(task)` for each task, yielded in task order, on `workers` spawned processes (each first runs
    `setup(*setup_args)`); in this process when `workers` is 1 or less, or when there is one task.
    `function` and `setup` must be
    module-level functions (a spawned worker imports them by name). An exception in a task is raised here,
    and the tasks not yet started are cancelled."""
    if isinstance(tasks, Sized):
        workers = min(workers, len(tasks))  # a worker's start (imports, setup) buys nothing without a task
    if workers <= 1:
        if setup is not None:
            setup(*setup_args)
        yield from map(function, tasks)
        return
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=setup, initargs=tuple(setup_args)
    )
    try:
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(pool.submit(function, task))
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def save_tables(tables: Sequence[pa.Table], folder: Path, stem: str) -> list[Path]:
    """Write `tables` as Arrow IPC files `<folder>/<stem>-<i>.arrow`."""
    paths = []
    for index, table in enumerate(tables):
        path = Path(folder) / f"{stem}-{index}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        paths.append(path)
    return paths


def load_tables(paths: Sequence[Path]) -> list[pa.Table]:
    """The tables `save_tables` wrote, memory-mapped (the files may be deleted once the tables are used)."""
    tables = []
    for path in paths:
        with pa.memory_map(str(path)) as source:
            tables.append(pa.ipc.open_file(source).read_all())
    return tables
