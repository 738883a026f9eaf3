"""A configuration mistake ends in one line that names the variable and the fix, never in a traceback,
and never shows a secret: for each real entry point, started as its user starts it.

- `make run`: uvicorn imports `app.main:app` (same arguments as the Makefile);
- `make run-aws`: `python -m devtools.run_aws`, which must refuse before it starts moto_server;
- the CLI: `python -m app.cli`;
- the Lambda init: `python -m awslambdaric app.main.handler`, the runtime's own bootstrap, against a
  stand-in for the Runtime API's HTTP endpoint that records the init error Lambda would report.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.ports import free_port
from tests.support.paths import REPO_ROOT

SETTINGS_HINT = "(.env.example describes every setting)."
WEAK_SECRET = "JWT_SECRET must be at least 32 bytes. Set a longer one (python -c 'import secrets; " + (
    "print(secrets.token_urlsafe(48))' prints one), or unset it to use a generated dev key."
)
SECRET_IN_AWS_MODE = (
    "JWT_SECRET is for local mode only. "
    "Unset it: AWS mode reads the signing key from the secret JWT_SECRET_ARN names."
)
NO_SECRET_ARN = (
    "APP_MODE=aws requires JWT_SECRET_ARN. "
    "Set it to the ARN of the Secrets Manager secret that holds the signing key."
)
NOT_AN_INTEGER = (
    "MAX_UPLOAD_BYTES should be a valid integer, unable to parse string as an integer. "
    f"Set MAX_UPLOAD_BYTES to a valid value {SETTINGS_HINT}"
)
NO_SUCH_MODE = f"APP_MODE should be 'local' or 'aws'. Set APP_MODE to a valid value {SETTINGS_HINT}"

# Distinctive, so that any piece of them in the output is found.
WEAK_VALUE = "weak-but-distinctive-31-bytes!!"
STRONG_VALUE = secrets.token_urlsafe(48)
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf"  # pragma: allowlist secret

MISTAKES: dict[str, dict[str, str]] = {
    "short-jwt-secret": {"APP_MODE": "local", "JWT_SECRET": WEAK_VALUE},
    "jwt-secret-in-aws-mode": {"APP_MODE": "aws", "JWT_SECRET_ARN": SECRET_ARN, "JWT_SECRET": STRONG_VALUE},
    "no-jwt-secret-arn": {"APP_MODE": "aws"},
    "max-upload-bytes-not-a-number": {"MAX_UPLOAD_BYTES": "abc"},
    "unknown-app-mode": {"APP_MODE": "foo"},
}
EXPECTED = {
    "short-jwt-secret": WEAK_SECRET,
    "jwt-secret-in-aws-mode": SECRET_IN_AWS_MODE,
    "no-jwt-secret-arn": NO_SECRET_ARN,
    "max-upload-bytes-not-a-number": NOT_AN_INTEGER,
    "unknown-app-mode": NO_SUCH_MODE,
}
# The CLI signs nothing: AWS mode without JWT_SECRET_ARN is no mistake there (tests/api/test_cli_stores.py).
EXPECTED_BY_CLI = {mistake: line for mistake, line in EXPECTED.items() if mistake != "no-jwt-secret-arn"}
# make run-aws sets APP_MODE=aws and JWT_SECRET_ARN itself: any JWT_SECRET is then the AWS-mode mistake,
# and a wrong APP_MODE or a missing ARN cannot happen.
EXPECTED_BY_DEVAWS = {
    "short-jwt-secret": SECRET_IN_AWS_MODE,
    "jwt-secret-in-aws-mode": SECRET_IN_AWS_MODE,
    "max-upload-bytes-not-a-number": NOT_AN_INTEGER,
}


def run(command: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_", "AWS_", "MAX_"))}
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**base, "PYTHONPATH": str(REPO_ROOT / "backend"), "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_clear_line(done: subprocess.CompletedProcess[str], sentence: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"configuration error: {sentence}\n"
    assert "Traceback" not in done.stdout + done.stderr
    assert_no_secret(done.stdout + done.stderr)


def assert_no_secret(output: str) -> None:
    for secret in (WEAK_VALUE, STRONG_VALUE):
        assert not any(secret[i : i + 8] in output for i in range(len(secret) - 7)), output


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_uvicorn_as_make_run_starts_it_ends_in_one_line(mistake: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--app-dir", "backend"]
    done = run(
        [*command, "--host", "127.0.0.1", "--port", "0", "--no-access-log"], MISTAKES[mistake], tmp_path
    )
    assert_one_clear_line(done, EXPECTED[mistake])


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("mistake", EXPECTED_BY_CLI)
def test_the_cli_ends_in_one_line(mistake: str, tmp_path: Path) -> None:
    done = run([sys.executable, "-m", "app.cli", "make-admin", "alice"], MISTAKES[mistake], tmp_path)
    assert_one_clear_line(done, EXPECTED_BY_CLI[mistake])


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("mistake", EXPECTED_BY_DEVAWS)
def test_make_run_aws_ends_in_one_line_before_starting_anything(mistake: str, tmp_path: Path) -> None:
    moto_port = free_port()
    command = [sys.executable, "-m", "devtools.run_aws", "--port", "0", "--moto-port", str(moto_port)]
    done = run(command, MISTAKES[mistake], tmp_path)
    assert_one_clear_line(done, EXPECTED_BY_DEVAWS[mistake])
    assert done.stdout == ""  # nothing was started: no moto_server to stop
    assert not (tmp_path / "moto_server.log").exists()


# --- the Lambda init ---------------------------------------------------------------------------------


class _RuntimeApi(BaseHTTPRequestHandler):
    """Lambda's side of the Runtime API, as far as an init error goes: it accepts and records it."""

    init_errors: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/2018-06-01/runtime/init/error":
            self.init_errors.append((self.headers["Lambda-Runtime-Function-Error-Type"], json.loads(body)))
            self.send_response(202)
        else:
            self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def runtime_api() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    init_errors: list[tuple[str, dict[str, Any]]] = []
    handler = type("RuntimeApi", (_RuntimeApi,), {"init_errors": init_errors})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", init_errors
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_lambda_init_fails_with_the_sentence_as_its_error(
    mistake: str, tmp_path: Path, runtime_api: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    address, init_errors = runtime_api
    lambda_env = {
        "AWS_LAMBDA_RUNTIME_API": address,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_FUNCTION_NAME": "fastapi-lambda-api",
        "AWS_REGION": "us-east-1",
    }
    done = run(
        [sys.executable, "-m", "awslambdaric", "app.main.handler"],
        {**lambda_env, **MISTAKES[mistake]},
        tmp_path,
    )
    # The runtime exits 1 after reporting the init error; Lambda then reports the init as failed.
    assert done.returncode == 1, done.stderr
    (reported,) = init_errors
    # ConfigurationError, or its subclass for a key that is too short.
    error_type = "WeakKeyError" if mistake == "short-jwt-secret" else "ConfigurationError"
    assert reported[0] == error_type
    assert reported[1]["errorMessage"] == EXPECTED[mistake]
    # CloudWatch gets the runtime's one JSON line for the error, with the same sentence.
    logged = [json.loads(line) for line in done.stdout.splitlines() if '"errorType"' in line]
    assert [(entry["errorType"], entry["errorMessage"]) for entry in logged] == [
        (error_type, EXPECTED[mistake])
    ]
    for dump in ("ValidationError", "validation error", "pydantic", "Traceback"):
        assert dump not in done.stdout + done.stderr + json.dumps(reported[1])
    assert_no_secret(done.stdout + done.stderr + json.dumps(reported[1]))
