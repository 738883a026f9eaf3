"""security-test.sh on a small planted tree: every gate that can run here fails on what it guards.

The tree is tests/fixtures/security/tree plus this repository's own security-test.sh, semgrep.yml,
scripts/security_report.py, threat_view.py, gitlab_reports.py and .secrets.baseline settings, in a fresh git
repository. Scanners that cannot run here (Trivy, Docker, gitleaks) are replaced by stubs that replay
recorded reports, which tests the script's wiring; the parsers are tested on those recorded reports
directly.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"  # a venv of its own (make tools)
FIXTURES = ROOT / "tests" / "fixtures" / "security"
RECORDED = FIXTURES / "recorded"
# No .venv-tools, no docker, no trivy: every tool the script uses comes from TOOLS_BIN.
SYSTEM_PATH = "/usr/bin:/bin"
REAL_TOOLS = ("semgrep", "detect-secrets", "checkov", "hadolint", "pip-audit")


def _load_report_module() -> ModuleType:
    # By path: scripts/ is not a package, and the module must stay runnable on its own.
    path = ROOT / "scripts" / "security_report.py"
    spec = importlib.util.spec_from_file_location("security_report", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


sr = _load_report_module()

LEAKY_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: The fixture bucket after a change lost its public access block.
Resources:
  Files:
    Type: AWS::S3::Bucket
    # checkov:skip=CKV_AWS_18:Access logs go to the organisation's central logging bucket
    # checkov:skip=CKV_AWS_21
    Properties:
      VersioningConfiguration:
        Status: Enabled
"""


def git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=gate-tests", "-c", "user.email=gate-tests@example.invalid"]
    subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_tree(dest: Path) -> Path:
    shutil.copytree(FIXTURES / "tree", dest)
    shutil.copy2(ROOT / "security-test.sh", dest)
    shutil.copy2(ROOT / "semgrep.yml", dest)
    (dest / "scripts").mkdir()
    for script in ("security_report.py", "threat_view.py", "gitlab_reports.py"):
        shutil.copy2(ROOT / "scripts" / script, dest / "scripts")
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())
    # The baseline's plugins and exclusions are under test, with the audited entries that still
    # apply to the copied files (semgrep.yml names emulator dummy keys).
    baseline["results"] = {
        name: entries for name, entries in baseline["results"].items() if (dest / name).is_file()
    }
    (dest / ".secrets.baseline").write_text(json.dumps(baseline, indent=2) + "\n")
    (dest / ".gitignore").write_text("reports/\n")
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "clean tree")
    return dest


