"""Reports that open offline: the DVC plots page, a scan for external assets, a headless-browser check.

`dvc plots show` writes a page that loads Vega, Vega-Lite and Vega-Embed from a CDN, so on a machine
without internet (a collections floor, a laptop on a train) every chart is blank. This module builds
the HTML template DVC fills (`dvc plots show --html-template`, set for the repository in
`.dvc/config` as `plots.html_template`) with the three libraries inlined from a pinned PyPI package,
`vl-convert-python` (its `javascript_bundle()`, the bundle Altair inlines for offline HTML). The
validation report (data/reports/validation/index.html) is written by hand and is self-contained
already; GX's own Data Docs, which load Bootstrap, jQuery and Font Awesome from CDNs, are switched off
(gx/great_expectations.yml), so the scan below covers every page the project generates.

The check is a real browser, not a string search: Debian's Chromium, headless, with every host name
unresolvable (`--host-resolver-rules`), opens a page; a page is blank when fewer charts were drawn
than the page embeds, or when its screenshot has no coloured pixel (the marks; text is grey).

`python -m pipeline.reports plots` (or `make plots`) writes the plots page; `... check PAGE` and
`... scan PATH...` run the checks (docs/reports.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path

from core import environment
from core.io import atomic_path
from core.paths import PROJECT_ROOT, REPORTS_DIR

#: Vega-Lite line of the inlined bundle: DVC 3's plot templates are Vega-Lite v5 specifications.
VEGA_LITE_VERSION = "5.21"
#: The template `dvc plots show` uses (`.dvc/config`: plots.html_template = plots/offline.html); generated, git-ignored.
TEMPLATE_FILE = PROJECT_ROOT / ".dvc" / "plots" / "offline.html"
#: Where `make plots` writes the page (`dvc plots show`'s own default is dvc_plots/ in the working directory).
PLOTS_OUT_DIR = PROJECT_ROOT / "build" / "plots"
CHROMIUM = Path("/usr/bin/chromium")
#: Launch flags for Debian's Chromium as root on a machine with a closed network: without the background
#: networking ones it opens connections the network refuses; the resolver rule makes every host unknown,
#: so a page that needs the internet fails here exactly as it would offline.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
#: DVC's failure line when a declared plot file is missing (it still exits 0).
DVC_LOAD_FAILURE = "failed to load some plots"
#: A pixel is coloured when its channels spread by more than this (text and axes are grey, Vega's marks are not).
COLOUR_SPREAD = 60
#: Fewer coloured pixels than this and a page counts as blank (one drawn line is thousands).
MIN_COLOURED_PIXELS = 200

_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.IGNORECASE)
_EMBED_CALL = re.compile(r"""vegaEmbed\(\s*['"]#""")
_DRAWN = re.compile(r"""<(?:canvas|svg)\b[^>]*\bclass="marks""")


@functools.cache
def plots_template(vega_lite_version: str = VEGA_LITE_VERSION) -> str:
    """The page DVC fills: `{plot_divs}` for the charts, the three libraries inlined, no `{scripts}`.

    Leaving out `{scripts}` is what keeps DVC's CDN script tags out of the page.
    """
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=f"v{vega_lite_version}")
    # Inside a <script> element only "</script" ends it early; "<\/" means the same to JavaScript.
    bundle = re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)
    clashes = [p for p in _PLACEHOLDERS if p in bundle]
    if clashes:
        raise RuntimeError(f"the Vega bundle contains DVC's placeholders {clashes}; DVC would rewrite it")
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset='utf-8'>\n{refresh_tag}\n<title>DVC plots (offline)</title>\n"
        f"<!-- vega {vl_convert.get_vega_version()}, vega-lite {vega_lite_version}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}: inlined from vl-convert-python "
        f"{vl_convert.__version__} by pipeline/reports.py -->\n"
        f"<script>\n{bundle}\n</script>\n"
        "<style>table { border-spacing: 15px; } body { background: #fff; }</style>\n"
        "</head>\n<body>\n{plot_divs}\n</body>\n</html>\n"
    )


