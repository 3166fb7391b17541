"""The docs stay navigable: a short README, links that resolve, and every manual reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
README_MAX_CHARS = 12_000

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The Markdown without code blocks and inline code, where brackets are not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Targets of the inline links and images in a Markdown text."""
    return _LINK.findall(_prose(text))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for title in _HEADING.findall(_FENCE.sub("", text)):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading keeps its text
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(page: Path) -> list[str]:
    """Relative links of `page` whose file does not exist, or whose `#anchor` names no heading there."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no file {file})")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target} (no heading #{anchor} in {file.name})")
    return broken


PAGES = [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_short_enough_to_read_in_ten_minutes():
    size = len(README.read_text(encoding="utf-8"))
    assert size < README_MAX_CHARS, f"README.md has {size} characters: move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_every_manual_is_linked_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README.read_text(encoding="utf-8"))}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert unlinked == [], "docs/ pages the README does not link to"


def test_no_markdown_inside_code_packages():
    """Manuals live in docs/: a .md inside a package would be a DVC dependency of its stages."""
    packages = ["core", "simulator", "adapters", "validation", "features", "models", "strategy", "pipeline"]
    found = [str(p.relative_to(PROJECT_ROOT)) for name in packages for p in (PROJECT_ROOT / name).rglob("*.md")]
    assert found == []


def test_the_checks_catch_a_broken_link_a_missing_anchor_and_an_unlinked_page(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Two words\n\n[back](../README.md#intro)\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Intro\n\n[ok](docs/a.md#two-words) [gone](docs/b.md) [bad anchor](docs/a.md#three-words)\n"
        "[web](https://example.com) `[not a link](nowhere.md)`\n\n```\n[nor this](nowhere.md)\n```\n"
    )
    assert [b.split(" ")[0] for b in broken_links(readme)] == ["docs/b.md", "docs/a.md#three-words"]
    assert broken_links(tmp_path / "docs" / "a.md") == []
    assert anchors("# `accounts`\n## Roll-rate model, simulated default\n## Roll-rate model, simulated default") == {
        "accounts",
        "roll-rate-model-simulated-default",
        "roll-rate-model-simulated-default-1",
    }


def test_every_source_file_the_docs_name_exists():
    """The docs name modules and scripts by path (`models/roll_rate/markov.py`, `python benchmarks/NAME.py`)."""
    rooms = "core|simulator|adapters|validation|features|models|pipeline|benchmarks|configs"
    pattern = rf"\b(?:{rooms})/[a-z0-9_/]*[a-z0-9_]\.(?:py|yaml)\b"
    named = {m for page in PAGES for m in re.findall(pattern, page.read_text(encoding="utf-8"))}
    assert sorted(p for p in named if not (PROJECT_ROOT / p).exists()) == []
