"""Nightly scoring end to end: the `score` job's wall time and peak memory on a simulated extract.

    python benchmarks/scoring.py [--accounts 100000] [--train-accounts 10000] [--cycles 24] [--models-dir DIR]
                                  [--replicate K] [--workers N] [--partition-accounts N] [--quick]

Champions of the three model families (roll-rate, propensity, uplift) are trained once on a small
simulated book (--train-accounts), through the pipeline's stages as library calls (validate, features,
roll_rate, propensity, uplift), tracked into a throwaway MLflow store in a temporary folder so that
each registered model has its `champion` alias. Then an extract of --accounts accounts (the harness's
cached simulated book: the five tables and the decision log, --cycles cycles) is scored by
`pipeline.stages.score.run` for the day after its last statement, exactly as the nightly command does
(validation, features, champion scores, the strategy's plan, reason codes, the verifier, the outputs,
the drift report and the scoring run in MLflow), in its own process: the wall time, CPU time and peak
memory are that process's and its worker processes' (params `scoring.workers`, or --workers), so
simulating and training never count. `peak_mib` is the peak of the job's processes' resident memory
added together, sampled ten times a second (`_harness.TreeMemory`; `peak_mib_job`: the job's own
process); `cpu_seconds` adds the workers' CPU. Phases are timed by wrapping the stages' functions in that
process (nothing in the project is changed); what runs on the workers shows only in its phase's total.

Target (issue 16): 1,000,000 accounts in under 5 minutes and 4 GiB on 2 cores.

--quick (the test suite's tiny run) trains with few small trees and short validation windows: it checks
the script, its figures mean nothing.

--replicate K tiles K copies of a simulated book of accounts/K accounts (ids shifted per copy; _harness.
replicated_book): simulating a million accounts with their decision log takes longer and more memory than scoring
them.

--engine spark (SPARK, issue 18) scores the same extract twice, each in its own process: first with the pandas
engine (the reference: `seconds_pandas`, `peak_mib_pandas`), then with the plan on Spark in local mode
(`local[2]`, the session started before the clock: `seconds_spark_session`), whose figures are `seconds` and
`peak_mib` (the driver's; the JVM and the Python workers are other processes); `rows_equal_to_pandas` is true
when both wrote the same recommendations. --spark-read picks how the partitions' rows reach the executors.

Last line: JSON with accounts, seconds, peak_mib, seconds_per_100k, engine (and cpu_seconds, the phases, ...;
with --engine spark also rows_equal_to_pandas, seconds_pandas).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness
import pandas as pd
import pyarrow.parquet as pq

from core.params import Params, load_params
from core.paths import PROJECT_ROOT

#: Written into --models-dir once its champions are trained: what they learnt from.
TRAINED_FILE = "TRAINED"
TARGET_ACCOUNTS, TARGET_SECONDS, TARGET_MIB = 1_000_000, 300, 4096


def _params(quick: bool) -> Params:
    """The project's params.yaml; with `quick`, tiny models and short windows (pipeline.notebooks.fast_models)."""
    from pipeline.notebooks import fast_models

    params = load_params()
    return fast_models(params) if quick else params


def train_champions(raw: Path, work: Path, quick: bool) -> float:
    """validate, features, roll_rate, propensity, uplift on the book in `raw`, tracked (MLflow from the env)."""
    from pipeline.stages import features, promote, propensity, roll_rate, uplift, validate

    params = _params(quick)
    started = time.perf_counter()
    gx_root = work / "gx-train"
    gx_root.mkdir()
    validate.run(params, raw, work / "validated", work / "quarantine", work / "v.json", work / "report", gx_root)
    features.run(params, work / "validated", work / "processed", work / "f.json")
    m = {"metrics_file": work / "m.json", "plots_dir": work / "plots"}
    seconds = {}
    for name, call in (
        ("roll_rate", lambda: roll_rate.run(params, work / "processed", registration_file=work / "rr.json", **m)),
        ("propensity", lambda: propensity.run(params, work / "processed", registration_file=work / "p.json", **m)),
        (
            "uplift",
            lambda: uplift.run(
                params, work / "validated", model_dir=work / "u", registration_file=work / "u.json", **m
            ),
        ),
    ):
        began = time.perf_counter()
        call()
        seconds[name] = time.perf_counter() - began
    promote.run(params, [work / "rr.json", work / "p.json", work / "u.json"], work / "promotion.json")  # champions
    total = time.perf_counter() - started
    print(
        f"champions trained in {total:.1f}s ("
        + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
        + f"; validate + features {total - sum(seconds.values()):.1f}s)",
        flush=True,
    )
    return total