def write_plots_template(path: Path = TEMPLATE_FILE) -> Path:
    """Write the template to `path` unless it already holds exactly that text; returns the path."""
    path = Path(path)
    text = plots_template()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return path


def show_plots(
    out_dir: Path = PLOTS_OUT_DIR,
    targets: Sequence[str] = (),
    repo: Path = PROJECT_ROOT,
    template: Path = TEMPLATE_FILE,
    options: Sequence[str] = (),
) -> Path:
    """Run `dvc plots show [options] [targets]` in `repo` with the offline template; returns the page it wrote.

    Raises when DVC fails or reports plots it could not load (it exits 0 then), so a missing plot
    file fails `make plots` instead of leaving a page with a hole in it.
    """
    template = write_plots_template(template)
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)  # dvc creates only the last folder
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--html-template", str(template), "-o", str(out_dir)]
        + [*options, *targets],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 or DVC_LOAD_FAILURE in output:
        raise RuntimeError(f"dvc plots show failed (exit {done.returncode}): {output.strip()[-2000:]}")
    return out_dir / "index.html"


#: The roll-rate plots of a data configuration (configs/NAME/dvc.yaml declares them as plain outputs, so
#: the root's `dvc plots show` never fails on a configuration that was not run): file pattern, x, y, template.
ROLL_RATE_PLOTS = {
    "roc": ("roc_*.csv", "fpr", "tpr", None),
    "calibration": ("calibration_*.csv", "predicted", "observed", None),
    "transitions": ("transitions.csv", "actual", "model", "scatter"),
    "forecast": ("forecast.csv", "actual", "model", "scatter"),
}


def show_config_plots(
    config: str, out_dir: Path, repo: Path = PROJECT_ROOT, template: Path = TEMPLATE_FILE
) -> list[Path]:
    """One offline page per kind of roll-rate plot of configuration `config` (data/CONFIG/plots/roll_rate)."""
    folder = Path(repo) / "data" / config / "plots" / "roll_rate"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist: run `dvc repro configs/{config}/dvc.yaml` first")
    pages = []
    for kind, (pattern, x, y, plot_template) in ROLL_RATE_PLOTS.items():
        # A file with a header and no rows (the UCI book has no forecast horizon) would only draw empty axes.
        files = [str(p.relative_to(repo)) for p in sorted(folder.glob(pattern)) if _has_rows(p)]
        if files:
            options = ["-x", x, "-y", y, *(["-t", plot_template] if plot_template else [])]
            pages.append(show_plots(Path(out_dir) / kind, files, repo, template, options))
    return pages


def _has_rows(path: Path) -> bool:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line, _ in zip(handle, range(2), strict=False) if line.strip()) > 1


