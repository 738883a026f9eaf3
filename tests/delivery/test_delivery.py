"""The delivery pipeline, verified without GitLab or Docker: .gitlab-ci.yml's structure, checkov's
gitlab_ci and dockerfile checks, hadolint, the Dockerfile's pinned base, and gitlab-ci-local listing
the jobs. The ci/ scripts and infra/ have their own modules (test_ci_scripts, test_infra_template)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.tools import checkov, tool

REPO_ROOT = Path(__file__).resolve().parents[2]
CI_DIR = REPO_ROOT / "ci"
GITLAB_CI_LOCAL_DIR = REPO_ROOT / "tools" / "gitlab-ci-local"
REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fastapi-lambda"
JOB_KEYWORDS = {"image", "script", "extends", "stage", "trigger"}


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


# ---------------------------------------------------------------------------------------- pipeline


def test_pipeline_stages_and_the_jobs_the_guide_names(pipeline: dict[str, Any]) -> None:
    assert pipeline["stages"] == ["lint_and_scan", "test", "build_and_push", "deploy"]
    jobs = _jobs(pipeline)
    assert {"lint_and_scan", "test", "build_and_scan", "push_image", "deploy"} <= jobs.keys()
    for name in jobs:
        assert _resolved(pipeline, name)["stage"] in pipeline["stages"], name


def test_each_stage_needs_the_one_before(pipeline: dict[str, Any]) -> None:
    assert pipeline["lint_and_scan"]["needs"] == []
    # The test job re-publishes what it downloads, readable by all: it must not take the security reports.
    assert pipeline["test"]["needs"] == [{"job": "lint_and_scan", "artifacts": False}]
    assert pipeline["build_and_scan"]["needs"] == ["test"]
    assert pipeline["push_image"]["needs"] == [{"job": "build_and_scan", "artifacts": True}]
    assert pipeline["deploy"]["needs"] == [{"job": "push_image", "artifacts": True}]
    assert pipeline["rescan_deployed_image"]["needs"] == [{"job": "fetch_deployed_image", "artifacts": True}]


def test_artifact_reports_feed_gitlab(pipeline: dict[str, Any]) -> None:
    reports = {
        name: _resolved(pipeline, name)["artifacts"]["reports"]
        for name in _jobs(pipeline)
        if "reports" in _resolved(pipeline, name).get("artifacts", {})
    }
    # What GitLab's own Security templates publish, from the files security-test.sh writes.
    assert reports["lint_and_scan"] == {
        "sast": ["reports/gl-sast-report.json", "reports/gl-sast-checkov-report.json"],
        "secret_detection": "reports/gl-secret-detection-report.json",  # pragma: allowlist secret
        "dependency_scanning": "reports/gl-dependency-scanning-report.json",
        "cyclonedx": "reports/gl-sbom.cdx.json",
        "codequality": "reports/gl-code-quality-report.json",
    }
    written = (REPO_ROOT / "security-test.sh").read_text()
    for path in [*reports["lint_and_scan"]["sast"], *list(reports["lint_and_scan"].values())[1:]]:
        assert f'"$R/{path.removeprefix("reports/")}"' in written, path
    assert reports["test"]["junit"] == "reports/junit.xml"
    assert reports["test"]["coverage_report"] == {
        "coverage_format": "cobertura",
        "path": "reports/coverage.xml",
    }
    assert reports["build_and_scan"] == {
        "container_scanning": "reports/gl-container-scanning-report.json",
        "cyclonedx": "reports/trivy/gl-sbom-image.cdx.json",
    }
    assert reports["push_image"] == {"dotenv": "build.env"}
    assert reports["semgrep_full"] == {
        "sast": "reports/gl-sast-report.json",
        "codequality": "reports/gl-code-quality-report.json",
    }
    assert (
        reports["rescan_deployed_image"]["container_scanning"] == "reports/gl-container-scanning-report.json"
    )
    for script in ("trivy-scan.sh", "rescan-deployed.sh"):
        text = (CI_DIR / script).read_text()
        assert "/../scripts/gitlab_reports.py" in text, script
        assert '"$converter" container-scanning' in text, script
        assert '--output "$reports/gl-container-scanning-report.json"' in text, script


SECURITY_REPORT_TYPES = {
    "sast",
    "secret_detection",
    "dependency_scanning",
    "container_scanning",
    "cyclonedx",
    "codequality",
}


def test_security_reports_and_saved_images_are_for_developers_only(pipeline: dict[str, Any]) -> None:
    # A public project's artifacts are readable by anyone; these map what is weak in the project.
    checked = []
    for name in _jobs(pipeline):
        artifacts = _resolved(pipeline, name).get("artifacts", {})
        holds_image = any(path.endswith(".tar") for path in artifacts.get("paths", []))
        if SECURITY_REPORT_TYPES & artifacts.get("reports", {}).keys() or holds_image:
            assert artifacts.get("access") == "developer", name
            checked.append(name)
    assert {"lint_and_scan", "semgrep_full", "build_and_scan", "rescan_deployed_image"} <= set(checked)
    assert {"build_and_scan", "fetch_deployed_image"} <= set(checked)


def test_merge_requests_link_the_html_summary(pipeline: dict[str, Any]) -> None:
    artifacts = pipeline["lint_and_scan"]["artifacts"]
    assert artifacts["expose_as"] == "Security gates report"
    # One file: the merge request's link opens it rather than the artifacts browser.
    assert artifacts["paths"] == ["reports/security-report.html"]
    assert artifacts["when"] == "always"
    assert "REPORTS_DIR=reports ./security-test.sh" in (CI_DIR / "lint-and-scan.sh").read_text()


def _image_of(pipeline: dict[str, Any], name: str) -> str:
    image = _resolved(pipeline, name)["image"]
    image = image["name"] if isinstance(image, dict) else image
    return str(pipeline["variables"].get(image.lstrip("$"), image))


@pytest.mark.threat("T-16")
def test_scanner_job_images_are_pinned_by_digest(pipeline: dict[str, Any]) -> None:
    variables = pipeline["variables"]
    for name in ("PYTHON_IMAGE", "DOCKER_IMAGE", "DIND_IMAGE", "TRIVY_IMAGE"):
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", variables[name]), name
    for job in ("lint_and_scan", "semgrep_full", "test", "build_and_scan", "rescan_deployed_image"):
        assert "@sha256:" in _image_of(pipeline, job), job
    for service in _resolved(pipeline, "build_and_scan")["services"]:
        assert "@sha256:" in variables[service["name"].lstrip("$")]
    # Trivy's own contrib/gitlab.tpl before 0.71 could write invalid JSON; and 0.69.4-0.69.6 were the
    # compromised releases of March 2026.
    trivy = re.search(r":(\d+)\.(\d+)\.(\d+)@", variables["TRIVY_IMAGE"])
    assert trivy is not None
    assert tuple(int(part) for part in trivy.groups()) >= (0, 71, 0)


# A scanner command at the start of a shell word, outside comments.
SCANNER = re.compile(
    r"(^|[\s;|&(\"])(\$trivy|\$TRIVY|trivy|semgrep|checkov|gitleaks|detect-secrets|pip-audit|hadolint|grype"
    r"|\./security-test\.sh|ci/(trivy-scan|install-trivy|lint-and-scan|rescan-deployed)\.sh)\b"
)


def _commands(lines: list[str]) -> list[str]:
    """The job's own lines and those of every ci/ script they run, without comments."""
    out = []
    for line in lines:
        out.append(line)
        for script in re.findall(r"ci/[\w-]+\.sh", line):
            out += (REPO_ROOT / script).read_text().splitlines()
    return [line.split("#", 1)[0] for line in out if not line.lstrip().startswith("#")]


