"""Real lenders' data: the UCI September roll-rate protocol, the status-coded book, a million rows.

    python benchmarks/real_data.py [--uci-csv PATH] [--uci-params configs/uci/params.yaml]
                                   [--uci-sample N] [--accounts 70000] [--cycles 24] [--quick]

Three checks (issue 12), each printed as readable lines:

1. UCI September: predict each client's September bucket (current / 1-29 / 30-59 / 60+ days past
   due, the last bucket not absorbing) from April-August information only (features as of
   2005-09-01, built by the pipeline's feature code from the adapter's canonical tables; no
   protected attribute reaches them), 5-fold split by client, every client predicted out of fold:
   exactly the `roll_rate_uci` stage of configs/uci/params.yaml, run as a library call. The
   project's model is compared with the plain LightGBM (`LGBMClassifier()` defaults) on the raw
   columns of the same rows and folds, as the metrics report it; for reference, the same plain
   model on the source CSV's own columns (the statuses, bills, payments and limit of
   April-August) is scored on the same folds too.
2. The status-coded book (statuses_quarantined): genuine events of a generated status-coded book
   quarantined by validation (see `status_coded_book`; the data side's check).
3. A million account-cycles: a simulated book (--accounts x --cycles, cached by the harness) goes
   through the features stage, then the roll_rate stage runs on it as DVC runs it (reading the
   parquet files, training, evaluating, writing, logging to a throwaway MLflow store), each in
   its own process; its wall time and peak memory are measured inside that process.

--quick (the test suite's tiny run) trains the UCI models with 2 outer and 2 inner folds and at most
30 boosting rounds: it checks the script, its figures mean nothing.

Last line: JSON with uci_sept_logloss, uci_sept_roll_forward_auc, uci_plain_lgbm_logloss,
uci_plain_lgbm_roll_forward_auc, statuses_quarantined, million_rows_seconds, million_rows_peak_mib
(and a few more figures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness
import lightgbm as lgb
import numpy as np
import pandas as pd

from adapters.uci_credit_default import MONTHS, read_csv, to_canonical
from core.contracts import NEXT_BUCKET
from core.params import load_params
from core.paths import PROJECT_ROOT, UCI_CREDIT_DEFAULT_CSV
from features import build_features, build_labels
from models.common.calibration import clip_normalise
from models.common.metrics import auc, log_loss
from models.common.split import account_folds
from models.roll_rate.evaluation import roll_forward_score
from models.roll_rate.train import train_roll_rate

UCI_PARAMS = PROJECT_ROOT / "configs" / "uci" / "params.yaml"
#: The September protocol's as-of date: the morning after the August statement.
SEPTEMBER_AS_OF = pd.Timestamp("2005-09-01")


def uci_september(csv: Path, params_file: Path, sample: int | None, quick: bool = False) -> dict[str, float]:
    """The roll_rate_uci stage's training and scoring on the September rows, as a library call."""
    started = time.perf_counter()
    params = load_params(params_file)
    rr = params.roll_rate
    if quick:
        lightgbm = rr.lightgbm.model_copy(update={"n_estimators": 30, "early_stopping_rounds": 10})
        split = rr.split.model_copy(update={"folds": 2, "inner_folds": 2})
        rr = rr.model_copy(update={"lightgbm": lightgbm, "split": split})
    if not (rr.split.method == "account" and rr.first_as_of_date == rr.last_as_of_date == SEPTEMBER_AS_OF.date()):
        raise SystemExit(f"{params_file}: not the September protocol (account split, as-of dates 2005-09-01 only)")
    source = read_csv(csv)
    if sample is not None:
        source = source.head(sample)
    tables = to_canonical(source)
    buckets = params.buckets.as_buckets()
    features = build_features(tables, None, params.features, buckets)
    labels = build_labels(tables, None, params.features, buckets)
    built = time.perf_counter()
    print(
        f"UCI September: {len(source):,} clients, buckets {list(buckets.names)} "
        f"(last absorbing: {rr.absorbing_last_bucket}); {features.shape[1] - 2} feature columns "
        f"({built - started:.1f}s to adapt and build features)"
    )
    result = train_roll_rate(features, labels, rr, buckets, params.seeds.training)
    m = result.metrics
    print(f"split: {m['split']}")
    print(f"model form / calibration per fold: {m['training']['folds_model_form_calibration']}")
    for name in ("model", "baseline", "plain_lgbm"):
        print(
            f"  {name:<11} log loss {m[name]['logloss']:.4f}  roll-forward AUC {m[name]['roll_forward_auc']:.4f}  "
            f"Brier {m[name]['brier']:.4f}"
        )
    reference = _plain_on_source_columns(source, result, rr.split.folds, params.seeds.training, rr.lightgbm.num_threads)
    print(
        f"  reference: plain LightGBM on the source CSV's April-August columns, same folds: log loss "
        f"{reference['logloss']:.4f}  roll-forward AUC {reference['roll_forward_auc']:.4f}"
    )
    print(
        f"model vs plain LightGBM (raw columns of the same rows): log loss {m['logloss_vs_plain']:.1%} lower; "
        f"{time.perf_counter() - built:.1f}s to train and score out of fold"
    )
    return {
        "uci_sept_logloss": m["model"]["logloss"],
        "uci_sept_roll_forward_auc": m["model"]["roll_forward_auc"],
        "uci_plain_lgbm_logloss": m["plain_lgbm"]["logloss"],
        "uci_plain_lgbm_roll_forward_auc": m["plain_lgbm"]["roll_forward_auc"],
        "uci_baseline_logloss": m["baseline"]["logloss"],
        "uci_plain_lgbm_source_columns_logloss": round(reference["logloss"], 6),
        "uci_plain_lgbm_source_columns_roll_forward_auc": round(reference["roll_forward_auc"], 6),
    }


