"""The reports the pipeline hands GitLab, validated against GitLab's published schemas with findings in
them: GitLab drops a report that does not validate, and shows the error instead of the findings.

The gates run on the planted tree of test_security_gates (real Semgrep, detect-secrets and checkov;
Trivy and Docker replay recorded reports); each report is validated against the schema of the version
it declares, kept in tests/fixtures/gitlab-schemas/ (see its README for the source).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml

from tests.delivery.test_security_gates import (
    JWT_LITERAL_KEY,
    LEAKY_TEMPLATE,
    RECORDED,
    ROOT,
    TOOLS,
    fake_aws_key_pair,
    make_tree,
    run_gates,
    stub,
    summary,
    tool_dir,
    with_lock_file,
)

SCHEMAS = ROOT / "tests" / "fixtures" / "gitlab-schemas"
SECURITY_REPORTS = (
    "gl-sast-report.json",
    "gl-sast-checkov-report.json",
    "gl-secret-detection-report.json",
    "gl-dependency-scanning-report.json",
    "gl-container-scanning-report.json",
)

# Trivy replays the recorded report of the subcommand it is asked for.
TRIVY_STUB = f"""\
[[ $1 == --version ]] && {{ echo "Version: 0.72.0"; exit 0; }}
out=""
prev=""
for arg in "$@"; do
  [[ $prev == --output ]] && out=$arg
  prev=$arg
done
case $1 in
  fs) cp "{RECORDED}/trivy-fs.json" "$out" ;;
  image) cp "{RECORDED}/trivy-image.json" "$out" ;;
esac
exit 1
"""


def _load_converter() -> ModuleType:
    path = ROOT / "scripts" / "gitlab_reports.py"
    spec = importlib.util.spec_from_file_location("gitlab_reports", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gr = _load_converter()


def schema_errors(report: dict[str, Any]) -> list[str]:
    """jsonschema's messages for a security report, against the schema of the version it declares."""
    kind = report["scan"]["type"].replace("_", "-")
    path = SCHEMAS / report["version"] / f"{kind}-report-format.json"
    assert path.is_file(), f"no published schema kept for {kind} {report['version']}: add it (README)"
    validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(report)
    ]