@pytest.mark.threat("T-17")
def test_no_third_party_scanner_runs_in_a_job_holding_the_aws_token(pipeline: dict[str, Any]) -> None:
    oidc_jobs = [name for name in _jobs(pipeline) if "id_tokens" in _resolved(pipeline, name)]
    assert set(oidc_jobs) == {"push_image", "deploy", "fetch_deployed_image"}
    for name in oidc_jobs:
        job = _resolved(pipeline, name)
        assert _image_of(pipeline, name) != pipeline["variables"]["TRIVY_IMAGE"], name
        lines = [*job.get("before_script", []), *job["script"]]
        offending = [line for line in _commands(lines) if SCANNER.search(line)]
        assert offending == [], name
    # The check itself sees a scanner where there is one.
    assert SCANNER.search(_commands(["ci/trivy-scan.sh image.tar"])[0])
    build = _resolved(pipeline, "build_and_scan")
    assert any(SCANNER.search(line) for line in _commands(build["script"]))


@pytest.mark.threat("T-18")
def test_lint_and_scan_runs_every_daemonless_gate_strictly_and_diff_aware_on_mrs() -> None:
    script = (CI_DIR / "lint-and-scan.sh").read_text()
    assert "make lint" in script
    assert 'args=(--strict --only "sast,secrets,dependencies,config")' in script
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


def test_test_job_runs_on_the_python_of_the_lambda_image(pipeline: dict[str, Any]) -> None:
    (base,) = re.findall(
        r"^FROM public\.ecr\.aws/lambda/python:(\d+\.\d+)@", (REPO_ROOT / "Dockerfile").read_text(), re.M
    )
    image = _resolved(pipeline, "test")["image"]
    resolved = pipeline["variables"].get(image.lstrip("$"), image)
    assert re.fullmatch(rf"python:{re.escape(base)}\.\d+-slim-\w+@sha256:[0-9a-f]{{64}}", resolved), resolved


