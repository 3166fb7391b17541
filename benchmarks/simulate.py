"""Benchmark: simulate N accounts x 24 cycles and write the five tables; time and peak memory.

    python benchmarks/simulate.py [--accounts 200000] [--cycles 24] [--out DIR]

Prints readable lines, then one JSON object (last line) with accounts, cycles, seconds
(simulation and writing), simulate_seconds, write_seconds, peak_mib and row counts.
Target (issue 2): 200,000 accounts in under 60 s on 2 cores; 1,000,000 within 24 GiB.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _harness
import pyarrow.parquet as pq

from core.params import load_params
from simulator import Simulation


def main() -> None:
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser, cache=False)
    parser.add_argument("--out", type=Path, default=None, help="where to write the tables (default: a temp dir)")
    args = parser.parse_args()

    sim = Simulation.from_params(load_params(), accounts=args.accounts, cycles=args.cycles)
    print(
        f"simulating {args.accounts:,} accounts x {args.cycles} cycles "
        f"({len(sim.layout.blocks)} block(s), {sim.calendar.n_days - sim.calendar.loop_start_day} days)"
    )
    began = time.perf_counter()
    run = sim.run(record=True, progress=print)
    simulated = time.perf_counter() - began
    print(f"simulated in {simulated:.1f} s, peak {_harness.peak_mib():,.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        paths = run.write(out)
        written = time.perf_counter() - began - simulated
        rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in paths}
        size = sum(p.stat().st_size for p in paths) / 2**20
    total = time.perf_counter() - began
    print(f"wrote {sum(rows.values()):,} rows ({size:,.0f} MiB parquet) in {written:.1f} s")
    for name, n in rows.items():
        print(f"  {name:13s} {n:>12,}")
    print(f"total {total:.1f} s, peak memory {_harness.peak_mib():,.0f} MiB")
    _harness.emit(
        {
            "accounts": args.accounts,
            "cycles": args.cycles,
            "seconds": round(total, 2),
            "simulate_seconds": round(simulated, 2),
            "write_seconds": round(written, 2),
            "peak_mib": round(_harness.peak_mib(), 1),
            "rows": rows,
            "parquet_mib": round(size, 1),
            "contact_cost": round(run.outcome.contact_cost, 2),
        }
    )


if __name__ == "__main__":
    main()