class _AssetParser(HTMLParser):
    """Collects the script and stylesheet addresses of one page (attributes and CSS @import)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            rel = values.get("rel", "").lower().split()
            if {"stylesheet", "preload", "modulepreload"} & set(rel):
                self.urls.append(values["href"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_CSS_IMPORT.findall(data))


def external_assets(html: str) -> list[str]:
    """Script and stylesheet addresses in `html` that need the network (http, https, protocol-relative //)."""
    parser = _AssetParser()
    parser.feed(html)
    parser.close()
    return [url for url in parser.urls if _EXTERNAL.match(url)]


def report_pages(roots: Iterable[Path]) -> list[Path]:
    """Every HTML page under `roots` (files are taken as they are), sorted."""
    pages: set[Path] = set()
    for root in map(Path, roots):
        if root.is_file():
            pages.add(root)
        elif root.is_dir():
            pages.update(p for p in root.rglob("*.htm*") if p.is_file() and ".dunning-tmp" not in p.parts)
    return sorted(pages)


def scan(roots: Iterable[Path]) -> dict[str, list[str]]:
    """External script/stylesheet addresses per page under `roots` (pages without any are left out)."""
    found = {}
    for page in report_pages(roots):
        urls = external_assets(page.read_text(encoding="utf-8", errors="replace"))
        if urls:
            found[str(page)] = urls
    return found


@dataclass(frozen=True)
class Rendered:
    """What headless Chromium drew of one page."""

    charts_expected: int  # vegaEmbed calls in the page
    charts_drawn: int  # Vega canvases or SVGs in the page after its scripts ran
    coloured_pixels: int  # in the screenshot of the first screenful

    @property
    def blank(self) -> bool:
        """Fewer charts drawn than embedded, or nothing coloured on screen."""
        return self.charts_drawn < max(self.charts_expected, 1) or self.coloured_pixels < MIN_COLOURED_PIXELS


def chromium_available(chromium: Path = CHROMIUM) -> bool:
    return Path(chromium).is_file()


def render(
    page: Path,
    screenshot: Path | None = None,
    chromium: Path = CHROMIUM,
    width: int = 1280,
    height: int = 1600,
    timeout: float = 120.0,
) -> Rendered:
    """Open `page` in headless Chromium with no network; count the charts drawn and the coloured pixels.

    The screenshot (kept at `screenshot` when given) covers the first `width` x `height` pixels.
    """
    import numpy as np
    from PIL import Image

    page = Path(page).resolve()
    with tempfile.TemporaryDirectory(prefix="dunning-chromium-") as tmp:
        shot = Path(screenshot) if screenshot is not None else Path(tmp) / "page.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        common = [
            str(chromium),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--window-size={width},{height}",
            "--virtual-time-budget=20000",  # let Vega's promises settle before the DOM is read
        ]
        dom = subprocess.run(
            [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=timeout, check=False
        )
        if dom.returncode != 0:
            raise RuntimeError(f"chromium failed on {page} (exit {dom.returncode}): {dom.stderr[-2000:]}")
        done = subprocess.run(
            [*common, f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0 or not shot.is_file():
            raise RuntimeError(f"chromium took no screenshot of {page} (exit {done.returncode}): {done.stderr[-2000:]}")
        pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    source = page.read_text(encoding="utf-8", errors="replace")
    return Rendered(
        charts_expected=len(_EMBED_CALL.findall(source)),
        charts_drawn=len(_DRAWN.findall(dom.stdout)),
        coloured_pixels=int((spread > COLOUR_SPREAD).sum()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pipeline.reports {template,plots,scan,check}`: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.reports", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("template", help=f"write the offline DVC plots template ({TEMPLATE_FILE.relative_to(PROJECT_ROOT)})")
    plots = sub.add_parser("plots", help="dvc plots show with the offline template")
    plots.add_argument("--out", type=Path, default=PLOTS_OUT_DIR, help="output folder (index.html)")
    plots.add_argument("--config", default=None, help="a data configuration (configs/NAME): its roll-rate plots")
    plots.add_argument("targets", nargs="*", help="plot files or ids (default: every plot of the default pipeline)")
    scan_cmd = sub.add_parser("scan", help="list external script/stylesheet URLs in HTML pages")
    scan_cmd.add_argument("paths", nargs="*", type=Path, default=[REPORTS_DIR])
    check = sub.add_parser("check", help="render pages in headless Chromium offline; fail if one is blank")
    check.add_argument("pages", nargs="+", type=Path)
    check.add_argument("--screenshot-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    environment.apply()  # telemetry off for the dvc it runs

    if args.command == "template":
        print(write_plots_template())
    elif args.command == "plots" and args.config:
        try:
            pages = show_config_plots(args.config, args.out / args.config)
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print("\n".join(map(str, pages)))
    elif args.command == "plots":
        print(show_plots(args.out, args.targets))
    elif args.command == "scan":
        found = scan(args.paths)
        for page, urls in found.items():
            print(f"{page}: {', '.join(urls)}")
        print(f"{sum(map(len, found.values()))} external assets in {len(report_pages(args.paths))} pages")
        return 1 if found else 0
    elif args.command == "check":
        blank = 0
        for i, page in enumerate(args.pages):
            shot = args.screenshot_dir / f"{i:02d}_{page.stem}.png" if args.screenshot_dir else None
            result = render(page, shot)
            blank += result.blank
            print(json.dumps({"page": str(page), **asdict(result), "blank": result.blank}))
        return 1 if blank else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
