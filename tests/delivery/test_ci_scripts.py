"""The pipeline's shell steps (ci/), run against stub `aws` and `docker` commands that record their
arguments: what would reach AWS, in which order, and what makes a step refuse."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.test_gitlab_reports import schema_errors
from tests.support.tools import tool

REPO_ROOT = Path(__file__).resolve().parents[2]
CI_DIR = REPO_ROOT / "ci"
DIGEST = "sha256:" + "ab" * 32
REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fastapi-lambda"


@pytest.fixture
def stub_bin(tmp_path: Path) -> Path:
    """A bin folder put first on PATH for the scripts; stubs log their argv to calls.log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "{folder}/calls.log"\n{textwrap.dedent(body)}')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run_script(
    script: str, *args: str, stub_bin: Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": f"{stub_bin}:{os.environ['PATH']}", "HOME": str(cwd), **env}
    return subprocess.run(
        ["bash", str(CI_DIR / script), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _calls(stub_bin: Path) -> list[str]:
    log = stub_bin / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.threat("T-16")
def test_deploy_pins_both_functions_to_the_digest_and_waits(stub_bin: Path, tmp_path: Path) -> None:
    _stub(
        stub_bin,
        "aws",
        r"""
        case "$1 $2" in
          "ecr batch-get-image")
            printf 'application/vnd.docker.distribution.manifest.v2+json\t{"schemaVersion": 2}\n' ;;
          *) echo ok ;;
        esac
    """,
    )
    env = {"LAMBDA_FUNCTION_NAME": "stack-api", "ROTATION_FUNCTION_NAME": "stack-rotate-key"}
    image = f"{REPO_URI}@{DIGEST}"
    done = _run_script("deploy.sh", image, stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    calls = _calls(stub_bin)
    put = next(c for c in calls if c.startswith("aws ecr put-image"))
    assert f"--image-digest {DIGEST}" in put
    assert "--image-tag deployed-" in put
    assert "--repository-name fastapi-lambda" in put
    updates = [c for c in calls if "update-function-code" in c]
    assert updates == [
        f"aws lambda update-function-code --function-name {name} --image-uri {image} "
        "--query [FunctionName,LastUpdateStatus] --output text"
        for name in ("stack-api", "stack-rotate-key")
    ]
    waits = [c for c in calls if "wait function-updated" in c]
    assert len(waits) == 2
    assert calls.index(put) < calls.index(updates[0]) < calls.index(waits[0])


def test_deploy_refuses_a_mutable_tag(stub_bin: Path, tmp_path: Path) -> None:
    _stub(stub_bin, "aws", "echo ok")
    env = {"LAMBDA_FUNCTION_NAME": "a", "ROTATION_FUNCTION_NAME": "b"}
    done = _run_script("deploy.sh", f"{REPO_URI}:latest", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "by digest" in done.stderr
    assert _calls(stub_bin) == []


def _docker_stub(stub_bin: Path, loaded_id: str) -> None:
    _stub(
        stub_bin,
        "docker",
        f"""
        case "$1" in
          load) echo "Loaded image: fastapi-lambda:abc123" ;;
          image) echo "{loaded_id}" ;;
          login) cat >/dev/null; echo "Login Succeeded" ;;
        esac
    """,
    )
    _stub(
        stub_bin,
        "aws",
        f"""
        case "$1 $2" in
          "ecr get-login-password") echo not-a-real-password ;;
          "ecr describe-images") echo "{DIGEST}" ;;
        esac
    """,
    )


@pytest.mark.threat("T-16")
def test_push_loads_the_scanned_tar_and_records_the_digest(stub_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "image.tar").write_bytes(b"tar")
    (tmp_path / "image.tar.id").write_text("sha256:built\n")
    _docker_stub(stub_bin, "sha256:built")
    env = {"ECR_REPOSITORY_URI": REPO_URI, "CI_COMMIT_SHA": "abc123"}
    done = _run_script("push-image.sh", "image.tar", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    calls = _calls(stub_bin)
    assert calls[0] == "docker load --input image.tar"
    assert f"docker tag fastapi-lambda:abc123 {REPO_URI}:abc123" in calls
    assert f"docker push {REPO_URI}:abc123" in calls
    assert (tmp_path / "build.env").read_text() == f"IMAGE_DIGEST={DIGEST}\nIMAGE_URI={REPO_URI}@{DIGEST}\n"


def test_push_refuses_a_tar_that_is_not_the_built_image(stub_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "image.tar").write_bytes(b"tar")
    (tmp_path / "image.tar.id").write_text("sha256:built\n")
    _docker_stub(stub_bin, "sha256:something-else")
    env = {"ECR_REPOSITORY_URI": REPO_URI, "CI_COMMIT_SHA": "abc123"}
    done = _run_script("push-image.sh", "image.tar", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert not any(c.startswith("docker push") for c in _calls(stub_bin))


def _findings(*items: tuple[str, str], status: str = "COMPLETE") -> dict[str, Any]:
    return {
        "imageScanStatus": {"status": status, "description": "scan finished"},
        "imageScanFindings": {
            "findings": [
                {"name": vid, "severity": sev, "attributes": [{"key": "package_name", "value": "openssl"}]}
                for vid, sev in items
            ],
            "findingSeverityCounts": {},
        },
    }


def _ecr_gate(tmp_path: Path, scan: dict[str, Any], ignore: str = "vulnerabilities: []\n") -> int:
    (tmp_path / "findings.json").write_text(json.dumps(scan))
    (tmp_path / "ignore.yaml").write_text(ignore)
    args = [
        str(tmp_path / "findings.json"),
        "--ignorefile",
        str(tmp_path / "ignore.yaml"),
        "--today",
        "2030-06-01",
    ]
    done = subprocess.run(
        [sys.executable, str(CI_DIR / "ecr_findings.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode


@pytest.mark.threat("T-16")
def test_ecr_gate_blocks_high_and_critical_only(tmp_path: Path) -> None:
    assert _ecr_gate(tmp_path, _findings(("CVE-2030-1", "MEDIUM"), ("CVE-2030-2", "LOW"))) == 0
    assert _ecr_gate(tmp_path, _findings(("CVE-2030-1", "HIGH"))) == 1
    assert _ecr_gate(tmp_path, _findings(("CVE-2030-1", "CRITICAL"))) == 1
    assert _ecr_gate(tmp_path, _findings(status="FAILED")) == 1
    enhanced = {
        "imageScanStatus": {"status": "ACTIVE"},
        "imageScanFindings": {
            "enhancedFindings": [
                {"severity": "CRITICAL", "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2030-9"}}
            ]
        },
    }
    assert _ecr_gate(tmp_path, enhanced) == 1


@pytest.mark.threat("T-16")
def test_ecr_gate_honours_only_reasoned_unexpired_acceptances(tmp_path: Path) -> None:
    scan = _findings(("CVE-2030-1", "HIGH"))
    accepted = (
        "vulnerabilities:\n  - id: CVE-2030-1\n    statement: not reachable\n    expired_at: 2030-07-01\n"
    )
    assert _ecr_gate(tmp_path, scan, accepted) == 0
    expired = accepted.replace("2030-07-01", "2030-05-31")
    assert _ecr_gate(tmp_path, scan, expired) == 1
    no_reason = "vulnerabilities:\n  - id: CVE-2030-1\n    expired_at: 2030-07-01\n"
    assert _ecr_gate(tmp_path, scan, no_reason) == 1


@pytest.mark.parametrize("final_status", ["COMPLETE", "ACTIVE"])
def test_wait_ecr_scan_polls_until_done_then_gates(stub_bin: Path, tmp_path: Path, final_status: str) -> None:
    scan = json.dumps(_findings(("CVE-2030-1", "HIGH")))
    polls = tmp_path / "polls"
    _stub(
        stub_bin,
        "aws",
        f"""
        if [[ "$*" == *"--query imageScanStatus.status"* ]]; then
          echo x >> {polls}
          [[ $(wc -l < {polls}) -ge 2 ]] && echo {final_status} || echo IN_PROGRESS
          exit 0
        fi
        [[ "$2" == describe-image-scan-findings ]] && echo '{scan}'
        exit 0
    """,
    )
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    env = {"PYTHON": sys.executable, "ECR_SCAN_POLL_SECONDS": "0"}
    done = _run_script("wait-ecr-scan.sh", "fastapi-lambda", DIGEST, stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "BLOCKING  HIGH     CVE-2030-1" in done.stdout
    assert polls.read_text().count("x") == 2


@pytest.mark.parametrize(("status", "timeout"), [("FAILED", "600"), ("IN_PROGRESS", "0")])
def test_wait_ecr_scan_fails_when_no_scan_completes(
    stub_bin: Path, tmp_path: Path, status: str, timeout: str
) -> None:
    _stub(stub_bin, "aws", f"echo {status}; exit 0")
    env = {"PYTHON": sys.executable, "ECR_SCAN_POLL_SECONDS": "0", "ECR_SCAN_TIMEOUT_SECONDS": timeout}
    done = _run_script("wait-ecr-scan.sh", "fastapi-lambda", DIGEST, stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert status in done.stderr


def test_openapi_for_dast_comes_from_the_app_at_this_commit() -> None:
    done = subprocess.run(
        [sys.executable, str(CI_DIR / "dump_openapi.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    schema = json.loads(done.stdout)
    assert schema["openapi"].startswith("3.")
    assert {"/health", "/auth/token", "/files", "/files/{file_id}/content"} <= schema["paths"].keys()


def test_shell_scripts_pass_shellcheck() -> None:
    # Every level, info included, and no file-wide disable: a stale one hid SC2329 in security-test.sh.
    scripts = [*sorted(CI_DIR.glob("*.sh")), REPO_ROOT / "security-test.sh", REPO_ROOT / ".ci" / "run"]
    for script in scripts:
        head = script.read_text().splitlines()[:5]
        assert not any("shellcheck disable" in line for line in head), f"{script}: file-wide disable"
    done = subprocess.run(
        [tool("shellcheck"), "-x", *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stdout


def test_dast_login_never_sends_credentials_over_plain_http() -> None:
    done = subprocess.run(
        [sys.executable, str(CI_DIR / "dast_login.py"), "http://staging.example.invalid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "refusing to send credentials over plain HTTP" in done.stderr
    assert done.stdout == ""


# Container scanning: Trivy cannot run here, so a stub replays a recorded Trivy image report with
# findings; what the pipeline hands GitLab is then built by the pipeline's own converter and validated
# against GitLab's published schema.
RECORDED = REPO_ROOT / "tests" / "fixtures" / "security" / "recorded"
TRIVY_REPLAY = f"""
[[ $1 == --version ]] && {{ echo "Version: 0.72.0"; exit 0; }}
out=""
format=""
prev=""
for arg in "$@"; do
  [[ $prev == --output ]] && out=$arg
  [[ $prev == --format ]] && format=$arg
  prev=$arg
done
case $format in
  json) cp "{RECORDED}/trivy-image.json" "$out" ;;
  cyclonedx) echo '{{"bomFormat": "CycloneDX"}}' >"$out" ;;
esac
exit 0
"""


def _container_report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text())
    assert report["vulnerabilities"], "the recorded scan has findings"
    assert schema_errors(report) == []
    return report


@pytest.mark.threat("T-16")
def test_build_scan_writes_a_valid_container_scanning_report(stub_bin: Path, tmp_path: Path) -> None:
    _stub(stub_bin, "trivy", TRIVY_REPLAY)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "app.txt").write_text("starlette==0.38.6\n")
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    env = {"PYTHON": sys.executable, "CI_COMMIT_SHA": "abc123"}
    done = _run_script("trivy-scan.sh", "image.tar", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = _container_report(tmp_path / "reports" / "gl-container-scanning-report.json")
    assert {v["location"]["image"] for v in report["vulnerabilities"]} == {"fastapi-lambda:abc123"}
    assert report["scan"]["scanner"]["version"] == "0.72.0"
    assert (tmp_path / "reports" / "trivy" / "gl-sbom-image.cdx.json").exists()
    calls = _calls(stub_bin)
    # Every severity for GitLab, then the gate; always the saved tar, never a registry.
    assert "trivy image --input image.tar --scanners vuln --ignorefile .trivyignore.yaml" in " ".join(calls)
    gate = next(c for c in calls if "--format table" in c)
    assert "--exit-code 1 --severity HIGH,CRITICAL --ignore-unfixed" in gate


def test_rescan_of_the_deployed_image_writes_a_valid_report_without_aws(
    stub_bin: Path, tmp_path: Path
) -> None:
    _stub(stub_bin, "trivy", TRIVY_REPLAY)
    _stub(stub_bin, "aws", "echo 'aws must not be called here' >&2; exit 1")
    image = f"{REPO_URI}@{DIGEST}"
    (tmp_path / "deployed.tar.uri").write_text(image + "\n")
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    done = _run_script(
        "rescan-deployed.sh", "deployed.tar", stub_bin=stub_bin, cwd=tmp_path, env={"PYTHON": sys.executable}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = _container_report(tmp_path / "reports" / "gl-container-scanning-report.json")
    assert {v["location"]["image"] for v in report["vulnerabilities"]} == {image}
    assert not any(c.startswith("aws ") for c in _calls(stub_bin))


def test_pull_deployed_saves_the_running_image_by_digest(stub_bin: Path, tmp_path: Path) -> None:
    image = f"{REPO_URI}@{DIGEST}"
    _stub(
        stub_bin,
        "aws",
        f"""
        case "$1 $2" in
          "lambda get-function") echo "{image}" ;;
          "ecr get-login-password") echo not-a-real-password ;;
        esac
    """,
    )
    _stub(stub_bin, "docker", "[[ $1 == login ]] && cat >/dev/null; exit 0")
    env = {"LAMBDA_FUNCTION_NAME": "stack-api"}
    done = _run_script("pull-deployed.sh", "deployed.tar", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    calls = _calls(stub_bin)
    assert f"docker login --username AWS --password-stdin {REPO_URI.split('/')[0]}" in calls
    assert f"docker pull {image}" in calls
    assert f"docker save --output deployed.tar {image}" in calls
    assert (tmp_path / "deployed.tar.uri").read_text() == image + "\n"


def test_pull_deployed_refuses_an_image_not_pinned_by_digest(stub_bin: Path, tmp_path: Path) -> None:
    _stub(stub_bin, "aws", f"echo {REPO_URI}:latest")
    _stub(stub_bin, "docker", "exit 0")
    env = {"LAMBDA_FUNCTION_NAME": "stack-api"}
    done = _run_script("pull-deployed.sh", "deployed.tar", stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "unexpected image URI" in done.stderr
    assert not any(c.startswith("docker") for c in _calls(stub_bin))
