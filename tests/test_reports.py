"""Reports open offline (issue 17): the plots page draws its charts in a real browser with no network.

The browser tests use Debian's Chromium (/usr/bin/chromium; CI installs it with `make browser`) on a
small DVC repository in tmp_path, never the project's data/. A control page built with DVC's own
template (Vega from a CDN) must come out blank under the same check, so the check can fail.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from core.paths import PROJECT_ROOT
from pipeline import reports

needs_chromium = pytest.mark.skipif(
    not reports.chromium_available(),
    reason=f"{reports.CHROMIUM} is missing: install Debian's chromium (`make browser`, as CI does)",
)

ROC = "fpr,tpr\n0.0,0.0\n0.05,0.4\n0.1,0.6\n0.3,0.8\n0.6,0.93\n1.0,1.0\n"
CALIBRATION = "predicted,observed\n0.05,0.04\n0.2,0.25\n0.4,0.38\n0.6,0.66\n0.9,0.85\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return reports.write_plots_template(tmp_path_factory.mktemp("template") / "offline.html")


def _dvc_repo(root: Path, plots: dict[str, str], declared: list[str] | None = None) -> Path:
    """A DVC repository (no git) whose dvc.yaml declares `declared` (default: every file) as plots."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=root, check=True)
    for name, text in plots.items():
        (root / name).write_text(text)
    axes = {"roc": ("fpr", "tpr"), "calibration": ("predicted", "observed")}
    entries = [{name: dict(zip(("x", "y"), axes[Path(name).stem], strict=True))} for name in declared or list(plots)]
    (root / "dvc.yaml").write_text(yaml.safe_dump({"plots": entries}))
    return root


def test_the_template_inlines_vega_and_names_no_cdn():
    text = reports.plots_template()
    assert "{plot_divs}" in text
    assert "{scripts}" not in text  # DVC puts its CDN <script> tags there
    assert "window.vegaEmbed=" in text
    assert reports.external_assets(text) == []
    assert "</script>" not in text.split("<script>", 1)[1].rsplit("</script>", 1)[0]


def test_the_repository_points_dvc_at_the_generated_template():
    config = configparser.ConfigParser()
    config.read(PROJECT_ROOT / ".dvc" / "config")
    configured = PROJECT_ROOT / ".dvc" / config["plots"]["html_template"]
    assert configured.resolve() == reports.TEMPLATE_FILE.resolve()


def test_only_the_default_pipeline_declares_plots():
    # `dvc plots show` at the root collects every dvc.yaml: a plot declared by a configuration that the
    # default run never builds (configs/uci, configs/own) makes it fail for the whole workspace.
    declaring = []
    for dvcfile in PROJECT_ROOT.glob("**/dvc.yaml"):
        if ".venv" in dvcfile.parts or ".dunning-tmp" in dvcfile.parts:
            continue
        spec = yaml.safe_load(dvcfile.read_text())
        if spec.get("plots") or any("plots" in stage for stage in spec.get("stages", {}).values()):
            declaring.append(str(dvcfile.relative_to(PROJECT_ROOT)))
    assert declaring == ["dvc.yaml"]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>', ["https://cdn.jsdelivr.net/npm/vega@5"]),
        ("<script src='//unpkg.com/x.js'></script>", ["//unpkg.com/x.js"]),
        ('<link rel="stylesheet" href="HTTP://a.b/c.css">', ["HTTP://a.b/c.css"]),
        ('<link rel="preload stylesheet" href="http://a.b/c.css">', ["http://a.b/c.css"]),
        ("<style>@import url('https://fonts.example/x.css');</style>", ["https://fonts.example/x.css"]),
        ('<style>@import "//fonts.example/y.css";</style>', ["//fonts.example/y.css"]),
        ('<script src="static/vega.js"></script><link rel="stylesheet" href="../s.css">', []),
        ('<a href="https://dvc.org">docs</a><img src="https://x/y.png"><script>var u="https://x";</script>', []),
        ('<link rel="icon" href="https://x/favicon.ico">', []),
    ],
)
def test_external_assets_are_script_and_stylesheet_urls_that_need_the_network(html, expected):
    assert reports.external_assets(html) == expected


