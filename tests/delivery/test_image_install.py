"""What goes into the Lambda image works on its own, proved without a Docker daemon.

The Dockerfile's install step is reproduced in a temporary task root: the same hashed lock installed
with pip --target, plus backend/app. A clean interpreter (-I: no environment, no user site; -S: no
site-packages at all) whose sys.path is that folder and the standard library imports app.main and
invokes `handler` with a Function URL event, as the Lambda runtime would.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_events import build_event

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "requirements" / "app.txt"
DOCKERFILE = REPO_ROOT / "Dockerfile"

# Runs inside the clean interpreter: the task root is its only import location besides the stdlib.
_INVOKE = r"""
import json, sys, sysconfig

task_root = sys.argv[1]
sys.path.insert(0, task_root)
stdlib = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}


class Context:
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    function_name = "fastapi-lambda"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fastapi-lambda"

    def get_remaining_time_in_millis(self):
        return 29000


from app.main import handler

result = handler(json.load(sys.stdin), Context())
outside = sorted(
    name
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(task_root)
    and not any(module.__file__.startswith(path) for path in stdlib)
)
json.dump({"result": result, "outside": outside, "path": sys.path}, sys.stdout)
"""


def _pip_install_command(target: Path) -> list[str]:
    # The flags the Dockerfile's builder stage uses, for this interpreter rather than the image's.
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(target),
        "-r",
        str(LOCK),
    ]


@pytest.fixture(scope="session")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's /var/task, built once per test session (pip's own cache makes reruns quick)."""
    root = tmp_path_factory.mktemp("var-task")
    subprocess.run(_pip_install_command(root), check=True, timeout=600)
    shutil.copytree(
        REPO_ROOT / "backend" / "app",
        root / "app",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return root


def _invoke(task_root: Path, event: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    env = {
        "APP_MODE": "local",
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "LANG": "C.UTF-8",
    }
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _INVOKE, str(task_root)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=task_root,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output: dict[str, Any] = json.loads(completed.stdout)
    return output


def test_the_lock_has_hashed_wheels_for_the_image_interpreter(tmp_path: Path) -> None:
    # The image runs CPython 3.12 on Amazon Linux 2023 (glibc 2.34, x86_64), not this interpreter:
    # the builder stage succeeds only if every locked package has a wheel for it whose hash is locked.
    platforms = ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "any"]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--require-hashes", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
        "--python-version", "3.12", "--abi", "cp312", "--abi", "abi3", "--abi", "none",
        *(arg for platform in platforms for arg in ("--platform", platform)),
        "-r", str(LOCK), "--dest", str(tmp_path),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=600)
    locked = [line for line in LOCK.read_text().splitlines() if re.match(r"^[a-z0-9]", line)]
    assert len(list(tmp_path.glob("*.whl"))) == len(locked)


@pytest.mark.threat("T-16")
def test_the_dockerfile_installs_what_this_test_reproduces() -> None:
    # If the image's install step changes, this reproduction must change with it.
    text = DOCKERFILE.read_text()
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:", "--no-cache-dir"):
        assert flag in text
    assert '--target "${LAMBDA_TASK_ROOT}" -r /tmp/requirements/app.txt' in text
    assert "COPY requirements/app.txt /tmp/requirements/app.txt" in text
    assert "COPY backend/app ${LAMBDA_TASK_ROOT}/app" in text
    assert 'CMD ["app.main.handler"]' in text


def test_handler_from_the_task_root_alone_serves_health(task_root: Path, tmp_path: Path) -> None:
    event = build_event(
        "function-url",
        method="GET",
        path="/health",
        query="",
        headers=[
            ("host", "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"),
            ("accept", "application/json"),
            ("user-agent", "pytest"),
        ],
        body=b"",
    )
    output = _invoke(task_root, event, tmp_path / "data")

    assert output["result"]["statusCode"] == 200, output["result"]
    # Every third-party module came from the task root: nothing leaked in from this venv.
    assert output["outside"] == []
    assert not any("site-packages" in entry for entry in output["path"])


def test_the_task_root_holds_no_dev_dependencies(task_root: Path) -> None:
    installed = {path.name.split("-")[0].lower() for path in task_root.glob("*.dist-info")}
    assert {"fastapi", "mangum", "pyjwt", "boto3"} <= installed
    # Test and server tooling would only widen the image's attack surface (T-16).
    assert not installed & {"pytest", "uvicorn", "httpx", "moto", "hypothesis", "schemathesis", "pip"}


def test_the_image_holds_no_dev_only_module(task_root: Path) -> None:
    """Dev tooling (make run-aws, provisioning, moto start-up, Lambda event builders) lives in
    backend/devtools/, outside what the Dockerfile copies, and nothing in the image imports it."""
    image = task_root / "app"
    shipped = {path.relative_to(image).as_posix() for path in image.rglob("*.py")}
    assert {"main.py", "rotation.py", "cli.py"} <= shipped
    dev_only = {path.name for path in (REPO_ROOT / "backend" / "devtools").glob("*.py")} - {"__init__.py"}
    assert dev_only, "the dev-only modules must be found"
    assert sorted(name for name in shipped if Path(name).name in dev_only) == []
    imports = {
        f"{path.relative_to(image)}: {name}"
        for path in image.rglob("*.py")
        for name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in {"devtools", "tests", "bench", "moto", "uvicorn"}
    }
    assert sorted(imports) == []


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.threat("T-15")
def test_dockerignore_keeps_the_build_context_to_the_lock_and_the_app() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Deny everything first, then re-admit only what the Dockerfile copies: tests, .git, virtual
    # envs, data and reports can never reach the image (T-15).
    assert lines[0] == "*"
    assert [line for line in lines if line.startswith("!")] == ["!requirements/app.txt", "!backend/app"]