def _plain_on_source_columns(source: pd.DataFrame, result, folds: int, seed: int, threads: int) -> dict[str, float]:
    """`LGBMClassifier()` defaults on the CSV's own April-August columns, on the folds of `result`."""
    columns = ["LIMIT_BAL"] + [c for month in MONTHS[:-1] for c in month[1:]]
    test = result.test
    X = source.set_index("ID").loc[test["account_id"].to_numpy(), columns]
    y = test[NEXT_BUCKET].to_numpy(np.int64)
    k = result.predictions["model"].shape[1]
    fold = account_folds(test["account_id"].to_numpy(np.int64), folds, seed)
    proba = np.zeros((len(y), k))
    for f in range(folds):
        rows = fold == f
        model = lgb.LGBMClassifier(
            random_state=seed, n_jobs=threads, deterministic=True, force_row_wise=True, verbose=-1
        )
        model.fit(X[~rows], y[~rows])
        part = np.zeros((rows.sum(), k))
        part[:, model.classes_] = model.predict_proba(X[rows])
        proba[rows] = clip_normalise(part)
    bucket = test["bucket"].to_numpy(np.int64)
    return {"logloss": log_loss(y, proba), "roll_forward_auc": auc(y > bucket, roll_forward_score(proba, bucket))}


def status_coded_book(accounts: int = 3000) -> int | None:
    """Genuine events quarantined in the generated status-coded book (target 0), the impossible ones caught printed.

    simulator/status_book.py plants, among ordinary monthly histories, genuine events (a roll across
    February, a skipped bucket, no balance to 30+ days late, write-offs after a skipped status or a
    missing month, a pay-off after arrears, a reopening) and impossible ones (no balance to 90+ days
    late, three bands in one month). The book goes through the monthly-status adapter and the
    validation stage's code with what such a source declares: its bands and a 30-day timing
    (validate.dpd_bands, validate.dpd_timing_days; docs/schema.md, status-coded books).
    """
    from adapters import monthly_status
    from core.params import parse_params
    from simulator.status_book import judged, planted_status_book
    from validation.engine import validate_tables

    started = time.perf_counter()
    book = planted_status_book(accounts=accounts)
    coding = monthly_status.StatusCoding()
    declared = {"dpd_bands": list(coding.validate_bands()), "dpd_timing_days": 30}
    params = parse_params({"validate": declared}).validate_
    with tempfile.TemporaryDirectory() as gx_root:
        outcome = validate_tables(monthly_status.to_canonical(book.rows), params, Path(gx_root))
    quarantined = outcome.quarantined["statements"]
    events = judged(book, quarantined)
    genuine, impossible = events[events["genuine"]], events[~events["genuine"]]
    print(
        f"status-coded book: {len(book.rows):,} monthly statuses of {accounts:,} accounts, "
        f"{len(events)} planted events; {len(quarantined)} statements quarantined "
        f"({time.perf_counter() - started:.1f}s)"
    )
    for (kind, real), group in events.groupby(["kind", "genuine"], sort=False):
        what = "genuine, quarantined" if real else "impossible, caught"
        print(f"  {kind:32s} {what}: {int(group['quarantined'].sum())} of {len(group)}")
    others = len(quarantined) - int(impossible["quarantined"].sum())
    print(
        f"  genuine events quarantined: {int(genuine['quarantined'].sum())} (target 0); impossible caught: "
        f"{int(impossible['quarantined'].sum())} of {len(impossible)}; other statements quarantined: {others}"
    )
    return int(genuine["quarantined"].sum())


