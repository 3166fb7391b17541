"""Roll-rate model vs Markov baseline on the simulated default book, out of time.

    python benchmarks/roll_rate.py [--accounts N] [--seed N] [--processed DIR] [--latent-ceiling] [--quick]

Simulates the default book (params.yaml; 40,000 accounts x 24 cycles unless --accounts), builds the
pipeline's features and labels in memory (or reads DIR/features.parquet and DIR/labels.parquet),
then trains and scores exactly as the `roll_rate` stage does, without MLflow. --seed simulates and
trains another world of the same shape (params `seeds.world` and `seeds.training`; 0 unless given),
to see how much a figure owes to one book. Reports the test-window scores, the per-bucket view
and the training time (target: under 2 minutes on 2 cores).

--latent-ceiling trains the same model a second time with the simulator's hidden borrower traits
(segment, latent ability and willingness; `Simulation.latent_traits()`) joined as features: no
lender has them, so its log-loss reduction bounds what any model of the observable history can
reach on this book (reported as latent_ceiling_logloss_reduction; diagnostics, never a model).

--quick (the test suite's tiny run) trains the notebooks' small, fast model (pipeline.notebooks.fast_models):
it checks the script, its figures mean nothing.

Last line: JSON with model_logloss, baseline_logloss, logloss_reduction (1 - model/baseline),
roll_forward_auc (the model's, all source buckets pooled), plain_lgbm_logloss (the plain LightGBM
baseline's, models/common/plain.py).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _harness
import pandas as pd

from core.io import read_tables
from core.params import Seeds, load_params
from features import build_features, build_labels
from models.roll_rate.train import train_roll_rate
from pipeline.stages import simulate
from simulator import Simulation


def _simulated(params, accounts: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        simulate.run(params, Path(tmp), accounts=accounts, metrics_file=None)
        tables = read_tables(Path(tmp))
    return build_features(tables, None, params), build_labels(tables, None, params)


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--accounts", type=int, default=None, help="accounts to simulate (default: params.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the book and the model (default: params.yaml)")
    parser.add_argument("--processed", type=Path, default=None, help="read features/labels parquet from here instead")
    parser.add_argument(
        "--latent-ceiling",
        action="store_true",
        help="also train with the simulator's hidden borrower traits (an upper bound)",
    )
    parser.add_argument("--quick", action="store_true", help="a small, fast model (for the test suite)")
    args = parser.parse_args()
    if args.latent_ceiling and args.processed is not None:
        parser.error("--latent-ceiling needs the book simulated here (drop --processed)")
    params = load_params()
    if args.quick:
        from pipeline.notebooks import fast_models

        params = fast_models(params)
    if args.seed is not None:
        params = params.model_copy(update={"seeds": Seeds(world=args.seed, training=args.seed)})
    started = time.perf_counter()
    if args.processed is not None:
        features = pd.read_parquet(args.processed / "features.parquet")
        labels = pd.read_parquet(args.processed / "labels.parquet")
    else:
        features, labels = _simulated(params, args.accounts)
    prepared = time.perf_counter()
    print(
        f"{features['account_id'].nunique():,} accounts, {len(features):,} as-of rows, "
        f"{features.shape[1] - 2} feature columns ({prepared - started:.1f}s to simulate and build features)"
    )
    result = train_roll_rate(features, labels, params.roll_rate, params.buckets.as_buckets(), params.seeds.training)
    trained = time.perf_counter() - prepared
    m = result.metrics
    print(f"split: {m['split']}; model form {m['training']['model_form']}, calibration {m['training']['calibration']}")
    print(f"{'bucket now':<12} {'rows':>7} {'rolls':>6}  {'log loss model/base':>20}  {'roll-fwd AUC model/base':>24}")
    for bucket, v in m["by_bucket"].items():
        auc = (v["model"]["roll_forward_auc"], v["baseline"]["roll_forward_auc"])
        auc_text = "n/a" if auc[0] is None else f"{auc[0]:.3f} / {auc[1]:.3f}"
        print(
            f"{bucket:<12} {v['rows']:>7,} {v['roll_forward_rate']:>6.1%}  "
            f"{v['model']['logloss']:>9.4f} / {v['baseline']['logloss']:<8.4f}  {auc_text:>24}"
        )
    horizons = {h: f for h, f in m["forecast"].items() if isinstance(f, dict)}  # beside `unit`, `balance_unknown`
    for h, f in horizons.items():
        print(
            f"forecast {h}: charge-off actual {f['charge_off_actual']:,.0f}, model {f['charge_off_model']:,.0f}, "
            f"baseline {f['charge_off_baseline']:,.0f}"
        )
    print(
        f"test window: model log loss {m['model']['logloss']:.4f} vs baseline {m['baseline']['logloss']:.4f} "
        f"({m['logloss_reduction']:.1%} lower; target >= 15%)"
    )
    print(
        f"plain LightGBM (library defaults, raw columns, same rows): log loss {m['plain_lgbm']['logloss']:.4f}, "
        f"roll-forward AUC {m['plain_lgbm']['roll_forward_auc']:.3f} (the model's log loss "
        f"{m['logloss_vs_plain']:.1%} lower)"
    )
    print(
        f"training + evaluation {trained:.1f}s (fit {result.timings['fit_s']:.1f}s; target < 120s); "
        f"peak memory {_harness.peak_mib():.0f} MiB"
    )
    figures = {
        "model_logloss": m["model"]["logloss"],
        "baseline_logloss": m["baseline"]["logloss"],
        "logloss_reduction": round(m["logloss_reduction"], 4),
        "roll_forward_auc": m["model"]["roll_forward_auc"],
        "plain_lgbm_logloss": m["plain_lgbm"]["logloss"],
    }
    if args.latent_ceiling:
        traits = Simulation.from_params(
            params, **({"accounts": args.accounts} if args.accounts else {})
        ).latent_traits()
        ceiling = train_roll_rate(
            features.merge(traits, on="account_id", how="left", validate="many_to_one"),
            labels,
            params.roll_rate,
            params.buckets.as_buckets(),
            params.seeds.training,
        ).metrics
        print(
            f"latent-truth ceiling (model also given segment, ability, willingness): log loss "
            f"{ceiling['model']['logloss']:.4f}, {ceiling['logloss_reduction']:.1%} lower than the baseline; "
            f"the observable history reaches {m['logloss_reduction'] / ceiling['logloss_reduction']:.0%} of it"
        )
        figures["latent_ceiling_logloss_reduction"] = round(ceiling["logloss_reduction"], 4)
    _harness.emit(figures)


if __name__ == "__main__":
    main()
