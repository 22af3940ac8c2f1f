"""The documentation: README.md stays short, links every page under docs/, and no link in README.md
or docs/*.md is dead (a missing file, a path outside the repository, or an anchor no heading of
the target page has)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import ROOT

README_MAX_LINES = 200
SKIPPED_SCHEMES = ("http://", "https://", "mailto:")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
INLINE_CODE = re.compile(r"(`+)((?:(?!\n[ \t]*\n)[\s\S])+?)\1")
# [text](target) and ![alt](target), with an optional "title" after the target
INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^\s()<>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0]
        elif fence is not None and opened and opened.group(1)[0] == fence:
            fence = None
        elif fence is None:
            lines.append((number, line))
    return lines


def prose(text: str) -> str:
    """The text with fenced code blocks and code spans blanked out, line numbers kept (a link's
    text may wrap over several lines)."""
    kept = dict(prose_lines(text))
    lines = [kept.get(number, "") for number in range(1, len(text.splitlines()) + 1)]
    return INLINE_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(lines))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation dropped except hyphens,
    spaces made hyphens."""
    text = INLINE_LINK.sub(lambda m: m.group(1), heading)  # a link in a heading anchors on its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page's headings give, repeated headings numbered as GitHub numbers them."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every markdown link on a page, code blocks and code spans left out."""
    text = prose(page.read_text(encoding="utf-8"))
    found = [(text.count("\n", 0, match.start()) + 1, match.group(2)) for match in INLINE_LINK.finditer(text)]
    found += [(number, match.group(1)) for number, line in enumerate(text.splitlines(), start=1)
              if (match := REFERENCE_DEFINITION.match(line))]
    return sorted(found, key=lambda link: link[0])


def dead_links(page: Path, root: Path) -> list[str]:
    """One line per dead link of a page: `page:line: target (why)`."""
    page, root = page.resolve(), root.resolve()
    dead = []
    for number, target in links(page):
        where = f"{page.relative_to(root)}:{number}: {target}"
        if target.lower().startswith(SKIPPED_SCHEMES):
            continue
        if not target:
            dead.append(f"{where} (empty target)")
            continue
        path_part, _, anchor = target.partition("#")
        path = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not path.is_relative_to(root):
            dead.append(f"{where} (outside the repository)")
        elif not path.exists():
            dead.append(f"{where} (no such file)")
        elif anchor and path.is_file() and path.suffix == ".md" and unquote(anchor).lower() not in anchors(path):
            dead.append(f"{where} (no heading '#{anchor}' in {path.relative_to(root)})")
    return dead


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_docs_folder_has_pages():
    assert sorted((ROOT / "docs").glob("*.md")), "docs/ holds no page"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_links_are_alive(page):
    assert dead_links(page, ROOT) == []


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"


def test_readme_links_every_docs_page():
    readme = ROOT / "README.md"
    linked = {(readme.parent / unquote(target.partition("#")[0])).resolve()
              for _, target in links(readme) if target and not target.lower().startswith(SKIPPED_SCHEMES)}
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert missing == [], f"README.md does not link {missing}"


def test_docs_pages_have_one_title():
    for page in sorted((ROOT / "docs").glob("*.md")):
        titles = [line for _, line in prose_lines(page.read_text(encoding="utf-8")) if line.startswith("# ")]
        assert len(titles) == 1, f"{page.relative_to(ROOT)}: {titles}"


def test_docs_slugs_are_githubs():
    assert slug("Safe and helpful: labelled seeds") == "safe-and-helpful-labelled-seeds"
    assert slug("Runs, methods and baselines") == "runs-methods-and-baselines"
    assert slug("Bigger models and GPUs") == "bigger-models-and-gpus"
    assert slug("`isara check` and dvc.yaml") == "isara-check-and-dvcyaml"
    assert slug("Fine-tuning") == "fine-tuning"
    assert slug("See [the docs](docs/x.md)") == "see-the-docs"


def test_docs_checker_reports_dead_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "data.csv").write_text("a\n")
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Fine-tuning\n\n## Notes\n\n## Notes\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text("\n".join([
        "# Page",
        "",
        "[fine](other.md#fine-tuning) [second notes](other.md#notes-1) [file](../data.csv) [self](#page)",
        "[web](https://example.org/x) [mail](mailto:a@b.c) `[in code](gone.md)`",
        "```",
        "[in a block](gone.md)",
        "```",
        "[missing](gone.md) and ![image](img/missing.png)",
        "[bad anchor](other.md#training) [bad self](#nothing) [up](../../outside.md)",
        "[ref]: ../nowhere.txt",
        "a link whose text [wraps over",
        "two lines](gone-too.md), and `code that wraps",
        "[over lines](gone.md)` is not one",
    ]) + "\n")
    assert dead_links(page, tmp_path) == [
        "docs/page.md:8: gone.md (no such file)",
        "docs/page.md:8: img/missing.png (no such file)",
        "docs/page.md:9: other.md#training (no heading '#training' in docs/other.md)",
        "docs/page.md:9: #nothing (no heading '#nothing' in docs/page.md)",
        "docs/page.md:9: ../../outside.md (outside the repository)",
        "docs/page.md:10: ../nowhere.txt (no such file)",
        "docs/page.md:11: gone-too.md (no such file)",
    ]