class Phases:
    """Wall seconds and running peak memory per wrapped function, summed over its calls (a partition's steps run
    once per partition), nested calls indented under the first caller."""

    def __init__(self, peak_mib=_harness.peak_mib) -> None:
        self.peak_mib = peak_mib  # the peak so far, MiB
        self.rows: dict[tuple[str, ...], list] = {}  # path -> [seconds, peak MiB, calls]
        self.path: tuple[str, ...] = ()

    def wrap(self, owner, name: str, label: str | None = None) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            outer = self.path
            self.path = (*outer, label or name)
            row = self.rows.setdefault(self.path, [0.0, 0.0, 0])
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                row[0] += time.perf_counter() - began
                row[1], row[2] = self.peak_mib(), row[2] + 1
                self.path = outer

        setattr(owner, name, timed)

    def table(self) -> list[list]:
        """[depth, name (with the number of calls when more than one), seconds, peak MiB] in call order."""
        return [
            [len(path) - 1, path[-1] + (f" x{calls}" if calls > 1 else ""), round(sec, 2), round(peak)]
            for path, (sec, peak, calls) in self.rows.items()
        ]


def _score_child(
    raw: Path,
    out: Path,
    quick: bool,
    engine: str = "pandas",
    read: str = "shuffle",
    workers: str = "0",
    size: str = "0",
) -> None:
    """The measured process: score.run on the extract, phases timed; one JSON line. `workers` and `size` above 0
    replace params `scoring.workers` and `scoring.partition_accounts`."""
    from core import partitions
    from pipeline import nightly
    from pipeline.stages import recommend, score
    from strategy import nightly as strategy_nightly

    params = _params(quick)
    chosen = {"workers": int(workers), "partition_accounts": int(size)}
    chosen = {key: value for key, value in chosen.items() if value > 0}
    params = params.model_copy(update={"scoring": params.scoring.model_copy(update=chosen)})
    run_date = _run_date(raw)
    tree = _harness.TreeMemory()
    # peak memory so far: the job's processes together, or the Spark driver's alone (the JVM is another world)
    phases = Phases(_harness.peak_mib if engine == "spark" else lambda: max(tree.peak_mib, _harness.peak_mib()))
    validate_timings: dict[str, float] = {}
    score.validate_book = functools.partial(score.validate_book, timings=validate_timings)
    phases.wrap(score, "validate_book", "validate (partitions)")
    for name in ("require_champions", "champion_uplift", "drift_report", "log_scoring_run"):
        phases.wrap(score, name)
    phases.wrap(recommend, "load_champions", "load champion models")
    for name in ("prepare", "plan_book", "finish"):
        phases.wrap(nightly, name)
    phases.wrap(nightly, "context_of_parts", "fit strategy context (partitions)")
    phases.wrap(nightly, "book_inputs", "what the book lacks")
    phases.wrap(score, "tonight_rows", "drift rows")
    phases.wrap(nightly, "map_partitions", "partitions")
    phases.wrap(partitions.PartitionedBook, "read_accounts", "read partition")
    for name in ("state_frame", "build_latest", "champion_scores", "recommend", "require_none"):
        phases.wrap(strategy_nightly, name)
    gx_root = out / "gx"
    gx_root.mkdir()
    plan_book, session_seconds = None, 0.0  # SPARK: --engine spark plans on a local session started off the clock
    if engine == "spark":
        from pipeline.spark import score as spark_score
        from pipeline.spark.session import get_session

        began = time.perf_counter()
        spark = get_session("local[2]", shuffle_partitions=2)
        session_seconds = time.perf_counter() - began
        phases.wrap(spark_score, "plan_book", "plan_book (spark)")
        phases.wrap(spark_score, "_join", "join partition files")
        plan_book = functools.partial(spark_score.plan_book, spark=spark, read=read)
    before = _harness.peak_mib()
    started, cpu, workers_cpu = time.perf_counter(), time.process_time(), _children_cpu()
    with tree:
        result = score.run(params, run_date, raw, out / "recommendations", gx_root=gx_root, plan_book=plan_book)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    workers_cpu = _children_cpu() - workers_cpu
    m = result["recommend"]
    _harness.emit(
        {
            "run_date": run_date.isoformat(),
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds + workers_cpu, 1),
            "workers": params.scoring.workers,
            "partition_accounts": params.scoring.partition_accounts,
            "workers_cpu_seconds": round(workers_cpu, 1),
            "peak_mib": round(phases.peak_mib()),
            "peak_mib_job": round(_harness.peak_mib()),
            "peak_seen_at": [round(tree.at_peak[0], 1), round(tree.at_peak[1])],
            "peak_mib_before": round(before),
            "rows_in": result["validation"].get("rows_in"),
            "recommendations": m["accounts"],
            "contacts": m["contacts"],
            "validate_timings": {k: round(v, 2) for k, v in validate_timings.items()},
            "phases": phases.table(),
            "session_seconds": round(session_seconds, 1),
        }
    )


