"""Check of issue 17: do the generated reports open offline? Plot pages drawn in headless Chromium, assets scanned.

    python benchmarks/reports.py            # the project after `make repro` (reads data/, writes only to a temp dir)
    python benchmarks/reports.py --demo     # a small DVC repository in a temp dir (what the tests run)

It builds the plots page exactly as `make plots` does (`dvc plots show` with the offline template,
pipeline/reports.py), plus one page per roll-rate plot kind of each data configuration whose
outputs exist (data/uci, data/own), opens every page in Debian's Chromium with no network and counts
the pages where a chart was not drawn; then scans every generated page (those plot pages and
everything under data/reports/) for script or stylesheet URLs that need the network.

Last line: JSON with `plot_pages_blank`, `external_assets` (this helper's), and `notebooks_run`,
`notebooks_failed`, `runs_missing_tags`, `versions_missing_card`, which stay null here until the
notebook and MLflow checks of the same issue fill them.
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
        print("notebooks, MLflow tags and model cards: not measured by this script yet (null)")

    _harness.emit(
        {
            "notebooks_run": None,
            "notebooks_failed": None,
            "plot_pages": len(pages),
            "plot_pages_blank": blank,
            "external_assets": external,
            "pages_scanned": n_pages,
            "runs_missing_tags": None,
            "versions_missing_card": None,
            "build_seconds": round(build_seconds, 2),
            "render_seconds": round(render_seconds, 2),
        }
    )


if __name__ == "__main__":
    main()
