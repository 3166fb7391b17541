"""Check of issue 17: do the generated reports open offline? Plot pages drawn in headless Chromium, assets scanned.

    python benchmarks/reports.py            # the project after `make repro` (reads data/, writes only to a temp dir)
    python benchmarks/reports.py --demo     # a small DVC repository in a temp dir (what the tests run)

It builds the plots page exactly as `make plots` does (`dvc plots show` with the offline template,
pipeline/reports.py), plus one page per roll-rate plot kind of each data configuration whose
outputs exist (data/uci, data/own), opens every page in Debian's Chromium with no network and counts
the pages where a chart was not drawn; then scans every generated page (those plot pages and
everything under data/reports/) for script or stylesheet URLs that need the network.

It then runs every analyst notebook (pipeline/notebooks.py: nbclient, a fresh kernel each; after
`make repro` they read the project's MLflow store and models) and audits the MLflow store: the runs
without the tags every run must carry (git commit, DVC data hash, params hash, pipeline stage:
models/common/tracking.py) and the registered versions without a model card (models/common/card.py).
With --demo the notebooks are not run (null: minutes of work, tests/test_notebooks.py runs them) and the
audit reads a throwaway store holding one run tagged and one version carded as the stages do it.

Last line: JSON with `notebooks_run`, `notebooks_failed`, `plot_pages_blank`, `external_assets`,
`runs_missing_tags`, `versions_missing_card` (and the pages, timings).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness

ROC = "fpr,tpr\n" + "".join(f"{x / 20:.2f},{min(1.0, (x / 20) ** 0.4):.4f}\n" for x in range(21))
CALIBRATION = "predicted,observed\n" + "".join(f"{x / 10:.1f},{x / 10 * 0.9 + 0.03:.3f}\n" for x in range(1, 10))


def demo_repo(root: Path) -> Path:
    """A DVC repository (no git) with two declared plots and a report page, like a tiny project."""
    root.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=root, check=True)
    (root / "data" / "plots").mkdir(parents=True)
    (root / "data" / "plots" / "roc.csv").write_text(ROC)
    (root / "data" / "plots" / "calibration.csv").write_text(CALIBRATION)
    (root / "dvc.yaml").write_text(
        "plots:\n"
        "  - data/plots/roc.csv: {x: fpr, y: tpr}\n"
        "  - data/plots/calibration.csv: {x: predicted, y: observed}\n"
    )
    (root / "data" / "reports" / "validation").mkdir(parents=True)
    (root / "data" / "reports" / "validation" / "index.html").write_text("<!DOCTYPE html><title>r</title><p>ok</p>")
    return root


def demo_store(root: Path) -> str:
    """A throwaway MLflow store with one run tagged and one registered version carded as the stages do it."""
    import mlflow

    from core.params import Params
    from models.common.card import model_card
    from models.common.tracking import run_tags

    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri, uri)
    experiment = client.create_experiment("demo", artifact_location=(root / "artifacts").as_uri())
    data = root / "features.csv"
    data.write_text("a\n1\n")
    tags = run_tags({"features": data}, "roll_rate", Params())
    run = client.create_run(experiment, tags=tags).info.run_id
    client.create_registered_model("demo_model")
    card = model_card("demo_model", "roll_rate", run, tags, {"Known limits": "- a demo"}, "logloss")
    client.create_model_version("demo_model", f"runs:/{run}/model", run_id=run, description=card)
    return uri


def audit_store(uri: str | None) -> tuple[dict[str, list[str]], list[str]]:
    """(runs lacking a required tag, registered versions without a card) of the store at `uri` (None: the project's)."""
    import mlflow

    from models.common.card import audit_cards
    from models.common.tracking import audit_runs, configure

    client = configure() if uri is None else mlflow.MlflowClient(uri, uri)
    return audit_runs(client), audit_cards(client)


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--demo", action="store_true", help="check a small DVC repository made in a temp dir")
    parser.add_argument("--repo", type=Path, default=None, help="the project to check (default: this one)")
    parser.add_argument("--screenshots", type=Path, default=None, help="keep the screenshots in this folder")
    args = parser.parse_args()

    from core.paths import PROJECT_ROOT
    from pipeline import reports

    with tempfile.TemporaryDirectory(prefix="dunning-bench-reports-") as scratch:
        out = Path(scratch) / "pages"
        repo = demo_repo(Path(scratch) / "demo") if args.demo else (args.repo or PROJECT_ROOT).resolve()
        if not (repo / "data" / "plots").is_dir():
            sys.exit(f"{repo / 'data' / 'plots'} does not exist: run `make repro` first, or pass --demo")
        template = Path(scratch) / "offline.html" if args.demo else reports.TEMPLATE_FILE

        start = time.perf_counter()
        reports.write_plots_template(template)
        print(f"template: {template} ({template.stat().st_size / 1e6:.2f} MB, Vega inlined)")
        pages = [reports.show_plots(out / "default", repo=repo, template=template)]
        for config in ("uci", "own"):
            if (repo / "data" / config / "plots" / "roll_rate").is_dir():
                pages += reports.show_config_plots(config, out / config, repo=repo, template=template)
        build_seconds = time.perf_counter() - start
        print(f"plot pages: {len(pages)} built in {build_seconds:.1f} s (dvc plots show, no load failure)")

        blank = None
        start = time.perf_counter()
        if reports.chromium_available():
            blank = 0
            for i, page in enumerate(pages):
                shot = args.screenshots / f"{i:02d}_{page.parent.name}.png" if args.screenshots else None
                rendered = reports.render(page, shot)
                blank += rendered.blank
                print(
                    f"  {page.relative_to(out)}: {rendered.charts_drawn}/{rendered.charts_expected} charts drawn, "
                    f"{rendered.coloured_pixels:,} coloured pixels{' BLANK' if rendered.blank else ''}"
                )
        else:
            print(f"{reports.CHROMIUM} is missing (make browser): plot pages not rendered")
        render_seconds = time.perf_counter() - start

        scanned = [out, repo / "data" / "reports"]
        found = reports.scan(scanned)
        n_pages = len(reports.report_pages(scanned))
        for page, urls in found.items():
            print(f"  external: {page}: {', '.join(urls)}")
        external = sum(map(len, found.values()))
        print(f"scanned {n_pages} generated pages: {external} external script/stylesheet URLs")

        notebooks_run = notebooks_failed = None
        start = time.perf_counter()
        if not args.demo:
            from pipeline.notebooks import run_notebooks

            notebooks_run, notebooks_failed = run_notebooks(PROJECT_ROOT / "notebooks", env=None)
            print(f"notebooks: {notebooks_run} run, {notebooks_failed} failed ({time.perf_counter() - start:.0f} s)")
        else:
            print("notebooks: not run with --demo (tests/test_notebooks.py runs them)")

        store = demo_store(Path(scratch) / "mlflow") if args.demo else None
        lacking, uncarded = audit_store(store)
        for run_id, tags in sorted(lacking.items())[:10]:
            print(f"  run {run_id} lacks {', '.join(tags)}")
        print(f"MLflow: {len(lacking)} runs without the required tags, {len(uncarded)} versions without a model card")
        for version in uncarded[:10]:
            print(f"  version {version} has no model card")

    _harness.emit(
        {
            "notebooks_run": notebooks_run,
            "notebooks_failed": notebooks_failed,
            "plot_pages": len(pages),
            "plot_pages_blank": blank,
            "external_assets": external,
            "pages_scanned": n_pages,
            "runs_missing_tags": len(lacking),
            "versions_missing_card": len(uncarded),
            "build_seconds": round(build_seconds, 2),
            "render_seconds": round(render_seconds, 2),
        }
    )


if __name__ == "__main__":
    main()
