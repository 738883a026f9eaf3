"""pytest options for the mutant runner (`-p tests.mutants.pytest_plugin`): select the tests of one
threat, or every other test, and record which test failed first.

`pytest -m` matches marker names only, and every threat test carries the same marker name
(`threat`) with the id as its argument, so the selection is by argument here.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mutants")
    group.addoption("--threat", default=None, help="run only the tests marked threat(ID)")
    group.addoption("--not-threat", default=None, help="run every test except those marked threat(ID)")
    group.addoption(
        "--first-failure-file", default=None, help="write the node id of the first failing test here"
    )


def _threats(item: pytest.Item) -> set[str]:
    return {str(mark.args[0]) for mark in item.iter_markers("threat") if mark.args}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only, other_than = config.getoption("--threat"), config.getoption("--not-threat")
    if only is None and other_than is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marked = _threats(item)
        wanted = (only is None or only in marked) and (other_than is None or other_than not in marked)
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class FirstFailure:
    """Writes the node id of the first failed test (or collection) to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _record(self, what: str) -> None:
        if not self.path.exists():
            self.path.write_text(what + "\n", encoding="utf-8")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self._record(report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._record(f"collection:{report.nodeid or '.'}")


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("--first-failure-file")
    if target:
        config.pluginmanager.register(FirstFailure(Path(target)), "mutants-first-failure")
