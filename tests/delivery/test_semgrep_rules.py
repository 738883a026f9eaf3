"""semgrep.yml is tested like code.

Each rule has tests/semgrep/<rule-id>.py with lines annotated `# ruleid: <id>` (the next line must
match) and `# ok: <id>` (it must not), run by `semgrep --test`. `--test` pairs a rule file with the
test file of the same stem, so each rule is written to its own <id>.yaml in a temp dir first: the
repository keeps one semgrep.yml. On top of that: every negative case stays quiet under every rule,
the blocking (ERROR) rules are exactly the agreed set, and the project's own code has no ERROR
finding, which is what the SAST gate and the pre-commit hook block on.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.architecture.test_threat_model_traceability import THREAT_MODEL, parse_threats
from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "semgrep.yml"
RULE_TESTS = ROOT / "tests" / "semgrep"

# The rules that block the pipeline. Changing this set is a decision about what may stop a merge.
BLOCKING_RULES = frozenset(
    {
        "jwt-hardcoded-secret",
        "fastapi-debug",
        "framework-debug",
        "jwt-decode-without-verification",
        "jwt-decode-algorithms-not-pinned",
        "boto3-hardcoded-credentials",
        "sql-query-built-from-string",
        "subprocess-shell-with-dynamic-command",
        "cors-wildcard-with-credentials",
        "file-route-without-access-dependency",
    }
)
# Read from the model, so a new threat row is a valid rule threat at once.
THREAT_IDS = frozenset(row.id for row in parse_threats(THREAT_MODEL.read_text(encoding="utf-8")))
MIN_CASES = 3
# What the SAST gate scans, tests/ aside (semgrep skips it by default: positives on purpose).
PROJECT_CODE = ("backend", "scripts", "bench")
# The BOLA rule against the project's own file routes: each must be reported once its dependency goes.
BOLA_RULE = "file-route-without-access-dependency"
FILE_ROUTE_MODULES = ("backend/app/api/files.py", "backend/app/api/shares.py")
_ANNOTATION = re.compile(r"#\s*(ruleid|ok):\s*(?P<ids>[\w-]+(?:\s*,\s*[\w-]+)*)")
# Validates against the rule schema shipped inside semgrep: `semgrep --validate` would fetch
# p/semgrep-rule-lints from the network instead.
_VALIDATE = """
import json, sys
from pathlib import Path
import jsonschema, semgrep, yaml
schema_file = Path(semgrep.__file__).parent / "semgrep_interfaces" / "rule_schema_v1.yaml"
schema = yaml.safe_load(schema_file.read_text())
config = yaml.safe_load(Path(sys.argv[1]).read_text())
errors = jsonschema.Draft7Validator(schema).iter_errors(config)
print(json.dumps([f"{list(error.absolute_path)}: {error.message[:300]}" for error in errors]))
"""


def _load_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load(CONFIG.read_text())["rules"]
    return rules


RULES = {rule["id"]: rule for rule in _load_rules()}


def _by_rule() -> list[Any]:
    return [
        pytest.param(rule_id, marks=pytest.mark.threat(rule["metadata"]["threat"]))
        for rule_id, rule in RULES.items()
    ]


def _semgrep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("semgrep"), *args, "--metrics=off", "--disable-version-check"],
        capture_output=True,
        text=True,
        # Without this, semgrep waits ~100 s on the network before every run.
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0"},
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def _annotations(path: Path) -> dict[str, dict[str, list[int]]]:
    """{rule id: {"ruleid" | "ok": [annotated line numbers]}}; an annotation covers the next line."""
    found: dict[str, dict[str, list[int]]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _ANNOTATION.search(line)
        if match:
            for rule_id in re.split(r"\s*,\s*", match["ids"]):
                found.setdefault(rule_id, {"ruleid": [], "ok": []})[match[1]].append(number + 1)
    return found


@pytest.fixture(scope="module")
def rule_test_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    configs = tmp_path_factory.mktemp("semgrep-rules")
    for rule_id, rule in RULES.items():
        (configs / f"{rule_id}.yaml").write_text(yaml.safe_dump({"rules": [rule]}, sort_keys=False))
    result = _semgrep("--test", "--json", "--config", str(configs), str(RULE_TESTS))
    assert result.stdout.startswith("{"), result.stdout[-2000:] + result.stderr[-2000:]
    output: dict[str, Any] = json.loads(result.stdout)
    assert output["config_with_errors"] == [], output["config_with_errors"]
    assert output["config_missing_tests"] == [], output["config_missing_tests"]
    checks: dict[str, Any] = {}
    for per_config in output["results"].values():
        checks.update(per_config["checks"])
    return checks


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    """One scan with semgrep.yml of the project's code and of the rule tests (explicit files are
    scanned although semgrep ignores tests/ by default)."""
    rule_tests = sorted(str(path.relative_to(ROOT)) for path in RULE_TESTS.glob("*.py"))
    result = _semgrep("scan", "--json", "--config", str(CONFIG), *PROJECT_CODE, *rule_tests)
    assert result.returncode == 0, result.stderr[-2000:]
    output: dict[str, Any] = json.loads(result.stdout)
    assert output["errors"] == []
    return output


def _in_rule_tests(finding: dict[str, Any]) -> bool:
    return Path(finding["path"]).parent == RULE_TESTS.relative_to(ROOT)


def test_config_matches_semgreps_rule_schema() -> None:
    result = subprocess.run(
        [tool("python"), "-c", _VALIDATE, str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("rule_id", _by_rule())
def test_rule_has_metadata(rule_id: str) -> None:
    rule = RULES[rule_id]
    metadata = rule["metadata"]
    assert rule["languages"] == ["python"]
    assert rule["message"].strip()
    assert metadata["category"] == "security"
    assert metadata["threat"] in THREAT_IDS
    assert metadata["cwe"]
    assert all(re.fullmatch(r"CWE-\d+: .+", cwe) for cwe in metadata["cwe"]), metadata["cwe"]
    assert metadata["owasp"]
    assert all(re.fullmatch(r"(A\d\d|API\d+):20\d\d - .+", item) for item in metadata["owasp"])
    assert metadata["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert metadata["references"]
    assert all(reference.startswith("https://") for reference in metadata["references"])


def test_blocking_rules_are_the_agreed_set() -> None:
    severities = {rule_id: rule["severity"] for rule_id, rule in RULES.items()}
    assert set(severities.values()) <= {"ERROR", "WARNING"}
    assert {rule_id for rule_id, severity in severities.items() if severity == "ERROR"} == BLOCKING_RULES
    # Only a rule shown to be high-confidence may block.
    assert {RULES[rule_id]["metadata"]["confidence"] for rule_id in BLOCKING_RULES} == {"HIGH"}


def test_every_rule_test_file_belongs_to_a_rule() -> None:
    assert {path.stem for path in RULE_TESTS.glob("*.py")} == set(RULES)
    assert not [path.name for path in RULE_TESTS.iterdir() if path.suffix != ".py"]


@pytest.mark.parametrize("rule_id", _by_rule())
def test_rule_has_enough_cases(rule_id: str) -> None:
    annotations = _annotations(RULE_TESTS / f"{rule_id}.py")
    # semgrep --test runs one rule per file: an annotation for another rule would be a mismatch.
    assert set(annotations) == {rule_id}
    assert len(annotations[rule_id]["ruleid"]) >= MIN_CASES
    assert len(annotations[rule_id]["ok"]) >= MIN_CASES


def test_every_rule_matches_exactly_its_positive_cases(rule_test_run: dict[str, Any]) -> None:
    # One test for all rules: a single `semgrep --test` run, whichever xdist worker gets it.
    assert set(rule_test_run) == set(RULES)
    wrong = {}
    for rule_id, check in rule_test_run.items():
        [matches] = check["matches"].values()
        # semgrep read the annotations this module counts, and reported exactly those lines.
        expected = sorted(_annotations(RULE_TESTS / f"{rule_id}.py")[rule_id]["ruleid"])
        if check["errors"] or not expected == matches["expected_lines"] == matches["reported_lines"]:
            wrong[rule_id] = {**matches, "errors": check["errors"]}
    assert wrong == {}


def test_no_rule_fires_on_a_negative_case(scan: dict[str, Any]) -> None:
    # The negatives are the kind of code this project contains: all rules must stay quiet on them.
    negatives = {
        (path.name, line)
        for path in RULE_TESTS.glob("*.py")
        for lines in _annotations(path).values()
        for line in lines["ok"]
    }
    findings = [finding for finding in scan["results"] if _in_rule_tests(finding)]
    fired = [
        f"{Path(finding['path']).name}:{finding['start']['line']} {finding['check_id']}"
        for finding in findings
        if (Path(finding["path"]).name, finding["start"]["line"]) in negatives
    ]
    assert fired == []
    # The scan did read the rule tests: every rule found its own positive cases.
    own = {Path(f["path"]).stem for f in findings if f["check_id"] == Path(f["path"]).stem}
    assert own == set(RULES)


def test_project_code_has_no_blocking_finding(scan: dict[str, Any]) -> None:
    assert any(path.startswith("backend/app/") for path in scan["paths"]["scanned"])
    blocking = [
        f"{finding['path']}:{finding['start']['line']} {finding['check_id']}"
        for finding in scan["results"]
        if not _in_rule_tests(finding) and finding["extra"]["severity"] == "ERROR"
    ]
    assert blocking == []


def _file_route_lines(source: str) -> set[int]:
    """The first decorator line of each route whose path (first argument) carries {file_id}."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                    and "{file_id}" in str(decorator.args[0].value)
                ):
                    lines.add(node.decorator_list[0].lineno)
    return lines