@given(st.from_regex(r"[a-z0-9_./-]{1,30}", fullmatch=True).filter(lambda p: not p.startswith("//")))
def test_a_relative_address_is_never_external(path):
    assert reports.external_assets(f'<script src="{path}"></script><link rel="stylesheet" href="{path}">') == []


def test_scan_finds_the_pages_with_external_assets(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "ok.html").write_text("<html><script>1</script></html>")
    (tmp_path / "a" / "b" / "cdn.html").write_text('<script src="https://cdn/x.js"></script>')
    assert reports.scan([tmp_path]) == {str(tmp_path / "a" / "b" / "cdn.html"): ["https://cdn/x.js"]}
    assert len(reports.report_pages([tmp_path])) == 2


def test_a_declared_plot_that_is_missing_fails_the_page(tmp_path, template):
    repo = _dvc_repo(tmp_path / "repo", {"roc.csv": ROC}, declared=["roc.csv", "calibration.csv"])
    with pytest.raises(RuntimeError, match=reports.DVC_LOAD_FAILURE):
        reports.show_plots(tmp_path / "out", repo=repo, template=template)


@needs_chromium
def test_the_plots_page_draws_every_chart_offline(tmp_path, template):
    repo = _dvc_repo(tmp_path / "repo", {"roc.csv": ROC, "calibration.csv": CALIBRATION})
    page = reports.show_plots(tmp_path / "out", repo=repo, template=template)
    assert reports.external_assets(page.read_text()) == []
    rendered = reports.render(page, tmp_path / "page.png")
    assert rendered.charts_expected == 2
    assert rendered.charts_drawn == 2
    assert rendered.coloured_pixels >= reports.MIN_COLOURED_PIXELS
    assert not rendered.blank
    assert (tmp_path / "page.png").stat().st_size > 0


@needs_chromium
def test_dvcs_own_page_is_blank_offline(tmp_path):
    # The control: DVC's default template loads Vega from a CDN, which the check's browser cannot reach.
    repo = _dvc_repo(tmp_path / "repo", {"roc.csv": ROC})
    subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "-o", "out"], cwd=repo, check=True, capture_output=True
    )
    page = repo / "out" / "index.html"
    assert reports.external_assets(page.read_text())
    rendered = reports.render(page)
    assert rendered.charts_expected == 1
    assert rendered.charts_drawn == 0
    assert rendered.blank


@needs_chromium
def test_a_chart_without_data_counts_as_blank(tmp_path, template):
    repo = _dvc_repo(tmp_path / "repo", {"roc.csv": "fpr,tpr\n"})
    page = reports.show_plots(tmp_path / "out", repo=repo, template=template)
    rendered = reports.render(page)
    assert rendered.coloured_pixels < reports.MIN_COLOURED_PIXELS
    assert rendered.blank


def test_a_configurations_plots_get_one_page_per_kind_and_empty_files_none(tmp_path, template):
    repo = _dvc_repo(tmp_path / "repo", {"roc.csv": ROC})
    folder = repo / "data" / "uci" / "plots" / "roll_rate"
    folder.mkdir(parents=True)
    (folder / "roc_model.csv").write_text(ROC)
    (folder / "roc_baseline.csv").write_text(ROC)
    (folder / "calibration_model.csv").write_text(CALIBRATION)
    (folder / "forecast.csv").write_text("horizon,bucket,actual,model\n")  # no rows: no page
    pages = reports.show_config_plots("uci", tmp_path / "out", repo=repo, template=template)
    assert [p.parent.name for p in pages] == ["roc", "calibration"]
    assert pages[0].read_text().count("vegaEmbed('#") == 2
    assert all(reports.external_assets(p.read_text()) == [] for p in pages)
    with pytest.raises(FileNotFoundError, match="dvc repro configs/own/dvc.yaml"):
        reports.show_config_plots("own", tmp_path / "out", repo=repo, template=template)
