"""docs/threat-model.md and the suite must agree, in both directions.

The threats table names, for each threat, the tests (pytest node ids) and Semgrep rules that verify its
mitigation. This module fails when a threat has no verification, when a referenced test, rule or module
does not exist, when a test is marked `@pytest.mark.threat("T-xx")` with an id the table does not have,
or when a marked test (or a rule whose metadata names a threat) is missing from that threat's row.
Test node ids come from parsing the source; threat marks from the imported modules, as pytest sees
them, so marks computed at import time (one `pytest.param` per Semgrep rule) count too.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
THREAT_MODEL = REPO_ROOT / "docs" / "threat-model.md"
SEMGREP_RULES = REPO_ROOT / "semgrep.yml"
# Not test modules: Semgrep rule fixtures and planted trees for the security-gate tests.
NOT_TESTS = ("tests/semgrep/", "tests/fixtures/")
COLUMNS = ["Id", "Threat", "Mitigation", "Where", "Verification", "Residual risk"]
THREAT_ID = re.compile(r"T-\d{2}")
NODE_ID = re.compile(r"tests/[\w/]+\.py(?:::\w+)+(?:\[[^\]`]*\])?")
RULE_REF = re.compile(r"rule:([\w.-]+)")
PATH_LIKE = re.compile(r"[\w.-]+(?:/[\w.-]*)+|[\w.-]+\.(?:py|ya?ml|sh|toml|txt|json|md)|Dockerfile|Makefile")


class ThreatTableError(Exception):
    """The threat model or a test module is not in a shape this check can read."""


@dataclass(frozen=True)
class Row:
    id: str
    threat: str
    mitigation: str
    where: str
    verification: str
    residual: str

    @property
    def tests(self) -> list[str]:
        return [ref for ref in _code_spans(self.verification) if not ref.startswith("rule:")]

    @property
    def rules(self) -> list[str]:
        return [m.group(1) for ref in _code_spans(self.verification) if (m := RULE_REF.fullmatch(ref))]


def _code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _split(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_threats(text: str) -> list[Row]:
    """The one table whose header is COLUMNS: one row per threat, cells separated by `|`."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("|") and _split(line) == COLUMNS]
    if len(starts) != 1:
        raise ThreatTableError(f"expected exactly one threats table with columns {COLUMNS}")
    body = lines[starts[0] + 1 :]
    if not body or not re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", body[0].strip()):
        raise ThreatTableError("the threats table has no separator row")
    rows = []
    for line in body[1:]:
        if not line.startswith("|"):
            break
        cells = _split(line)
        if len(cells) != len(COLUMNS):
            raise ThreatTableError(f"row has {len(cells)} cells, not {len(COLUMNS)}: {line[:80]}")
        rows.append(Row(*cells))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse_threats(THREAT_MODEL.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_id(rows: list[Row]) -> dict[str, Row]:
    return {row.id: row for row in rows}


# -- what the test suite contains ----------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    nodes: frozenset[str]
    marks: dict[str, frozenset[str]]  # node id -> threat ids


def _threats(marks: Iterable[object]) -> set[str]:
    """Threat ids among marks, including those on pytest.param cases of a parametrize mark."""
    found: set[str] = set()
    for item in marks:
        mark = getattr(item, "mark", item)  # a MarkDecorator wraps its Mark
        if not isinstance(mark, pytest.Mark):
            continue
        if mark.name == "threat":
            found.add(str(mark.args[0]))
        elif mark.name == "parametrize" and len(mark.args) > 1:
            for case in mark.args[1]:
                found |= _threats(getattr(case, "marks", ()))
    return found


def _marks_of(obj: object) -> list[object]:
    marks = getattr(obj, "pytestmark", [])
    return list(marks) if isinstance(marks, list | tuple) else [marks]


def _test_functions(tree: ast.Module) -> Iterator[tuple[str, ...]]:
    """Qualified names of the test functions pytest would collect: test_* and Test*.test_*."""
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            yield (stmt.name,)
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    yield (stmt.name, item.name)


def _imported(path: Path, dotted: str) -> ModuleType:
    # Reuse the module pytest already collected (tests/ is no package: it imports by file name), so
    # no test module runs twice; otherwise import it as a package module.
    for name in (path.stem, dotted):
        module = sys.modules.get(name)
        if module is not None and Path(getattr(module, "__file__", None) or "").resolve() == path.resolve():
            return module
    return importlib.import_module(dotted)


def scan_suite(root: Path = REPO_ROOT, tests_dir: str = "tests") -> Suite:
    """Node ids from the source (so a test cannot hide behind an import error), and threat marks from
    the imported module, as pytest sees them: decorators, class and module `pytestmark`, and marks
    computed at import time (such as one pytest.param per Semgrep rule)."""
    nodes: set[str] = set()
    marks: dict[str, frozenset[str]] = {}
    for path in sorted((root / tests_dir).rglob("test_*.py")):
        module_path = path.relative_to(root).as_posix()
        if module_path.startswith(NOT_TESTS):
            continue
        module = _imported(path, module_path.removesuffix(".py").replace("/", "."))
        module_threats = _threats(_marks_of(module))
        for qualname in _test_functions(ast.parse(path.read_text(encoding="utf-8"), filename=module_path)):
            node_id = "::".join((module_path, *qualname))
            nodes.add(node_id)
            owner: object = module
            threats = set(module_threats)
            for name in qualname:
                owner = getattr(owner, name)
                threats |= _threats(_marks_of(owner))
            if threats:
                marks[node_id] = frozenset(threats)
    return Suite(frozenset(nodes), marks)


@pytest.fixture(scope="module")
def suite() -> Suite:
    return scan_suite()


def _rule_threats(metadata: dict[str, object]) -> frozenset[str]:
    # One threat (`threat: T-05`) or several (`threats: [T-05, T-15]`).
    single, several = metadata.get("threat"), metadata.get("threats")
    ids = [single] if isinstance(single, str) else []
    ids += [str(t) for t in several] if isinstance(several, list) else []
    return frozenset(ids)


def semgrep_rules() -> dict[str, frozenset[str]] | None:
    """Rule id -> the threats its metadata names; None while the project has no semgrep.yml."""
    if not SEMGREP_RULES.exists():
        return None
    config = yaml.safe_load(SEMGREP_RULES.read_text(encoding="utf-8"))
    return {rule["id"]: _rule_threats(rule.get("metadata") or {}) for rule in config.get("rules") or ()}


# -- the checks ----------------------------------------------------------------------------------------


def _expect_none(problems: list[str], message: str) -> None:
    # One per line and untruncated, so the fix can be pasted straight into the table.
    if problems:
        pytest.fail(f"{message}:\n" + "\n".join(problems), pytrace=False)


def test_threat_ids_are_unique_well_formed_and_in_order(rows: list[Row]) -> None:
    ids = [row.id for row in rows]
    assert all(THREAT_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids), "duplicate threat ids"
    assert ids == sorted(ids)
    assert ids == [f"T-{n:02d}" for n in range(1, len(ids) + 1)], "ids are stable: never renumber, append"


def test_every_threat_has_a_mitigation_a_place_a_verification_and_a_residual_risk(rows: list[Row]) -> None:
    for row in rows:
        assert all((row.threat, row.mitigation, row.where, row.residual)), row.id
        assert row.tests or row.rules, f"{row.id} has no verification (a test node id or a rule:<id>)"


def test_verification_cells_hold_only_test_node_ids_and_rule_ids(rows: list[Row]) -> None:
    for row in rows:
        for ref in _code_spans(row.verification):
            assert NODE_ID.fullmatch(ref) or RULE_REF.fullmatch(ref), (
                f"{row.id}: not a node id or rule: {ref}"
            )


def test_every_referenced_test_exists(rows: list[Row], suite: Suite) -> None:
    missing = [
        f"{row.id}: {ref}" for row in rows for ref in row.tests if ref.split("[", 1)[0] not in suite.nodes
    ]
    _expect_none(missing, "the threat model references tests that do not exist")


def test_every_referenced_rule_exists_and_names_the_threat(rows: list[Row]) -> None:
    rules = semgrep_rules()
    if rules is None:
        pytest.skip("semgrep.yml does not exist yet")
    missing = [f"{row.id}: {rule}" for row in rows for rule in row.rules if rule not in rules]
    _expect_none(missing, "the threat model references Semgrep rules that semgrep.yml does not define")
    unclaimed = [f"{row.id}: {rule}" for row in rows for rule in row.rules if row.id not in rules[rule]]
    _expect_none(unclaimed, "a rule listed under a threat must name that threat in metadata.threats")


def test_every_rule_is_listed_under_each_threat_it_names(by_id: dict[str, Row]) -> None:
    rules = semgrep_rules()
    if rules is None:
        pytest.skip("semgrep.yml does not exist yet")
    unknown = [f"{rule}: {t}" for rule, threats in rules.items() for t in threats if t not in by_id]
    _expect_none(unknown, "semgrep.yml names threat ids the threat model does not have")
    unlisted = [
        f"{t}: `rule:{rule}`"
        for rule, threats in rules.items()
        for t in sorted(threats)
        if rule not in by_id[t].rules
    ]
    _expect_none(unlisted, "add these rules to the Verification cells of docs/threat-model.md")


def test_every_threat_mark_names_a_threat_of_the_model(by_id: dict[str, Row], suite: Suite) -> None:
    unknown = sorted(f"{node}: {t}" for node, ids in suite.marks.items() for t in ids if t not in by_id)
    _expect_none(unknown, "tests are marked with threat ids the threat model does not have")


def test_every_marked_test_is_listed_under_its_threat(by_id: dict[str, Row], suite: Suite) -> None:
    listed: dict[str, set[str]] = defaultdict(set)
    for row in by_id.values():
        listed[row.id].update(ref.split("[", 1)[0] for ref in row.tests)
    unlisted = sorted(
        f"{t}: `{node}`"
        for node, ids in suite.marks.items()
        for t in ids
        if t in by_id and node not in listed[t]
    )
    _expect_none(unlisted, "add these tests to the Verification cells of docs/threat-model.md")


def test_every_module_named_under_where_exists(rows: list[Row]) -> None:
    missing = []
    for row in rows:
        for span in _code_spans(row.where):
            path = span.split("::", 1)[0]
            if PATH_LIKE.fullmatch(path) and not (REPO_ROOT / path).exists():
                missing.append(f"{row.id}: {span}")
    _expect_none(missing, "the threat model points at modules that do not exist")


def test_the_parser_refuses_a_malformed_table() -> None:
    """The checks above are only as good as the parser: make sure it cannot silently read nothing."""
    header = "| " + " | ".join(COLUMNS) + " |\n|---|---|---|---|---|---|\n"
    good = header + "| T-01 | a | b | `x.py` | `rule:r` | c |\n"
    assert parse_threats(good) == [Row("T-01", "a", "b", "`x.py`", "`rule:r`", "c")]
    with pytest.raises(ThreatTableError, match="cells"):
        parse_threats(header + "| T-01 | a | b | c |\n")
    with pytest.raises(ThreatTableError, match="exactly one"):
        parse_threats("no table here\n")
    with pytest.raises(ThreatTableError, match="exactly one"):
        parse_threats(good + "\n" + good)


def test_the_mark_scanner_sees_every_placement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.slow, pytest.mark.threat("T-02")]
CASES = [pytest.param(1, marks=pytest.mark.threat("T-05")), 2]


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("x", [1, 2])
def test_one(x):
    pass


@pytest.mark.parametrize("x", CASES)
def test_computed(x):
    pass


def test_unmarked():
    pass


@mark.threat("T-03")
class TestGroup:
    pytestmark = pytest.mark.threat("T-04")

    def test_two(self):
        pass


def helper():
    pass
"""
    package = f"h4_traceability_sample_{tmp_path.name}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "test_sample.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        scanned = scan_suite(tmp_path, package)
    finally:
        for name in [name for name in sys.modules if name.startswith(package)]:
            del sys.modules[name]
    module = f"{package}/test_sample.py"
    assert scanned.nodes == {
        f"{module}::test_one",
        f"{module}::test_computed",
        f"{module}::test_unmarked",
        f"{module}::TestGroup::test_two",
    }
    assert scanned.marks == {
        f"{module}::test_one": {"T-01", "T-02"},
        f"{module}::test_computed": {"T-02", "T-05"},
        f"{module}::test_unmarked": {"T-02"},
        f"{module}::TestGroup::test_two": {"T-02", "T-03", "T-04"},
    }