@pytest.mark.threat("T-16")
def test_trivy_is_the_gate_on_the_python_packages_and_the_docs_say_so() -> None:
    # ECR's basic scanning (scan on push) covers OS packages only. Enhanced scanning would cover the
    # Python packages too, but it is a registry-wide, billed setting: the template leaves it to the
    # account's owner (it may be a shared account), so Trivy must scan the Python packages itself.
    template = (REPO_ROOT / "infra" / "template.yaml").read_text()
    assert "AWS::ECR::RegistryScanningConfiguration" not in template
    assert "AWS::Inspector" not in template
    scan = (CI_DIR / "trivy-scan.sh").read_text()
    assert "requirements/app.txt" in scan  # the runtime lock, as requirements.txt
    assert re.search(r"trivy\S* image", scan)
    assert not re.search(r"--(pkg|vuln)-types?[ =]+os\b", scan)  # the image's language packages too
    for doc in ("README.md", "docs/deploy.md", "docs/workshop.md"):
        text = " ".join((REPO_ROOT / doc).read_text().replace("*", "").split())
        assert "Trivy is the only gate on the Python dependencies" in text, doc


def test_python_jobs_keep_the_uv_and_pip_download_caches(pipeline: dict[str, Any]) -> None:
    # The venvs are installed by uv (make venv tools); its cache must be inside the project to be kept.
    assert pipeline["variables"]["UV_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/uv"
    assert pipeline["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
    assert {".cache/uv", ".cache/pip"} <= set(pipeline[".python"]["cache"]["paths"])


def test_rules_scheduled_jobs_only_on_schedules_and_deploy_is_manual(pipeline: dict[str, Any]) -> None:
    for name in ("semgrep_full", "mutants", "fetch_deployed_image", "rescan_deployed_image", "dast"):
        rules = _resolved(pipeline, name)["rules"]
        assert all('$CI_PIPELINE_SOURCE == "schedule"' in rule["if"] for rule in rules), name
    for name in ("lint_and_scan", "test", "build_and_scan", "push_image", "deploy"):
        first = _resolved(pipeline, name)["rules"][0]
        assert first == {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}, name
    assert pipeline["deploy"]["interruptible"] is False
    assert pipeline["deploy"]["resource_group"] == "production"
    deploy_rules = pipeline["deploy"]["rules"]
    assert deploy_rules[-1]["when"] == "manual"
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in deploy_rules[-1]["if"]
    (push_rule,) = pipeline["push_image"]["rules"][1:]
    assert push_rule == {
        "if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $AWS_ROLE_ARN && $ECR_REPOSITORY_URI"
    }


@pytest.mark.threat("T-17")
def test_aws_jobs_use_oidc_id_tokens_and_no_static_keys(pipeline: dict[str, Any]) -> None:
    text = (REPO_ROOT / ".gitlab-ci.yml").read_text()
    assert "AWS_ACCESS_KEY_ID" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for name in ("push_image", "deploy", "fetch_deployed_image"):
        job = _resolved(pipeline, name)
        assert job["id_tokens"] == {"GITLAB_OIDC_TOKEN": {"aud": "https://gitlab.com"}}, name
        assert ". ci/aws-oidc-login.sh" in "\n".join(job["script"]), name
    login = (CI_DIR / "aws-oidc-login.sh").read_text()
    assert "aws sts assume-role-with-web-identity" in login
    assert '--web-identity-token "$GITLAB_OIDC_TOKEN"' in login
    # No access key id (AKIA: long-lived, ASIA: session) is written down anywhere we ship.
    shipped = [REPO_ROOT / ".gitlab-ci.yml", REPO_ROOT / "infra" / "template.yaml", *CI_DIR.iterdir()]
    shipped.append(REPO_ROOT / "docs" / "deploy.md")
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
    build = pipeline["build_and_scan"]
    assert build["script"] == ["ci/build-image.sh image.tar", "ci/trivy-scan.sh image.tar"]
    assert {"image.tar", "image.tar.id"} <= set(build["artifacts"]["paths"])
    script = "\n".join(pipeline["push_image"]["script"])
    order = [". ci/aws-oidc-login.sh", "ci/push-image.sh image.tar", "ci/wait-ecr-scan.sh"]
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


# ---------------------------------------------------------------------------------------- linters


@pytest.mark.slow
def test_checkov_passes_the_pipeline_and_the_dockerfile() -> None:
    reports = checkov("-f", ".gitlab-ci.yml", "Dockerfile", "--framework", "gitlab_ci", "dockerfile")[
        "results"
    ]
    by_type = {r["check_type"]: r["summary"] for r in reports}
    assert set(by_type) == {"gitlab_ci", "dockerfile"}
    for kind, summary in by_type.items():
        assert summary["failed"] == 0, kind
        assert summary["passed"] > 0, kind


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [tool("hadolint"), "Dockerfile"],
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
    installed = GITLAB_CI_LOCAL_DIR / "node_modules" / ".package-lock.json"
    lock = GITLAB_CI_LOCAL_DIR / "package-lock.json"
    if not binary.exists() or not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
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
    assert list(push) == ["lint_and_scan", "test", "build_and_scan", "push_image", "deploy"]
    assert push["deploy"][2] == "manual"
    scheduled = listing(
        "--variable", "CI_PIPELINE_SOURCE=schedule", "--variable", "API_URL=https://x.invalid"
    )
    assert list(scheduled) == [
        "semgrep_full",
        "mutants",
        "fetch_deployed_image",
        "rescan_deployed_image",
        "dast",
    ]