def tool_dir(dest: Path, tools: tuple[str, ...] = REAL_TOOLS) -> Path:
    """A TOOLS_BIN holding the named real tools and the interpreter, and nothing else."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("python3", *tools):
        (dest / name).symlink_to(CHECKOV if name == "checkov" else TOOLS / name)
    return dest


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def run_gates(
    tree: Path, *args: str, tools: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": SYSTEM_PATH,
        "HOME": os.environ.get("HOME", str(tree)),
        "LANG": "C.UTF-8",
        "TOOLS_BIN": str(tools),
        **(extra_env or {}),
    }
    return subprocess.run(
        [str(tree / "security-test.sh"), *args],
        cwd=tree / "backend",  # the script must find the repository root by itself
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary(tree: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((tree / "reports" / "summary.json").read_text())
    return {gate["gate"]: gate for gate in data["gates"]}


def rules(gate: dict[str, Any], *, blocking: bool = True) -> set[str]:
    return {f["rule"] for f in gate["findings"] if f["blocking"] == blocking}


def fake_aws_key_pair() -> tuple[str, str]:
    # Built at run time so that this file holds nothing a secret scanner would flag.
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    return key_id, base64.b64encode(secrets.token_bytes(30)).decode()


@pytest.fixture(scope="module")
def real_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    real = [CHECKOV if name == "checkov" else TOOLS / name for name in ("python3", *REAL_TOOLS)]
    missing = [str(path) for path in real if not path.exists()]
    if missing:
        pytest.fail(f"run `make tools` first; missing: {missing}")
    return tool_dir(tmp_path_factory.mktemp("tools") / "bin")


@pytest.fixture(scope="module")
def clean_run(
    tmp_path_factory: pytest.TempPathFactory, real_tools: Path
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tree = make_tree(tmp_path_factory.mktemp("clean") / "repo")
    return tree, run_gates(tree, tools=real_tools)


@pytest.mark.slow
def test_clean_tree_passes_every_gate_that_can_run(
    clean_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tree, result = clean_run
    assert result.returncode == 0, result.stdout + result.stderr
    gates = summary(tree)
    assert list(gates) == list(sr.GATES)
    assert {g: gates[g]["status"] for g in ("sast", "secrets", "config")} == dict.fromkeys(
        ("sast", "secrets", "config"), "PASS"
    )
    assert gates["dependencies"]["status"] == "SKIPPED"
    assert "no requirements/app.txt" in gates["dependencies"]["note"]
    assert gates["container"]["status"] == "SKIPPED"
    assert "docker not installed" in gates["container"]["note"]
    # The reasoned inline skip (CKV_AWS_18) in the clean template is accepted.
    assert gates["config"]["finding_count"] == 0


@pytest.mark.slow
def test_clean_run_prints_one_live_line_per_gate_then_a_summary(
    clean_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = clean_run
    head, _, tail = result.stdout.partition("\nSummary\n")
    lines = head.splitlines()[1:]
    assert all(re.search(r" \d+\.\ds( |$)", line) for line in lines), lines
    assert [line.split()[:2] for line in lines] == [
        ["sast", "PASS"],
        ["secrets", "PASS"],
        ["dependencies", "SKIPPED"],
        ["config", "PASS"],
        ["container", "SKIPPED"],
    ]
    assert "Result: PASS" in tail


@pytest.mark.slow
def test_clean_run_writes_every_report(
    clean_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tree, _ = clean_run
    reports = tree / "reports"
    sarif = json.loads((reports / "semgrep.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    gitlab = json.loads((reports / "gl-sast-report.json").read_text())
    assert gitlab["scan"]["type"] == "sast"
    for name in ("semgrep.json", "detect-secrets.json", "checkov.json", "hadolint.json"):
        json.loads((reports / name).read_text())
    assert summary(tree)["sast"]["reports"] == [
        "reports/semgrep.json",
        "reports/semgrep.sarif",
        "reports/gl-sast-report.json",
    ]
    page = (reports / "security-report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert all(f'id="{gate}"' in page for gate in sr.GATES)
    # The committed baseline is scanned with a copy, never rewritten.
    git(tree, "diff", "--exit-code", "--", ".secrets.baseline")


JWT_LITERAL_KEY = """\
import jwt


def forge(sub: str) -> str:
    return jwt.encode({"sub": sub}, "changeme-signing-key", algorithm="HS256")
"""
BOTO3_LITERAL_KEYS = """\
import boto3

