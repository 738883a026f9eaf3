"""The operator CLI (`make make-admin`, `python -m app.cli`) as an operator meets it: in AWS mode it needs
no signing-key ARN (its commands sign nothing), and when it finds no such user, or cannot use the store,
it says in one line which store it looked in, since the usual cause is a store other than the server's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from devtools.moto import LOCAL_CREDENTIALS
from tests.support.api import Api
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.inprocess, pytest.mark.slow]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    kept = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env={**kept, "PYTHONPATH": str(REPO_ROOT / "backend"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def operator_env(settings: Settings, endpoint: str) -> dict[str, str]:
    # No JWT_SECRET_ARN: the operator has the table's name, not necessarily the secret's.
    return {
        "APP_MODE": "aws",
        "TABLE_NAME": settings.table_name,
        "BUCKET_NAME": settings.bucket_name,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": settings.aws_region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **LOCAL_CREDENTIALS,
    }


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr.rstrip("\n")


@pytest.mark.parametrize("backend", ["aws"])
def test_make_admin_in_aws_mode_needs_no_signing_key_arn(api: Api, settings: Settings, aws_env: str) -> None:
    user = api.register()
    done = cli(operator_env(settings, aws_env), "make-admin", user.username)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"make-admin: {user.username}: done\n"
    assert api.client.get("/admin/users", headers=user.headers).status_code == 200


@pytest.mark.parametrize("backend", ["aws"])
def test_no_such_user_in_aws_mode_names_the_table_and_endpoint(settings: Settings, aws_env: str) -> None:
    assert one_line(cli(operator_env(settings, aws_env), "make-admin", "nobody")) == (
        f"no such user: nobody in DynamoDB table {settings.table_name} at {aws_env} "
        "(TABLE_NAME, AWS_ENDPOINT_URL)"
    )


def test_no_such_user_in_local_mode_names_the_folder(tmp_path: Path) -> None:
    data = tmp_path / "not-the-servers"
    assert one_line(cli({"APP_MODE": "local", "DATA_DIR": str(data)}, "make-admin", "nobody")) == (
        f"no such user: nobody in the local store at {data} "
        "(DATA_DIR, which must be the one the server was started with)"
    )


def test_a_relative_data_dir_is_shown_as_the_folder_it_is(tmp_path: Path) -> None:
    # `make make-admin` runs from the repository root: `.data` there, not the caller's idea of it.
    done = cli(
        {"APP_MODE": "local", "DATA_DIR": os.path.relpath(tmp_path / "d", REPO_ROOT)}, "make-admin", "x"
    )
    assert f"in the local store at {tmp_path / 'd'} " in one_line(done)


def test_an_aws_store_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings = Settings(app_mode="aws", jwt_secret_arn="unused", table_name="files", data_dir=tmp_path)
    assert one_line(cli(operator_env(settings, endpoint), "delete-user", "somebody")) == (
        f"delete-user: cannot use DynamoDB table files at {endpoint} (TABLE_NAME, AWS_ENDPOINT_URL): "
        "EndpointConnectionError"
    )
