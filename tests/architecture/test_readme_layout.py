"""README's "Where things live" is the map a newcomer reads first: it must list every module with its
one-line job, and nothing that does not exist."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.support.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
# A path, then two or more spaces and its job; two spaces of indent per folder level.
_ENTRY = re.compile(r"(?P<indent>(?:  )*)(?P<path>\S+)(?: {2,}(?P<job>\S.*))?")


@dataclass(frozen=True)
class Entry:
    path: str
    job: str


class LayoutError(Exception):
    """The layout block is not in the shape this check reads."""


def parse_layout(text: str) -> list[Entry]:
    """The fenced block between `<!-- layout:start -->` and `<!-- layout:end -->`."""
    found = re.search(r"<!-- layout:start -->\n```\n(.*?)\n```\n<!-- layout:end -->", text, re.DOTALL)
    if found is None:
        raise LayoutError("README.md has no layout block between <!-- layout:start/end --> markers")
    entries: list[Entry] = []
    folders: list[str] = []
    for line in found.group(1).splitlines():
        match = _ENTRY.fullmatch(line)
        if match is None:
            raise LayoutError(f"not `path  job`: {line!r}")
        depth = len(match["indent"]) // 2
        if depth > len(folders):
            raise LayoutError(f"indented deeper than its folder: {line!r}")
        del folders[depth:]
        path = "".join(folders) + match["path"]
        entries.append(Entry(path, match["job"] or ""))
        if path.endswith("/"):
            folders.append(match["path"])
    return entries


def modules_in_tree() -> set[str]:
    """Every module under backend/, but the package markers, which hold nothing."""
    return {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "backend").rglob("*.py")
        if not (path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip())
    }


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_layout(README.read_text(encoding="utf-8"))


def test_the_layout_lists_every_module_of_the_backend(entries: list[Entry]) -> None:
    listed = {entry.path for entry in entries if entry.path.endswith(".py")}
    assert sorted(modules_in_tree() - listed) == [], "add these modules to README's layout"
    assert sorted(listed - modules_in_tree()) == [], "README's layout lists modules that do not exist"


def test_every_module_has_its_one_line_job(entries: list[Entry]) -> None:
    assert [entry.path for entry in entries if entry.path.endswith(".py") and not entry.job] == []


def test_every_listed_path_exists(entries: list[Entry]) -> None:
    assert [entry.path for entry in entries if not (REPO_ROOT / entry.path).exists()] == []


def test_the_parser_reads_nesting_and_refuses_a_malformed_block() -> None:
    block = "<!-- layout:start -->\n```\n{}\n```\n<!-- layout:end -->\n"
    good = "app/  the package\n  api/\n    deps.py  dependencies\n  main.py  the handler\nREADME.md  this"
    assert parse_layout(block.format(good)) == [
        Entry("app/", "the package"),
        Entry("app/api/", ""),
        Entry("app/api/deps.py", "dependencies"),
        Entry("app/main.py", "the handler"),
        Entry("README.md", "this"),
    ]
    with pytest.raises(LayoutError, match="no layout block"):
        parse_layout("no block here")
    with pytest.raises(LayoutError, match="deeper"):
        parse_layout(block.format("app/  x\n      deps.py  y"))
    with pytest.raises(LayoutError, match="not `path  job`"):
        parse_layout(block.format("app/  x\n main.py  odd indent"))


def test_the_backend_modules_are_found() -> None:
    # The tree side of the comparison must not come back empty (which would make the checks above blind).
    assert {"backend/app/main.py", "backend/app/api/errors.py"} <= modules_in_tree()