s3 = boto3.client("s3", aws_access_key_id="{key_id}", aws_secret_access_key="{key}")
"""


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-17")
def test_sast_blocks_an_error_rule_and_names_it(tmp_path: Path, real_tools: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    key_id, key = fake_aws_key_pair()
    app = tree / "backend" / "app"
    (app / "forge.py").write_text(JWT_LITERAL_KEY)
    (app / "storage.py").write_text(BOTO3_LITERAL_KEYS.format(key_id=key_id, key=key))

    result = run_gates(tree, "--only", "sast", tools=real_tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "jwt-hardcoded-secret backend/app/forge.py:5" in result.stdout
    assert "boto3-hardcoded-credentials backend/app/storage.py:3" in result.stdout
    gates = summary(tree)
    assert list(gates) == ["sast"]  # --only runs one gate
    assert gates["sast"]["status"] == "FAIL"
    assert {"jwt-hardcoded-secret", "boto3-hardcoded-credentials"} <= rules(gates["sast"])


@pytest.mark.slow
@pytest.mark.threat("T-05")
def test_baseline_commit_reports_only_new_findings(tmp_path: Path, real_tools: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    app = tree / "backend" / "app"
    (app / "old.py").write_text(JWT_LITERAL_KEY)
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "a finding the merge request's base already has")
    (app / "new.py").write_text(JWT_LITERAL_KEY)
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "the merge request adds one")

    result = run_gates(tree, "--only", "sast", "--baseline-commit", "HEAD~1", tools=real_tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "only findings new since HEAD~1 block" in result.stdout
    sast = summary(tree)["sast"]
    assert {(f["file"], f["blocking"]) for f in sast["findings"] if f["rule"] == "jwt-hardcoded-secret"} == {
        ("backend/app/new.py", True),
        ("backend/app/old.py", False),
    }
    # GitLab gets the full report: it compares it with the target branch's and marks the rest fixed.
    for name in ("gl-sast-report.json", "semgrep.sarif"):
        report = (tree / "reports" / name).read_text()
        assert "backend/app/old.py" in report, name
        assert "backend/app/new.py" in report, name


@pytest.mark.slow
def test_baseline_commit_passes_when_only_old_findings_remain(tmp_path: Path, real_tools: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    (tree / "backend" / "app" / "old.py").write_text(JWT_LITERAL_KEY)
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "a finding the merge request's base already has")
    (tree / "backend" / "app" / "unrelated.py").write_text("VALUE = 1\n")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "the merge request adds nothing to find")

    result = run_gates(tree, "--only", "sast", "--baseline-commit", "HEAD~1", tools=real_tools)

    assert result.returncode == 0, result.stdout + result.stderr
    sast = summary(tree)["sast"]
    assert (sast["status"], sast["finding_count"], sast["blocking_count"]) == ("PASS", 1, 0)


@pytest.mark.threat("T-15")
@pytest.mark.threat("T-17")
def test_secrets_gate_blocks_a_planted_aws_key_pair(tmp_path: Path, real_tools: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    key_id, key = fake_aws_key_pair()
    (tree / "backend" / "app" / "local_settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{key}"\n'
    )

    result = run_gates(tree, "--only", "secrets", tools=real_tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "AWS Access Key backend/app/local_settings.py:1" in result.stdout
    secrets_gate = summary(tree)["secrets"]
    assert secrets_gate["status"] == "FAIL"
    assert {(f["rule"], f["line"]) for f in secrets_gate["findings"]} >= {
        ("AWS Access Key", 1),
        ("AWS Access Key", 2),
    }


@pytest.mark.threat("T-15")
def test_secrets_gate_accepts_an_audited_false_positive_only(tmp_path: Path, real_tools: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    keyword = "password".upper()  # spelled out, this line would be a finding in this repo
    (tree / "backend" / "app" / "docs_example.py").write_text(
        f'ADMIN_{keyword} = "correct horse battery staple"\n'
    )
    # What a developer does: update the baseline (on a copy here), then audit the entry.
    shutil.copy2(tree / ".secrets.baseline", tmp_path / "candidate.json")
    scan = ["scan", "-n", "--baseline", str(tmp_path / "candidate.json")]
    subprocess.run(
        [str(TOOLS / "detect-secrets"), *scan, "backend/app/docs_example.py"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    candidate = json.loads((tmp_path / "candidate.json").read_text())
    assert candidate["results"], "detect-secrets no longer flags the example"
    (tree / ".secrets.baseline").write_text(json.dumps(candidate))

    unaudited = run_gates(tree, "--only", "secrets", tools=real_tools)
    assert unaudited.returncode == 1
    assert "never audited" in unaudited.stdout

    for entry in candidate["results"]["backend/app/docs_example.py"]:
        entry["is_secret"] = False
    (tree / ".secrets.baseline").write_text(json.dumps(candidate))
    audited = run_gates(tree, "--only", "secrets", tools=real_tools)
    assert audited.returncode == 0, audited.stdout + audited.stderr


@pytest.mark.slow
@pytest.mark.threat("T-18")
def test_config_gate_blocks_a_checkov_failure_and_an_unreasoned_skip(
    tmp_path: Path, real_tools: Path
) -> None:
    tree = make_tree(tmp_path / "repo")
    (tree / "infra" / "template.yaml").write_text(LEAKY_TEMPLATE)

    result = run_gates(tree, "--only", "config", tools=real_tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "CKV_AWS_53 infra/template.yaml:" in result.stdout
    config = summary(tree)["config"]
    assert config["status"] == "FAIL"
    assert {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_21"} <= rules(config)
    unreasoned = [f for f in config["findings"] if f["rule"] == "CKV_AWS_21"]
    assert "without a written reason" in unreasoned[0]["message"]
    assert "CKV_AWS_18" not in {f["rule"] for f in config["findings"]}


@pytest.mark.threat("T-18")
def test_config_gate_blocks_a_hadolint_error(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    dockerfile = tree / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("FROM python:3.11-slim", "FROM python:3.11-slim\nMAINTAINER x")
    )
    # Without checkov, so this test stays fast; the gate must say what it did not check.
    tools = tool_dir(tmp_path / "bin", ("hadolint",))

    result = run_gates(tree, "--only", "config", tools=tools)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "DL4000 Dockerfile:2" in result.stdout
    config = summary(tree)["config"]
    assert config["status"] == "FAIL"
    assert "checkov not installed" in config["note"]


def test_missing_tool_is_skipped_and_strict_fails(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ())  # only the interpreter

    lenient = run_gates(tree, "--only", "sast", tools=tools)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert summary(tree)["sast"]["status"] == "SKIPPED"
    assert "semgrep not installed" in lenient.stdout

    strict = run_gates(tree, "--strict", "--only", "sast", tools=tools)
    assert strict.returncode == 1
    assert "--strict" in strict.stdout


def test_only_takes_a_list_of_gates(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ())

    result = run_gates(tree, "--only", "config,sast", tools=tools)

    assert result.returncode == 0, result.stdout + result.stderr
    assert list(summary(tree)) == ["sast", "config"]  # in the script's order, once each


def test_partly_missing_gate_is_skipped_not_passed(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ("hadolint",))

    result = run_gates(tree, "--strict", "--only", "config", tools=tools)

    assert result.returncode == 1
    config = summary(tree)["config"]
    assert config["status"] == "SKIPPED"
    assert "checkov not installed" in config["note"]


def test_usage_errors(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ())
    assert run_gates(tree, "--help", tools=tools).returncode == 0
    assert "--baseline-commit REF" in run_gates(tree, "-h", tools=tools).stdout
    assert run_gates(tree, "--only", "lint", tools=tools).returncode == 2
    assert run_gates(tree, "--only", "sast,lint", tools=tools).returncode == 2
    assert run_gates(tree, "--frobnicate", tools=tools).returncode == 2
    assert run_gates(tree, "--baseline-commit", "no-such-ref", tools=tools).returncode == 2


# Stubs for the scanners that cannot run here: they record their arguments and replay a report.
STUB_REPLAY = """\
printf '%s\\n' "$@" >>"$STUB_LOG"
out=""
prev=""
for arg in "$@"; do
  [[ $prev == --output || $prev == --report-path ]] && out=$arg
  prev=$arg