def _run_date(raw: Path) -> dt.date:
    """The day after the extract's last statement, from the parquet file's statistics (reading the column would
    put a million accounts' statement dates into the measured process's peak memory before the job starts)."""
    meta = pq.ParquetFile(raw / "statements.parquet").metadata
    column = meta.schema.names.index("cycle_date")
    last = max(pd.Timestamp(meta.row_group(g).column(column).statistics.max) for g in range(meta.num_row_groups))
    return last.date() + dt.timedelta(days=1)


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the job's workers, once their pool has closed)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _child(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env, cwd=PROJECT_ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_phases(figures: dict) -> None:
    for depth, name, seconds, peak in figures["phases"]:
        print(f"  {'  ' * depth}{name:<{28 - 2 * depth}} {seconds:8.1f}s   peak so far {peak:7,.0f} MiB")
    print(f"  validate's own phases: {figures['validate_timings']}", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--score-child":
        return _score_child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "quick", *sys.argv[5:9])
    if len(sys.argv) > 1 and sys.argv[1] == "--train-child":
        _harness.emit({"seconds": train_champions(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "quick")})
        return None
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser, accounts=100_000, cycles=24)
    parser.add_argument(
        "--train-accounts",
        type=int,
        default=10_000,
        help="accounts of the book the champions learn from (default 10,000: the roll_rate stage crashes "
        "LightGBM on a 3,000-account book)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny models and windows (for the test suite)")
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        metavar="K",
        help="score K copies of a simulated book of accounts/K accounts, ids shifted per copy (default 1: one "
        "simulated book; a million accounts: --accounts 1000000 --replicate 10)",
    )
    parser.add_argument(  # SPARK (issue 18)
        "--engine", choices=("pandas", "spark"), default="pandas", help="plan on pandas (default) or Spark local[2]"
    )
    parser.add_argument("--spark-read", choices=("shuffle", "direct"), default="shuffle", help="with --engine spark")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes validating and planning partitions at once (default 0: params.yaml's scoring.workers)",
    )
    parser.add_argument(
        "--partition-accounts",
        type=int,
        default=0,
        help="accounts per partition (default 0: params.yaml's scoring.partition_accounts)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="keep the throwaway MLflow store (champions) in DIR and reuse it on the next run with the same "
        "DIR (default: a temporary folder, trained every run)",
    )
    args = parser.parse_args()
    quick = "quick" if args.quick else "full"
    train_raw = _harness.cached_book(args.train_accounts, args.cycles)
    if args.replicate > 1:
        raw = _harness.replicated_book(args.accounts, args.cycles, args.replicate, args.data_dir)
    else:
        raw = _harness.cached_book(args.accounts, args.cycles, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="dunning-bench-scoring-") as tmp:
        work = Path(tmp)
        models = args.models_dir or work / "models"
        models.mkdir(parents=True, exist_ok=True)
        store = f"sqlite:///{models.resolve() / 'mlflow.db'}"
        env = {**os.environ, "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store}
        trained = models / TRAINED_FILE
        if trained.exists():
            print(f"champions reused from {models}: {trained.read_text().strip()}", flush=True)
        else:
            (work / "train").mkdir()
            _child(["--train-child", str(train_raw), str(work / "train"), quick], env)
            trained.write_text(f"{_harness.book_source(train_raw)}, {quick} models\n")
        print(f"extract: {_harness.book_source(raw)} ({raw})", flush=True)
        (work / "score").mkdir()
        sizes = [str(args.workers), str(args.partition_accounts)]
        reference = None
        if args.engine == "spark":  # SPARK: the pandas engine's run first, the reference
            (work / "score-pandas").mkdir()
            reference = _child(
                ["--score-child", str(raw), str(work / "score-pandas"), quick, "pandas", "shuffle", *sizes],
                env,
            )
            print(f"pandas engine: {reference['seconds']:.1f}s wall, peak {reference['peak_mib']:,} MiB", flush=True)
            _print_phases(reference)
        figures = _child(
            ["--score-child", str(raw), str(work / "score"), quick, args.engine, args.spark_read, *sizes],
            env,
        )
        if reference is not None:
            name = f"{figures['run_date']}.parquet"
            got = pd.read_parquet(work / "score" / "recommendations" / name)
            expected = pd.read_parquet(work / "score-pandas" / "recommendations" / name)
            try:
                pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
                equal = True
            except AssertionError as exc:
                equal = False
                print(f"spark recommendations differ from the pandas engine's: {str(exc).splitlines()[0]}")
    print(
        f"score.run for {figures['run_date']}: {figures['rows_in']:,} rows in, {figures['recommendations']:,} "
        f"accounts recommended, {figures['contacts']:,} contacts"
    )
    _print_phases(figures)
    seconds, peak = figures["seconds"], figures["peak_mib"]
    per_100k = seconds * 100_000 / args.accounts
    print(
        f"scoring {args.accounts:,} accounts x {args.cycles} cycles: {seconds:.1f}s wall "
        f"(CPU {figures['cpu_seconds']:.1f}s, {figures['workers']} workers, partitions of "
        f"{figures['partition_accounts']:,} accounts), peak {peak:,} MiB all processes "
        f"(the job's own {figures['peak_mib_job']:,} MiB, imports {figures['peak_mib_before']:,} MiB; all processes' "
        f"peak seen {figures['peak_seen_at'][0]:.0f}s in, the job's process then {figures['peak_seen_at'][1]:,} MiB); "
        f"{per_100k:.1f}s per 100,000 accounts"
    )
    verdict = (
        ("met" if seconds <= TARGET_SECONDS and peak <= TARGET_MIB else "missed")
        if args.accounts >= TARGET_ACCOUNTS
        else f"not measured at this size (linear in accounts: {per_100k * 10:.0f}s)"
    )
    print(f"target {TARGET_ACCOUNTS:,} accounts in {TARGET_SECONDS}s and {TARGET_MIB:,} MiB on 2 cores: {verdict}")
    if reference is not None:  # SPARK
        print(
            f"spark (local[2], read={args.spark_read}): {seconds:.1f}s vs pandas {reference['seconds']:.1f}s "
            f"({seconds / reference['seconds']:.2f}x; session start {figures['session_seconds']:.1f}s not counted); "
            f"recommendations equal to the pandas engine's: {equal}"
        )
    _harness.emit(
        {
            "accounts": args.accounts,
            "seconds": seconds,
            "peak_mib": peak,
            "seconds_per_100k": round(per_100k, 1),
            "cycles": args.cycles,
            "train_accounts": args.train_accounts,
            "cpu_seconds": figures["cpu_seconds"],
            "workers": figures["workers"],
            "partition_accounts": figures["partition_accounts"],
            "peak_mib_job": figures["peak_mib_job"],
            "rows_in": figures["rows_in"],
            "recommendations": figures["recommendations"],
            "contacts": figures["contacts"],
            "phases": {name: seconds for depth, name, seconds, _ in figures["phases"] if depth == 0},
            "engine": args.engine,
            **(
                {
                    "rows_equal_to_pandas": equal,
                    "seconds_pandas": reference["seconds"],
                    "peak_mib_pandas": reference["peak_mib"],
                    "seconds_spark_session": figures["session_seconds"],
                    "spark_read": args.spark_read,
                }
                if reference is not None
                else {}
            ),
        }
    )


if __name__ == "__main__":
    main()
