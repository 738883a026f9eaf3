"""`make run-aws`: the API in AWS mode on this machine, against a local moto_server.

Starts moto_server on 127.0.0.1:MOTO_PORT, provisions the table, bucket and signing secret there (the
same provisioning the tests use), then serves the API with uvicorn in AWS mode, every AWS call going to
that endpoint with throw-away credentials. Ctrl-C or SIGTERM stops both. moto keeps everything in
memory: a restart starts from nothing.

    PYTHONPATH=backend python -m devtools.run_aws --host 127.0.0.1 --port 8000 --moto-port 5000
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

SIGNING_KEY_NAME = "fastapi-lambda/dev-jwt-signing-key"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-moto", "AWS_SECRET_ACCESS_KEY": "local-moto"}


def moto_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def start_moto_server(port: int, log: IO[bytes], *, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """moto_server on the loopback interface only, answering before this returns."""
    url = f"http://127.0.0.1:{port}"
    if moto_answers(url):
        raise RuntimeError(f"something already answers on {url}")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    # Answering is not enough: another process may have taken the port first; ours must still run.
    while not moto_answers(url) or process.poll() is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"moto_server did not start on {url}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _point_boto3_at(endpoint: str) -> None:
    """Only the local endpoint, only throw-away credentials: nothing from ~/.aws or the shell's AWS
    settings can send a request, or a real key, anywhere else."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in {
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        }:
            del os.environ[name]
    os.environ.update(
        _LOCAL_CREDENTIALS,
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.run_aws",
        description="Serve the API in AWS mode against a local moto_server.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--moto-port", type=int, default=5000)
    args = parser.parse_args(argv)

    endpoint = f"http://127.0.0.1:{args.moto_port}"
    if moto_answers(endpoint):
        print(f"something already answers on {endpoint}; choose another MOTO_PORT", file=sys.stderr)
        return 1
    data_dir = Path(os.environ.get("DATA_DIR", ".data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "moto_server.log"

    # uvicorn stops gracefully on SIGINT/SIGTERM and then raises the signal again, for the handler that
    # was there before it: ours, so the process ends here, through the `finally` that stops moto.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_requested)
    # Before moto starts: it runs botocore itself and inherits this environment.
    _point_boto3_at(endpoint)
    try:
        with log_path.open("ab") as log:
            moto = start_moto_server(args.moto_port, log)
        try:
            return _serve(args.host, args.port, endpoint, log_path)
        finally:
            stop(moto)
            print("moto_server stopped", flush=True)
    except _StopRequestedError:
        return 0


class _StopRequestedError(Exception):
    pass


def _stop_requested(signum: int, frame: object) -> None:
    raise _StopRequestedError


def _serve(host: str, port: int, endpoint: str, log_path: Path) -> int:
    import uvicorn

    from app.config import Settings
    from devtools.provision import provision

    # The secret's ARN is known only once it exists; the other names come from the usual settings.
    os.environ.update(APP_MODE="aws", JWT_SECRET_ARN=SIGNING_KEY_NAME)
    os.environ.setdefault("ENVIRONMENT", "development")  # a dev server: /docs on
    settings = Settings()
    resources = provision(
        table_name=settings.table_name,
        bucket_name=settings.bucket_name,
        secret_name=SIGNING_KEY_NAME,
        region=settings.aws_region,
        endpoint_url=endpoint,
    )
    os.environ["JWT_SECRET_ARN"] = resources.secret_arn
    print(
        f"moto_server: {endpoint} (log: {log_path}; everything is in memory)\n"
        f"  table {resources.table_name}, bucket {resources.bucket_name}, secret {resources.secret_arn}\n"
        f"API docs: http://{host}:{port}/docs   (AWS mode; Ctrl-C stops the API and moto_server)",
        flush=True,
    )
    # No uvicorn access log: it prints raw query strings, where a misused token would travel.
    uvicorn.run("app.main:app", host=host, port=port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