done
for arg in "$@"; do [[ -d $arg ]] && ls "$arg" >>"$STUB_LOG"; done
cp "$STUB_REPORT" "$out"
exit 1
"""


def stub_env(tmp_path: Path, report: str) -> dict[str, str]:
    return {"STUB_LOG": str(tmp_path / "stub.log"), "STUB_REPORT": str(RECORDED / report)}


def with_lock_file(tree: Path) -> Path:
    lock = tree / "requirements" / "app.txt"
    lock.parent.mkdir()
    lock.write_text("starlette==0.38.6 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    return tree


@pytest.mark.threat("T-16")
def test_dependencies_gate_runs_trivy_on_the_lock_file(tmp_path: Path) -> None:
    tree = with_lock_file(make_tree(tmp_path / "repo"))
    tools = tool_dir(tmp_path / "bin", ())
    stub(tools, "trivy", STUB_REPLAY)

    result = run_gates(
        tree, "--only", "dependencies", tools=tools, extra_env=stub_env(tmp_path, "trivy-fs.json")
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "CVE-2024-47874 requirements.txt" in result.stdout
    args = (tmp_path / "stub.log").read_text().splitlines()
    assert args[:2] == ["fs", "--scanners"]
    assert "HIGH,CRITICAL" in args
    assert "--exit-code" in args
    assert "requirements.txt" in args  # the staged copy: trivy only knows that file name


@pytest.mark.threat("T-16")
def test_dependencies_gate_is_skipped_when_no_advisory_data_is_reachable(tmp_path: Path) -> None:
    tree = with_lock_file(make_tree(tmp_path / "repo"))
    tools = tool_dir(tmp_path / "bin", ())
    stub(
        tools, "trivy", 'echo "FATAL init error: DB error: failed to download vulnerability DB" >&2; exit 1\n'
    )
    stub(
        tools,
        "pip-audit",
        "echo \"requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org')\" >&2; exit 1\n",
    )

    result = run_gates(tree, "--only", "dependencies", tools=tools)

    assert result.returncode == 0, result.stdout + result.stderr
    gate = summary(tree)["dependencies"]
    assert gate["status"] == "SKIPPED"
    assert "trivy could not reach its vulnerability DB" in gate["note"]
    assert "pip-audit could not reach advisory data" in gate["note"]
    assert run_gates(tree, "--strict", "--only", "dependencies", tools=tools).returncode == 1


@pytest.mark.threat("T-16")
@pytest.mark.parametrize(
    ("report", "status", "expected"),
    [
        ("pip-audit-offline.json", "SKIPPED", "could not audit 27 of 27 dependencies"),
        ("pip-audit-vulns.json", "FAIL", "GHSA-f96h-pmfr-66vw"),
    ],
)
def test_dependencies_gate_reads_pip_audit(tmp_path: Path, report: str, status: str, expected: str) -> None:
    tree = with_lock_file(make_tree(tmp_path / "repo"))
    tools = tool_dir(tmp_path / "bin", ())
    stub(tools, "pip-audit", STUB_REPLAY)

    result = run_gates(tree, "--only", "dependencies", tools=tools, extra_env=stub_env(tmp_path, report))

    assert summary(tree)["dependencies"]["status"] == status, result.stdout + result.stderr
    assert expected in result.stdout
    args = (tmp_path / "stub.log").read_text().splitlines()
    assert {"--require-hashes", "--disable-pip", "requirements/app.txt"} <= set(args)


DOCKER_STUB = """\
printf 'docker %s\\n' "$*" >>"$STUB_LOG"
exit 0
"""


@pytest.mark.threat("T-16")
def test_container_gate_builds_and_scans_the_image(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    (tree / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    tools = tool_dir(tmp_path / "bin", ())
    stub(tools, "docker", DOCKER_STUB)
    stub(tools, "trivy", STUB_REPLAY)

    result = run_gates(
        tree, "--only", "container", tools=tools, extra_env=stub_env(tmp_path, "trivy-image.json")
    )

    assert result.returncode == 1, result.stdout + result.stderr
    gate = summary(tree)["container"]
    assert {"CVE-2024-2961", "aws-access-key-id", "AVD-DS-0002"} <= rules(gate)
    log = (tmp_path / "stub.log").read_text()
    assert "docker build -t fastapi-lambda:security-scan --provenance=false ." in log
    args = log.splitlines()
    assert {"--ignore-unfixed", "--exit-code", "HIGH,CRITICAL", ".trivyignore.yaml"} <= set(args)


def test_container_gate_is_skipped_without_a_daemon(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ())
    stub(tools, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1\n')

    result = run_gates(tree, "--only", "container", tools=tools)

    assert result.returncode == 0
    note = summary(tree)["container"]["note"]
    assert "no Docker daemon" in note
    assert "trivy not installed" in note


@pytest.mark.threat("T-15")
def test_secrets_gate_prefers_gitleaks(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ("detect-secrets",))
    stub(tools, "gitleaks", STUB_REPLAY)

    result = run_gates(tree, "--only", "secrets", tools=tools, extra_env=stub_env(tmp_path, "gitleaks.json"))

    assert result.returncode == 1
    assert "aws-access-token backend/app/local_settings.py:1" in result.stdout
    assert "--redact" in (tmp_path / "stub.log").read_text().splitlines()


# Parsers, fed with recorded outputs.


def load(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def test_parse_semgrep_blocks_on_error_only() -> None:
    findings = sr.parse_semgrep(load("semgrep.json")).findings
    by_rule = {f.rule: f for f in findings}
    assert by_rule["jwt-hardcoded-secret"].blocking
    assert by_rule["jwt-hardcoded-secret"].location == "backend/app/forge.py:5"
    assert not by_rule["python-eval"].blocking


def test_parse_detect_secrets_against_a_baseline() -> None:
    scan = load("detect-secrets.json")
    assert len(sr.parse_detect_secrets(scan).findings) == 4
    entries = scan["results"]["backend/app/local_settings.py"]
    baseline = {"results": {"backend/app/local_settings.py": [dict(e) for e in entries]}}
    verdicts = [None, False, True, False]
    for entry, verdict in zip(baseline["results"]["backend/app/local_settings.py"], verdicts, strict=True):
        if verdict is not None:
            entry["is_secret"] = verdict
    findings = sr.parse_detect_secrets(scan, baseline).findings
    assert [(f.rule, f.line) for f in findings] == [
        ("AWS Access Key", 1),
        ("Base64 High Entropy String", 2),
    ]
    assert findings[0].message.startswith("in the baseline but never audited")
    assert findings[1].message == "audited as a real secret in the baseline"


def test_parse_checkov_failed_and_unreasoned_skips() -> None:
    parsed = sr.parse_checkov(load("checkov.json"))
    failed = {f.rule: f for f in parsed.findings}
    assert {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_21"} == set(failed)
    assert failed["CKV_AWS_53"].file == "infra/template.yaml"
    assert failed["CKV_AWS_53"].line == 4
    assert "without a written reason" in failed["CKV_AWS_21"].message
    # One report per framework when several ran: a list of the same reports.
    assert sr.parse_checkov([load("checkov.json")]).findings == parsed.findings


def test_parse_hadolint_blocks_on_errors_and_warnings() -> None:
    findings = sr.parse_hadolint(load("hadolint.json")).findings
    assert {f.rule for f in findings if f.blocking} == {"DL3007", "DL4000", "DL3008"}
    assert {f.rule for f in findings if not f.blocking} == {"DL3015", "DL3009"}


def test_parse_trivy_fs_report() -> None:
    findings = sr.parse_trivy(load("trivy-fs.json")).findings
    assert [(f.rule, f.file, f.severity, f.blocking) for f in findings] == [
        ("CVE-2024-47874", "requirements.txt", "HIGH", True),
        ("CVE-2024-53981", "requirements.txt", "HIGH", True),
    ]
    assert findings[0].message.startswith("starlette 0.38.6 (fixed in 0.40.0): ")


def test_parse_trivy_image_report() -> None:
    findings = sr.parse_trivy(load("trivy-image.json")).findings
    assert [(f.rule, f.location) for f in findings] == [
        ("CVE-2024-2961", "fastapi-lambda:security-scan (amazon 2023 (Amazon Linux))"),
        ("CVE-2024-47874", "Python"),
        ("aws-access-key-id", "/var/task/app/local_settings.py:1"),
        ("AVD-DS-0002", "Dockerfile:1"),
    ]
    assert all(f.blocking for f in findings)


def test_parse_trivy_clean_report_and_garbage() -> None:
    assert sr.parse_trivy({"SchemaVersion": 2, "ArtifactName": "."}).findings == []
    with pytest.raises(sr.ReportError):
        sr.parse_trivy([{"Target": "requirements.txt"}])


def test_parse_pip_audit() -> None:
    offline = sr.parse_pip_audit(load("pip-audit-offline.json"))
    assert offline.findings == []
    assert offline.incomplete is not None
    assert "Dependency not found on PyPI" in offline.incomplete
    vulns = sr.parse_pip_audit(load("pip-audit-vulns.json"))
    assert vulns.incomplete is None
    assert [(f.rule, f.blocking) for f in vulns.findings] == [("GHSA-f96h-pmfr-66vw", True)]


def test_parse_gitleaks() -> None:
    findings = sr.parse_gitleaks(load("gitleaks.json")).findings
    assert [(f.rule, f.location) for f in findings] == [
        ("aws-access-token", "backend/app/local_settings.py:1")
    ]
    assert sr.parse_gitleaks(None).findings == []


def test_unreadable_report_fails_the_gate(tmp_path: Path) -> None:
    (tmp_path / "semgrep.json").write_text("{truncated")
    broken = sr.evaluate("sast", [("semgrep", tmp_path / "semgrep.json")], seconds=1.0)
    missing = sr.evaluate("sast", [("semgrep", tmp_path / "absent.json")], seconds=1.0)
    assert (broken["status"], missing["status"]) == ("FAIL", "FAIL")
    assert "not valid JSON" in broken["note"]
    assert "was not written" in missing["note"]


def test_strict_turns_a_skip_into_a_failure() -> None:
    records = [
        {"gate": "sast", "status": "PASS", "note": ""},
        {"gate": "container", "status": "SKIPPED", "note": "", "skipped": ["docker not installed"]},
    ]
    assert sr.overall(records[:1], strict=True) == ("PASS", 0)
    skipped = "1 gate skipped (container: docker not installed)"
    assert sr.overall(records, strict=False) == (f"PASS with {skipped}", 0)
    assert sr.overall(records, strict=True) == (
        "FAIL (--strict: 1 gate skipped: container: docker not installed)",
        1,
    )
    failed = {"gate": "config", "status": "FAIL", "note": "checkov"}
    assert sr.overall([records[0], failed], strict=False) == ("FAIL (config)", 1)
    assert sr.overall([*records, failed], strict=False)[0].startswith("FAIL (config) with 1 gate skipped")


def test_headline_never_reads_pass_while_gates_were_skipped() -> None:
    # What this machine reports: no advisory data, no Docker daemon, no Trivy.
    records = [
        sr.evaluate("sast", [], seconds=0.1),
        sr.evaluate("dependencies", [], seconds=0.1, skips=["pip-audit could not reach advisory data"]),
        sr.evaluate("container", [], seconds=0.1, skips=["docker not installed", "trivy not installed"]),
    ]
    result, code = sr.overall(records, strict=False)
    assert (result, code) == (
        "PASS with 2 gates skipped (dependencies: pip-audit could not reach advisory data; "
        "container: docker not installed; trivy not installed)",
        0,
    )
    page = sr.render_html(records, result, "now")
    assert f'Result: <span class="SKIPPED">{result}</span>' in page
    assert 'class="PASS">PASS</span></p>' not in page


def test_html_report_escapes_everything_from_the_scanned_code(tmp_path: Path) -> None:
    hostile = sr.Finding(
        tool="semgrep",
        rule="<b>rule</b>",
        severity="ERROR",
        file='app/"><img src=x onerror=alert(1)>.py',
        line=3,
        message="<script>alert('x')</script> & more",
        blocking=True,
    )
    record = {
        "gate": "sast",
        "status": "FAIL",
        "finding_count": 1,
        "blocking_count": 1,
        "seconds": 1.0,
        "note": "<i>note</i>",
        "reports": [],
        "findings": [sr.dataclasses.asdict(hostile)],
    }
    page = sr.render_html([record], "FAIL", "now")
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>rule</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "app/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.py:3" in page


def test_render_writes_summary_and_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = sr.evaluate(
        "config", [("hadolint", RECORDED / "hadolint.json")], seconds=0.25, notes=["no infra/"]
    )
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "config.json").write_text(json.dumps(record))

    assert sr.render(tmp_path, strict=False) == 1

    data = json.loads((tmp_path / "summary.json").read_text())
    assert (data["result"], data["status"], data["skipped_gates"]) == ("FAIL (config)", "FAIL", [])
    assert data["gates"][0]["blocking_count"] == 3
    assert "Dockerfile:2" in (tmp_path / "security-report.html").read_text()
    out = capsys.readouterr().out
    assert "[config] error DL4000 Dockerfile:2  MAINTAINER is deprecated" in out


def test_report_module_is_stdlib_only() -> None:
    # It runs on whatever interpreter the tools venv has, without the app's dependencies.
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "scripts" / "security_report.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_html_report_says_a_skipped_gate_did_not_run(tmp_path: Path) -> None:
    why = "neither trivy nor pip-audit installed"
    skipped = sr.evaluate("dependencies", [], seconds=0.1, skips=[why])
    (tmp_path / "hadolint.json").write_text("[]")
    passed = sr.evaluate("config", [("hadolint", tmp_path / "hadolint.json")], seconds=0.1)
    page = sr.render_html([skipped, passed], "PASS", "now", tmp_path)

    dependencies = page.split('<h2 id="dependencies">', 1)[1].split("<h2", 1)[0]
    assert f"<strong>Not run:</strong> {why}" in dependencies
    assert "No findings." not in dependencies
    summary_row = next(line for line in page.splitlines() if 'href="#dependencies"' in line)
    assert ">not run<" in summary_row
    assert ">0<" not in summary_row
    # A gate that ran and found nothing still says so.
    assert "No findings." in page.split('<h2 id="config">', 1)[1]


def test_html_report_links_each_report_relative_to_the_page(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "hadolint.json").write_text("[]")
    record = sr.evaluate("config", [("hadolint", reports / "hadolint.json")], seconds=0.1)
    page = sr.render_html([record], "PASS", "now", reports)
    assert f'<a href="hadolint.json"><code>{reports / "hadolint.json"}</code></a>' in page