def codequality_errors(issues: Any) -> list[str]:
    schema = json.loads((SCHEMAS / "codequality-report.json").read_text())
    return [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(issues)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every gate run on a tree with something for each to find."""
    base = tmp_path_factory.mktemp("planted")
    tree = with_lock_file(make_tree(base / "repo"))
    app = tree / "backend" / "app"
    (app / "forge.py").write_text(JWT_LITERAL_KEY)
    key_id, key = fake_aws_key_pair()
    (app / "local_settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{key}"\n'
    )
    (tree / "infra" / "template.yaml").write_text(LEAKY_TEMPLATE)
    tools = tool_dir(base / "bin")
    stub(tools, "trivy", TRIVY_STUB)
    stub(tools, "docker", "exit 0\n")

    result = run_gates(tree, tools=tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not" not in result.stderr, result.stderr
    assert {gate["status"] for gate in summary(tree).values()} == {"FAIL"}, result.stdout
    return tree / "reports"


@pytest.mark.slow
@pytest.mark.parametrize("name", SECURITY_REPORTS)
def test_published_report_with_findings_validates_against_gitlab_schema(planted: Path, name: str) -> None:
    report = json.loads((planted / name).read_text())
    assert report["vulnerabilities"], f"{name} holds no finding: nothing would be validated"
    assert schema_errors(report) == []


@pytest.mark.slow
def test_sast_report_names_every_semgrep_finding_with_a_link(planted: Path) -> None:
    report = json.loads((planted / "gl-sast-report.json").read_text())
    primary = {
        v["identifiers"][0]["value"].rsplit(".", 1)[-1]: v["identifiers"][0]
        for v in report["vulnerabilities"]
    }
    assert primary["jwt-hardcoded-secret"]["url"] == "https://cwe.mitre.org/data/definitions/798.html"


@pytest.mark.slow
def test_secret_detection_report_holds_no_secret(planted: Path) -> None:
    text = (planted / "gl-secret-detection-report.json").read_text()
    settings = (planted.parent / "backend" / "app" / "local_settings.py").read_text()
    values = re.findall(r'"([^"]+)"', settings)
    assert len(values) == 2
    assert not any(value in text for value in values)
    report = json.loads(text)
    assert {v["location"]["file"] for v in report["vulnerabilities"]} == {"backend/app/local_settings.py"}
    assert all(
        re.fullmatch(r"[0-9a-f]{40}", v["location"]["commit"]["sha"]) for v in report["vulnerabilities"]
    )


@pytest.mark.slow
def test_code_quality_report_lists_every_gate_finding(planted: Path) -> None:
    issues = json.loads((planted / "gl-code-quality-report.json").read_text())
    assert codequality_errors(issues) == []
    gates = summary(planted.parent)
    assert len(issues) == sum(gate["finding_count"] for gate in gates.values())
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    blocking = sum(gate["blocking_count"] for gate in gates.values())
    assert sum(issue["severity"] == "blocker" for issue in issues) == blocking
    checks = {issue["check_name"] for issue in issues}
    assert {"semgrep/jwt-hardcoded-secret", "checkov/CKV_AWS_53", "trivy/CVE-2024-2961"} <= checks


@pytest.mark.slow
def test_sbom_is_cyclonedx_of_the_lock(planted: Path) -> None:
    # cyclonedx-python-lib (pip-audit's, in the tools venv) validates against CycloneDX's own schema.
    check = (
        "import sys;from cyclonedx.validation.json import JsonStrictValidator;"
        "from cyclonedx.schema import SchemaVersion;"
        "e=JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read());"
        "print(e.data.message if e else 'valid')"
    )
    path = planted / "gl-sbom.cdx.json"
    done = subprocess.run(
        [str(TOOLS / "python"), "-c", check, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "valid", done.stdout + done.stderr
    bom = json.loads(path.read_text())
    assert [(c["name"], c["version"], c["purl"]) for c in bom["components"]] == [
        ("starlette", "0.38.6", "pkg:pypi/starlette@0.38.6")
    ]


def test_every_semgrep_rule_links_the_cwe_it_names_first() -> None:
    # semgrep --gitlab-sast writes metadata.source as the finding's identifier URL, and
    # "not available" without one, which GitLab's schema rejects (an http(s) URL is required).
    rules = yaml.safe_load((ROOT / "semgrep.yml").read_text())["rules"]
    assert rules
    for rule in rules:
        metadata = rule.get("metadata", {})
        source = metadata.get("source", "")
        assert source.startswith("https://"), f"{rule['id']}: metadata.source must be an https URL"
        first_cwe = re.match(r"CWE-(\d+)", metadata["cwe"][0])
        assert first_cwe is not None, rule["id"]
        assert source == f"https://cwe.mitre.org/data/definitions/{first_cwe.group(1)}.html", rule["id"]


# Converters on recorded reports with findings (the tools that cannot run here).


def test_dependency_report_from_pip_audit_validates(tmp_path: Path) -> None:
    lock = with_lock_file(tmp_path) / "requirements" / "app.txt"
    data = json.loads((RECORDED / "pip-audit-vulns.json").read_text())
    report = gr.dependency_scanning(
        "pip-audit",
        data,
        lock=lock,
        lock_name="requirements/app.txt",
        version="2.10.1",
        started="2026-01-01T00:00:00",
    )
    assert schema_errors(report) == []
    (vulnerability,) = report["vulnerabilities"]
    assert [i["value"] for i in vulnerability["identifiers"]] == ["GHSA-f96h-pmfr-66vw", "CVE-2024-47874"]
    assert vulnerability["location"]["dependency"] == {"package": {"name": "starlette"}, "version": "0.38.6"}
    assert vulnerability["solution"] == "Upgrade starlette to 0.40.0"
    assert report["dependency_files"][0]["dependencies"] == [
        {"package": {"name": "starlette"}, "version": "0.38.6"}
    ]


def test_dependency_report_says_when_pip_audit_could_not_look(tmp_path: Path) -> None:
    lock = with_lock_file(tmp_path) / "requirements" / "app.txt"
    data = json.loads((RECORDED / "pip-audit-offline.json").read_text())
    report = gr.dependency_scanning(
        "pip-audit",
        data,
        lock=lock,
        lock_name="requirements/app.txt",
        version="x",
        started="2026-01-01T00:00:00",
    )
    assert schema_errors(report) == []
    assert report["scan"]["status"] == "failure"
    assert "could not audit 27 of 27" in report["scan"]["messages"][0]["value"]


def test_container_report_from_trivy_validates() -> None:
    data = json.loads((RECORDED / "trivy-image.json").read_text())
    report = gr.container_scanning(
        data, image="fastapi-lambda:abc", version="0.72.0", started="2026-01-01T00:00:00"
    )
    assert schema_errors(report) == []
    assert [(v["identifiers"][0]["value"], v["severity"]) for v in report["vulnerabilities"]] == [
        ("CVE-2024-2961", "High"),
        ("CVE-2024-47874", "High"),
    ]
    assert report["vulnerabilities"][0]["location"]["operating_system"] == "amazon 2023"
    assert report["vulnerabilities"][0]["location"]["image"] == "fastapi-lambda:abc"


def test_secret_report_from_gitleaks_findings_validates() -> None:
    gate = {
        "findings": [
            {
                "tool": "gitleaks",
                "rule": "aws-access-token",
                "severity": "ERROR",
                "file": "backend/app/local_settings.py",
                "line": 1,
                "message": "Identified a pattern that may indicate AWS credentials",
                "blocking": True,
            }
        ]
    }
    report = gr.secret_detection(gate, commit="0" * 40, version="8.0.0", started="2026-01-01T00:00:00")
    assert schema_errors(report) == []
    assert report["scan"]["scanner"]["id"] == "gitleaks"


def test_converter_fails_closed_on_a_report_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "trivy.json").write_text("{truncated")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gitlab_reports.py"),
            "container-scanning",
            "--input",
            str(tmp_path / "trivy.json"),
            "--output",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "not valid JSON" in done.stderr
    assert not (tmp_path / "out.json").exists()
