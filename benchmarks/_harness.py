"""What the benchmark scripts share: argument parsing, a cached simulated book, peak memory, the JSON line.

The scripts beside this file import it as `_harness` (python puts a script's own folder first on
sys.path). The project's packages come from the editable install (`pip install -e .`, which
`make env` does), so no script edits sys.path; in exchange no script may be named like a module
it imports (`features.py` would hide the features package from itself): tests/test_benchmarks.py
checks. Importing this module applies the project's environment defaults (core.environment)
before a script imports DVC, MLflow, Great Expectations or LightGBM.

Run as a script it only simulates a book, in its own process so that making the input does not
count towards a benchmark's peak memory:

    python benchmarks/_harness.py --accounts N --cycles N --out DIR
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from core import environment
from core.fingerprint import source_fingerprint
from core.schema import TABLE_NAMES

environment.apply()

#: Written last into a cached book's folder: what made it.
SOURCE_FILE = "SOURCE"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first line of the script's docstring."""
    return argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])


def add_book_arguments(
    p: argparse.ArgumentParser, *, accounts: int = 200_000, cycles: int = 24, cache: bool = True
) -> None:
    """--accounts and --cycles of the simulated book; with `cache`, --data-dir for where it is kept."""
    p.add_argument("--accounts", type=int, default=accounts, help=f"accounts to simulate (default {accounts:,})")
    p.add_argument("--cycles", type=int, default=cycles, help=f"statement cycles to simulate (default {cycles})")
    if cache:
        p.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="cache of the simulated input, tables under DIR/raw (default: a folder under the "
            "system temp dir, one per size and code version)",
        )


def peak_mib() -> float:
    """Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory:
    """The peak resident memory of this process and every process it started, together (the nightly job's
    worker processes, core.workers), sampled every `interval` seconds in a thread with psutil. ru_maxrss sees
    one process; a sum over processes counts each one's shared library pages, so it errs high, never low."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, 0.0
        self.at_peak = (0.0, 0.0)  # (seconds since the start, MiB of this process alone) when the peak was seen
        self._began = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._began = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._record()

    @property
    def peak_mib(self) -> float:
        return self.peak / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._record()

    def _record(self) -> None:
        import psutil

        me = psutil.Process()
        own = total = me.memory_info().rss
        for process in me.children(recursive=True):
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a worker that exited between the listing and the reading
                continue
        if total > self.peak:
            self.peak, self.at_peak = total, (time.perf_counter() - self._began, own / 2**20)


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object."""
    print(json.dumps(figures), flush=True)


def book_dir(accounts: int, cycles: int) -> Path:
    """Default cache folder of a book: one per size and per version of the code that simulates it."""
    return Path(tempfile.gettempdir()) / (
        f"dunning-bench-book-{accounts}x{cycles}-{source_fingerprint('core', 'simulator')}"
    )


def _complete(raw: Path) -> bool:
    return all(any((raw / f"{name}{suffix}").exists() for suffix in (".parquet", ".csv")) for name in TABLE_NAMES)


def cached_book(accounts: int, cycles: int, data_dir: Path | None = None) -> Path:
    """The folder of the five raw tables of a simulated book (DATA_DIR/raw), simulated once if missing.

    The book is the simulator's with code-default parameters and the given size (params.yaml is not
    read, so editing it never makes a cached book stale). A `data_dir` that already holds the five
    tables under raw/ is used as it is, whatever made it.
    """
    data = data_dir or book_dir(accounts, cycles)
    if not _complete(data / "raw"):
        print(f"simulating {accounts:,} accounts x {cycles} cycles into {data} (once) ...", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--accounts", str(accounts), "--cycles", str(cycles), "--out", str(data)],
            check=True,
        )
    return data / "raw"


#: Added to every id of the k-th copy of a replicated book, times k (ids of a simulated book stay below it).
COPY_ID_OFFSET = 1_000_000_000


def replicated_book(accounts: int, cycles: int, copies: int, data_dir: Path | None = None) -> Path:
    """The raw tables of `copies` copies of the simulated book of `accounts // copies` accounts, each copy's ids
    (every `id` column of the schema: accounts, borrowers, payments, contacts, restrictions, decisions and
    their references) shifted by k x COPY_ID_OFFSET, written once into DATA_DIR/raw and cached.

    A book of a million accounts takes the simulator minutes and more memory than the scoring it feeds (the
    decision log alone is tens of millions of rows), so throughput benchmarks tile a smaller one: the copies are
    independent books of the same size, with distinct borrowers. What they cannot show: a population more
    varied than the simulated one (each copy has the same borrowers' histories)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.schema import TABLES

    source = cached_book(accounts // copies, cycles)
    data = data_dir or book_dir(accounts, cycles).with_name(book_dir(accounts, cycles).name + f"-x{copies}")
    raw = data / "raw"
    if _complete(raw):
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    for name, spec in TABLES.items():
        path = source / f"{name}.parquet"
        if not path.exists():
            continue
        table = pq.read_table(path)
        ids = [c.name for c in spec.columns if c.type in ("id", "nullable_id") and c.name in table.column_names]
        with pq.ParquetWriter(raw / f"{name}.parquet.part", table.schema) as writer:
            for k in range(copies):
                copy = table
                for column in ids:
                    shifted = pa.compute.add(table[column], pa.scalar(k * COPY_ID_OFFSET, table[column].type))
                    copy = copy.set_column(copy.schema.get_field_index(column), column, shifted)
                writer.write_table(copy)
        (raw / f"{name}.parquet.part").rename(raw / f"{name}.parquet")
    (data / SOURCE_FILE).write_text(f"{copies} copies of {book_source(source)} (ids shifted per copy)\n")
    return raw


def book_source(raw: Path) -> str:
    """What made the book in `raw` (for the readable lines)."""
    source = raw.parent / SOURCE_FILE
    return source.read_text().strip() if source.exists() else "given"


def _simulate(accounts: int, cycles: int, out: Path) -> None:
    from core.params import parse_params
    from pipeline.stages import simulate

    simulate.run(parse_params({"simulate": {"accounts": accounts, "cycles": cycles}}), out / "raw", metrics_file=None)
    (out / SOURCE_FILE).write_text(f"simulator, {accounts:,} accounts x {cycles} cycles\n")


if __name__ == "__main__":
    args = argparse.ArgumentParser(description="Simulate a benchmark book into OUT/raw.")
    add_book_arguments(args, cache=False)
    args.add_argument("--out", type=Path, required=True)
    ns = args.parse_args()
    _simulate(ns.accounts, ns.cycles, ns.out)