def million_rows(accounts: int, cycles: int) -> dict[str, float]:
    """Features of a simulated book, then the roll_rate stage on them, each in its own process."""
    raw = _harness.cached_book(accounts, cycles)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built = _child("--build-features", str(raw), str(work))
        print(
            f"simulated book ({_harness.book_source(raw)}): {built['rows']:,} account-cycles; features stage "
            f"{built['seconds']:.1f}s, peak {built['peak_mib']:.0f} MiB"
        )
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
            "MLFLOW_REGISTRY_URI": f"sqlite:///{work / 'mlflow.db'}",
        }
        stage = _child("--roll-rate-stage", str(work), env=env)
    print(
        f"roll_rate stage on {built['rows']:,} account-cycles: {stage['seconds']:.1f}s "
        f"(CPU {stage['cpu_seconds']:.1f}s), peak {stage['peak_mib']:.0f} MiB "
        f"(targets: under 180 s and 4096 MiB on 2 cores); model form {stage['model_form']}, "
        f"log loss model {stage['model']:.4f} / baseline {stage['baseline']:.4f} / plain {stage['plain_lgbm']:.4f}"
    )
    return {
        "million_rows": built["rows"],
        "million_rows_seconds": stage["seconds"],
        "million_rows_cpu_seconds": stage["cpu_seconds"],
        "million_rows_peak_mib": stage["peak_mib"],
    }


def _child(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env, cwd=PROJECT_ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:1])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _build_features(raw: Path, work: Path) -> None:
    from pipeline.stages import features as stage

    params = load_params()
    started = time.perf_counter()
    metrics = stage.run(params, raw, work / "processed", work / "features.json")
    _harness.emit(
        {"rows": metrics["rows"], "seconds": round(time.perf_counter() - started, 1), "peak_mib": _harness.peak_mib()}
    )


def _roll_rate_stage(work: Path) -> None:
    from pipeline.stages import roll_rate as stage

    params = load_params()
    started, cpu = time.perf_counter(), time.process_time()
    summary = stage.run(
        params,
        work / "processed",
        work / "metrics.json",
        work / "plots",
        track=True,
        registration_file=work / "registration.json",
    )
    m = summary["metrics"]
    _harness.emit(
        {
            "seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "peak_mib": round(_harness.peak_mib()),
            "model_form": m["training"]["model_form"],
            "model": m["model"]["logloss"],
            "baseline": m["baseline"]["logloss"],
            "plain_lgbm": m["plain_lgbm"]["logloss"],
        }
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--build-features":
        return _build_features(Path(sys.argv[2]), Path(sys.argv[3]))
    if len(sys.argv) > 1 and sys.argv[1] == "--roll-rate-stage":
        return _roll_rate_stage(Path(sys.argv[2]))
    parser = _harness.parser(__doc__)
    parser.add_argument("--uci-csv", type=Path, default=UCI_CREDIT_DEFAULT_CSV, help="UCI_Credit_Card.csv")
    parser.add_argument("--uci-params", type=Path, default=UCI_PARAMS, help="params of the UCI configuration")
    parser.add_argument("--uci-sample", type=int, default=None, help="only the first N clients (default: all)")
    _harness.add_book_arguments(parser, accounts=70_000, cycles=24, cache=False)
    parser.add_argument("--quick", action="store_true", help="tiny UCI training (for the test suite)")
    args = parser.parse_args()
    figures: dict[str, object] = uci_september(args.uci_csv, args.uci_params, args.uci_sample, args.quick)
    figures["statuses_quarantined"] = status_coded_book()
    figures.update(million_rows(args.accounts, args.cycles))
    _harness.emit(figures)


if __name__ == "__main__":
    main()
