"""docs/threat-model.md and the suite must agree, in both directions.

The threats table names, for each threat, the tests (pytest node ids) and Semgrep rules that verify its
mitigation. This module fails when a threat has no verification, when a referenced test, rule or module
does not exist, when a test is marked `@pytest.mark.threat("T-xx")` with an id the table does not have,
or when a marked test (or a rule whose metadata names a threat) is missing from that threat's row.
Tests are found by parsing the source, not by importing it, so a broken module cannot hide a test.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
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


def _is_threat_mark(node: ast.AST) -> bool:
    """`pytest.mark.threat(...)` or `mark.threat(...)` (after `from pytest import mark`)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    named_mark = (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )
    return node.func.attr == "threat" and named_mark


def _threat_ids(nodes: list[ast.expr], where: str) -> list[str]:
    ids = []
    for node in nodes:
        for mark in (n for n in ast.walk(node) if _is_threat_mark(n)):
            assert isinstance(mark, ast.Call)
            args = mark.args
            value = args[0].value if len(args) == 1 and isinstance(args[0], ast.Constant) else None
            if not isinstance(value, str):
                raise ThreatTableError(f"{where}: pytest.mark.threat takes one literal threat id")
            ids.append(value)
    return ids


def _pytestmark(body: list[ast.stmt]) -> list[ast.expr]:
    return [
        stmt.value
        for stmt in body
        if isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets)
    ]


@dataclass(frozen=True)
class Suite:
    nodes: frozenset[str]
    marks: dict[str, frozenset[str]]  # node id -> threat ids


def scan_suite(root: Path = REPO_ROOT) -> Suite:
    nodes: set[str] = set()
    marks: dict[str, frozenset[str]] = {}
    for path in sorted((root / "tests").rglob("test_*.py")):
        module = path.relative_to(root).as_posix()
        if module.startswith(NOT_TESTS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=module)
        module_ids = _threat_ids(_pytestmark(tree.body), module)
        attributed = len(module_ids)
        tests: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, list[str]]] = []
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
                tests.append((f"{module}::{stmt.name}", stmt, module_ids))
            elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
                class_ids = _threat_ids([*stmt.decorator_list, *_pytestmark(stmt.body)], module)
                attributed += len(class_ids)
                for item in stmt.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith(
                        "test"
                    ):
                        tests.append((f"{module}::{stmt.name}::{item.name}", item, module_ids + class_ids))
        for node_id, function, inherited in tests:
            own = _threat_ids(list(function.decorator_list), node_id)
            attributed += len(own)
            nodes.add(node_id)
            if own or inherited:
                marks[node_id] = frozenset(own + inherited)
        # A mark anywhere else (pytest.param(marks=...), a helper) would escape this check: refuse it.
        everywhere = sum(1 for n in ast.walk(tree) if _is_threat_mark(n))
        if everywhere != attributed:
            raise ThreatTableError(
                f"{module}: put pytest.mark.threat on test functions, classes or pytestmark only, "
                "so the threat model's traceability check can see it"
            )
    return Suite(frozenset(nodes), marks)


@pytest.fixture(scope="module")
def suite() -> Suite:
    return scan_suite()


def semgrep_rules() -> dict[str, frozenset[str]] | None:
    """Rule id -> the threats its metadata names; None while the project has no semgrep.yml."""
    if not SEMGREP_RULES.exists():
        return None
    config = yaml.safe_load(SEMGREP_RULES.read_text(encoding="utf-8"))
    return {
        rule["id"]: frozenset((rule.get("metadata") or {}).get("threats") or ())
        for rule in config.get("rules") or ()
    }


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


def test_the_mark_scanner_sees_every_placement(tmp_path: Path) -> None:
    source = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.slow, pytest.mark.threat("T-02")]


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("x", [1, 2])
def test_one(x):
    pass


@mark.threat("T-03")
class TestGroup:
    pytestmark = pytest.mark.threat("T-04")

    def test_two(self):
        pass


def helper():
    pass
"""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(source)
    scanned = scan_suite(tmp_path)
    assert scanned.nodes == {"tests/test_sample.py::test_one", "tests/test_sample.py::TestGroup::test_two"}
    assert scanned.marks == {
        "tests/test_sample.py::test_one": {"T-01", "T-02"},
        "tests/test_sample.py::TestGroup::test_two": {"T-02", "T-03", "T-04"},
    }
    # A mark inside a parametrize decorator belongs to that test; one in a module-level list does not.
    param = 'pytest.param(1, marks=pytest.mark.threat("T-05"))'
    (tests / "test_inline.py").write_text(
        f'import pytest\n\n@pytest.mark.parametrize("x", [{param}])\ndef test_inline(x):\n    pass\n'
    )
    assert scan_suite(tmp_path).marks["tests/test_inline.py::test_inline"] == {"T-05"}
    (tests / "test_hidden.py").write_text(
        f"import pytest\n\nCASES = [{param}]\n\n"
        '@pytest.mark.parametrize("x", CASES)\ndef test_hidden(x):\n    pass\n'
    )
    with pytest.raises(ThreatTableError, match=r"test_hidden\.py"):
        scan_suite(tmp_path)
