"""AWS mode against a local moto_server: the cold start against hello + boto3 client + PyJWT, and how
often Secrets Manager is asked for the key while requests are served."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from bench import cold
from bench.warm import _expect, _invoker
from devtools.moto import REGION, moto_environment, start_moto_server, stop
from devtools.ports import free_port


def _env(endpoint: str, secret_arn: str, table: str, bucket: str) -> dict[str, str]:
    return {
        **moto_environment(os.environ, endpoint),
        "APP_MODE": "aws",
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "WARNING",
        "JWT_SECRET_ARN": secret_arn,
        "TABLE_NAME": table,
        "BUCKET_NAME": bucket,
    }


def _fetches_per_requests(env: dict[str, str], requests: int) -> dict[str, Any]:
    """Serves `requests` authenticated calls through the handler; counts GetSecretValue calls made
    after the first request (which may legitimately fetch the key once)."""
    import boto3
    from mangum import Mangum

    from app.api.deps import app_context
    from app.config import Settings
    from app.factory import create_app
    from app.services import accounts

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        calls: list[str] = []
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register(
            "before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("GetSecretValue")
        )
        app = create_app(Settings())
        context = app_context(app)
        user = accounts.register(
            context, username=f"bench_{secrets.token_hex(4)}", password=secrets.token_urlsafe(16)
        )
        call = _invoker(Mangum(app, lifespan="off"))
        token = context.tokens.issue(user_id=user.id, token_version=user.token_version).token
        _expect(call("GET", "/users/me", token=token), 200)
        before = len(calls)
        for _ in range(requests):
            _expect(call("GET", "/users/me", token=token), 200)
        during = len(calls) - before
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {
        "name": f"AWS mode: Secrets Manager fetches per {requests} authenticated requests",
        "value": float(during),
        "baseline": float(requests),
        "unit": "fetches",
        "ratio": round(during / requests, 4),
        "target": 0.0,
        "met": during == 0,
        "samples": 1,
    }


def measure(
    work: Path, *, quick: bool, targets: dict[str, float], runtimes: list[cold.Runtime]
) -> list[dict[str, object]]:
    from devtools.provision import provision

    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (work / "moto.log").open("wb") as log:
        server = start_moto_server(port, log)
        try:
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(_env(endpoint, "", "", ""))
            try:
                resources = provision(
                    table_name="bench-table",
                    bucket_name="bench-bucket",
                    secret_name="bench/jwt",  # noqa: S106 - a name, not a secret  # pragma: allowlist secret
                    region=REGION,
                    endpoint_url=endpoint,
                )
            finally:
                os.environ.clear()
                os.environ.update(saved)
            env = _env(endpoint, resources.secret_arn, resources.table_name, resources.bucket_name)
            figures: list[dict[str, object]] = []
            for runtime in runtimes:
                # No warm invocations: each would be a round trip to moto_server, which is not Lambda's
                # DynamoDB; the memory after import is measured, the warm path in local mode.
                figures += cold.measure(
                    name="AWS mode",
                    runtime=runtime,
                    app_env=env,
                    app=cold.APP,
                    baseline_module="bench.baselines_aws",
                    repeats=3 if quick else 15,
                    invokes=0,
                    target=targets["cold_aws"],
                )
            figures.append(_fetches_per_requests(env, 50 if quick else 1000))
            return figures
        finally:
            stop(server)