@pytest.mark.threat("T-07")
def test_bola_rule_reports_each_real_file_route_without_its_dependency(tmp_path: Path) -> None:
    # The regression the rule exists for, made on the real routes: the handler takes the bare id
    # (`file_id: FileId`) instead of the record the ReadableFile / OwnedFile dependency checked.
    config = tmp_path / f"{BOLA_RULE}.yaml"
    config.write_text(yaml.safe_dump({"rules": [RULES[BOLA_RULE]]}, sort_keys=False))
    expected, targets = set(), []
    for module in FILE_ROUTE_MODULES:
        source = (ROOT / module).read_text()
        regressed = re.sub(r":\s*(ReadableFile|OwnedFile)\b", ": FileId", source)
        assert regressed != source, f"{module} no longer uses ReadableFile / OwnedFile"
        target = tmp_path / Path(module).name
        target.write_text(regressed)
        targets.append(str(target))
        expected |= {(target.name, line) for line in _file_route_lines(source)}
    result = _semgrep("scan", "--json", "--config", str(config), *targets)
    assert result.returncode == 0, result.stderr[-2000:]
    reported = {(Path(f["path"]).name, f["start"]["line"]) for f in json.loads(result.stdout)["results"]}
    # Every file route of the project (read, download, delete, share, list and revoke shares).
    assert len(expected) >= 6
    assert reported == expected
