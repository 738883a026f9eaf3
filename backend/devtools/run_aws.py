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
import sys
from pathlib import Path

from app.config import ConfigurationError, Settings, load_settings, report
from devtools.moto import moto_answers, moto_environment, start_moto_server, stop

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
    try:
        with log_path.open("ab") as log:
            moto = start_moto_server(args.moto_port, log)
        try:
            return _serve(settings, args.host, args.port, endpoint, log_path)
        finally:
            stop(moto)
            print("moto_server stopped", flush=True)
    except _StopRequestedError:
        return 0


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
        f"API docs: http://{host}:{port}/docs   (AWS mode; Ctrl-C stops the API and moto_server)",
        flush=True,
    )
    # No uvicorn access log: it prints raw query strings, where a misused token would travel.
    uvicorn.run("app.main:app", host=host, port=port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
