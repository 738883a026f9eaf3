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
import shlex
import signal
import socket
import sys
from pathlib import Path

from app.config import ConfigurationError, Settings, load_settings, report
from devtools.moto import LOCAL_CREDENTIALS, moto_answers, moto_environment, start_moto_server, stop

SIGNING_KEY_NAME = "fastapi-lambda/dev-jwt-signing-key"


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
    # Only the local endpoint, only throw-away credentials, for the API's clients, the provisioning and
    # moto itself; first, so the settings below are the ones the API will read.
    scrubbed = moto_environment(os.environ, endpoint)
    os.environ.clear()
    os.environ.update(scrubbed)
    # Before anything starts: a configuration mistake ends here, in one line, with no moto_server to stop.
    try:
        settings = _aws_mode_settings()
    except ConfigurationError as error:
        return report(error)
    taken = _taken_port(args.host, args.port, args.moto_port, moto_running=moto_answers(endpoint))
    if taken:
        print(taken, file=sys.stderr)
        return 1
    data_dir = Path(os.environ.get("DATA_DIR", ".data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "moto_server.log"

    # uvicorn stops gracefully on SIGINT/SIGTERM and then raises the signal again, for the handler that
    # was there before it: ours, so the process ends here, through the `finally` that stops moto.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_requested)
    try:
        with log_path.open("ab") as log:
            try:
                moto = start_moto_server(args.moto_port, log)
            except RuntimeError as error:  # the port was taken since the check, or moto failed
                print(f"{error}; its log says why: {log_path}", file=sys.stderr)
                return 1
        try:
            return _serve(settings, args.host, args.port, endpoint, log_path)
        finally:
            stop(moto)
            print("moto_server stopped", flush=True)
    except _StopRequestedError:
        return 0


def _taken_port(host: str, port: int, moto_port: int, *, moto_running: bool) -> str | None:
    """The one line to stop with when a port this run needs is in use, before anything starts; else
    None. Checked by binding as the servers will (address reuse on, as both set it), and released at
    once: a port taken in between still fails, in the server's own words."""
    if moto_running:
        return (
            f"MOTO_PORT {moto_port} is taken: a moto_server already answers on 127.0.0.1:{moto_port} "
            f"(another make run-aws?); stop it or choose another: make run-aws MOTO_PORT={moto_port + 1}"
        )
    for variable, address, number in (("MOTO_PORT", "127.0.0.1", moto_port), ("PORT", host, port)):
        if number and not _can_bind(address, number):
            return (
                f"{variable} {number} is taken: {address}:{number} is in use by another process; "
                f"choose another: make run-aws {variable}={number + 1}"
            )
    return None


def _can_bind(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def admin_command(*, settings: Settings, secret_arn: str, endpoint: str) -> str:
    """`make make-admin` against this run's moto_server, ready to paste (it names this run's ports and
    resources; the throw-away credentials are moto's, the only ones it accepts here)."""
    values = {
        "APP_MODE": "aws",
        "JWT_SECRET_ARN": secret_arn,
        "TABLE_NAME": settings.table_name,
        "BUCKET_NAME": settings.bucket_name,
        "AWS_REGION": settings.aws_region,
        "AWS_ENDPOINT_URL": endpoint,
        **LOCAL_CREDENTIALS,
    }
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in values.items())
    return f"{assignments} make make-admin NAME=alice"


class _StopRequestedError(Exception):
    pass


def _stop_requested(signum: int, frame: object) -> None:
    raise _StopRequestedError


def _aws_mode_settings() -> Settings:
    # The secret's ARN is known only once it exists (_serve sets it); until then its name stands in.
    os.environ.update(APP_MODE="aws", JWT_SECRET_ARN=SIGNING_KEY_NAME)
    os.environ.setdefault("ENVIRONMENT", "development")  # a dev server: /docs on
    return load_settings(Settings)


def _serve(settings: Settings, host: str, port: int, endpoint: str, log_path: Path) -> int:
    import uvicorn

    from devtools.provision import provision

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
        f"API docs: http://{host}:{port}/docs   (AWS mode; Ctrl-C stops the API and moto_server)\n"
        "To make a user admin, in another terminal from this directory (NAME=the user's name):\n"
        f"  {admin_command(settings=settings, secret_arn=resources.secret_arn, endpoint=endpoint)}",
        flush=True,
    )
    # No uvicorn access log: it prints raw query strings, where a misused token would travel.
    uvicorn.run("app.main:app", host=host, port=port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
