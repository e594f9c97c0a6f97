"""The documentation a reader follows resolves: every citation of the paper's constants points at a
section of docs/paper.md, nothing cites a document outside the repository, and every relative link
in the Markdown docs reaches a file (and, with an anchor, a heading)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*ROOT.glob("cobalt/**/*.py"), *ROOT.glob("cobalt/**/*.yaml"), *ROOT.glob("tests/**/*.py")]
SOURCES += [*ROOT.glob("benchmarks/*.py"), *ROOT.glob("docs/**/*.md"), ROOT / "README.md"]
DOCS = [ROOT / "README.md", *ROOT.glob("docs/**/*.md")]

CITATION = re.compile(r"paper\.md[)\]]? §([A-Z0-9][A-Z0-9.]*)((?:(?:, |–)§[A-Z0-9.]+)*)")
OUTSIDE = re.compile(r"paper-notes|engines\.md|sandbox-design\.md|demo-feasibility\.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def headings(markdown: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in markdown.read_text().splitlines() if line.startswith("#")]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", ""))
    return text.replace(" ", "-")


PAPER_SECTIONS = {heading.split()[0].rstrip(".") for heading in headings(ROOT / "docs" / "paper.md")}


def citations() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        for match in CITATION.finditer(path.read_text()):
            sections = [match.group(1), *re.findall(r"§([A-Z0-9.]+)", match.group(2))]
            found += [(str(path.relative_to(ROOT)), s.rstrip(".")) for s in sections]
    return found


def test_there_are_citations_to_check():
    assert len(citations()) > 40


@pytest.mark.parametrize(("where", "section"), sorted(set(citations())))
def test_every_citation_of_the_paper_resolves(where, section):
    if section == "N":  # the page's own "§N" placeholder
        return
    assert section in PAPER_SECTIONS, f"{where} cites docs/paper.md §{section}, which has no such section"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_cites_a_document_outside_the_repository(path):
    if path.name == "test_docs.py" or path.parts[-2] == "experiments":  # history keeps what was true then
        return
    assert not OUTSIDE.search(path.read_text()), f"{path} cites a document that is not in the repository"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_its_file_and_heading(page):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, fragment = target.partition("#")
        destination = (page.parent / file).resolve() if file else page
        assert destination.exists(), f"{page.name} links to {target}, which does not exist"
        if fragment and destination.suffix == ".md":
            assert fragment in {anchor(h) for h in headings(destination)}, f"{page.name}: no heading for {target}"
