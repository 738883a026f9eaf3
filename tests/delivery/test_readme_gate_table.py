"""README's gate table says what `./security-test.sh --help` and the code do, so it cannot drift.

Each gate's tools are read three ways: the `find_tool` calls of its function in security-test.sh (what
runs), its line in `--help`, and its row in README.md; the three must name the same tools. What the
wording claims about order and thresholds is checked against the code's behaviour.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from types import ModuleType

import pytest

from tests.support.paths import REPO_ROOT as ROOT


def _report_module() -> ModuleType:
    # By path, as the script runs: scripts/ is not a package.
    if "security_report" in sys.modules:
        return sys.modules["security_report"]
    spec = importlib.util.spec_from_file_location("security_report", ROOT / "scripts" / "security_report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


sr = _report_module()

SCRIPT = ROOT / "security-test.sh"
TOOLS = ("semgrep", "gitleaks", "detect-secrets", "trivy", "pip-audit", "checkov", "hadolint", "docker")


def _tools_named(text: str) -> set[str]:
    return {tool for tool in TOOLS if re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", text, re.I)}


def _gate_functions() -> dict[str, str]:
    source = SCRIPT.read_text(encoding="utf-8")
    bodies = re.findall(r"^gate_(\w+)\(\) \{\n(.*?)^\}", source, flags=re.MULTILINE | re.DOTALL)
    return dict(bodies)


def _help_lines() -> dict[str, str]:
    done = subprocess.run(
        ["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    gates: dict[str, str] = {}
    current = None
    for line in done.stdout.splitlines():
        match = re.match(r"^  (\w+)\s{2,}(.*)$", line)
        if match and match[1] in sr.GATES:
            current = match[1]
            gates[current] = match[2]
        elif current and re.match(r"^ {6,}\S", line):
            gates[current] += " " + line.strip()
        else:
            current = None
    return gates


def _readme_rows() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| Gate | Tool | Blocks on |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


CODE = _gate_functions()
HELP = _help_lines()
README = _readme_rows()


def test_every_gate_is_in_the_code_the_help_and_the_readme() -> None:
    assert set(CODE) == set(HELP) == set(README) == set(sr.GATES)


@pytest.mark.parametrize("gate", sr.GATES)
def test_each_gate_names_the_tools_it_runs(gate: str) -> None:
    runs = set(re.findall(r"find_tool ([\w-]+)", CODE[gate]))
    assert runs, gate
    assert _tools_named(HELP[gate]) == runs, f"--help, {gate}: {HELP[gate]}"
    assert _tools_named(README[gate][0]) == runs, f"README, {gate}: {README[gate][0]}"


def test_gitleaks_runs_instead_of_detect_secrets() -> None:
    # The code: the gitleaks branch returns before detect-secrets is looked up.
    body = CODE["secrets"]
    gitleaks_branch = body[body.index("find_tool gitleaks") : body.index("find_tool detect-secrets")]
    assert "return" in gitleaks_branch
    for text in (HELP["secrets"], README["secrets"][0]):
        assert "instead of detect-secrets" in text, text
    assert "when installed" not in README["secrets"][0].split("gitleaks", 1)[0]


def test_the_dependency_threshold_is_what_the_readme_says() -> None:
    # HIGH/CRITICAL block, a known lower severity does not, an unknown one does (fail closed).
    assert [sr.blocks_at_threshold(s) for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW")] == [
        True,
        True,
        False,
        False,
    ]
    assert sr.blocks_at_threshold("UNKNOWN")
    blocks_on = README["dependencies"][1]
    assert "HIGH/CRITICAL" in blocks_on
    assert "unknown severity blocks" in blocks_on
    assert "pip-audit reports no severity" in blocks_on
    assert "unknown severity" in HELP["dependencies"]
    # And so pip-audit's real output (no severity field) blocks on every finding.
    vuln = {"id": "GHSA-0000-0000-0000", "fix_versions": ["2.0"], "description": "d"}
    unrated = sr.parse_pip_audit({"dependencies": [{"name": "x", "version": "1", "vulns": [vuln]}]})
    rated = sr.parse_pip_audit(
        {"dependencies": [{"name": "x", "version": "1", "vulns": [{**vuln, "severity": "moderate"}]}]}
    )
    assert [(f.severity, f.blocking) for f in unrated.findings] == [("UNKNOWN", True)]
    assert [(f.severity, f.blocking) for f in rated.findings] == [("MODERATE", False)]


def test_make_test_says_it_builds_the_tools_environment() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^pytest: venv tools$", makefile, flags=re.MULTILINE)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if "make test    #" in line)
    assert ".venv-tools" in line
    assert "same set-up" not in line
