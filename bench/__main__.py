"""`make bench`: every figure as a ratio to a baseline measured in the same run.

python -m bench [--quick] [--only cold,warm,aws,throughput,gates] [--output bench/results.json]
                [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import cold, warm
from bench.report import update_readme

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("cold", "warm", "aws", "throughput", "gates")
# The goals of issue 12 (README "Benchmarks"): cold start and warm path close to the hello-world floor.
TARGETS = {
    "cold_local": 1.2,
    "cold_aws": 1.1,
    "warm_authenticated": 1.5,
    "warm_list": 2.0,
    "throughput_authenticated": 0.5,
    "gates_seconds": 60.0,
}
WARM_INVOKES = 1000


def _local_env(data_dir: Path, jwt_secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "APP_MODE": "local",
        "ENVIRONMENT": "production",
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": jwt_secret,
        "LOG_LEVEL": "WARNING",
    }


def _local_app(data_dir: Path, jwt_secret: str) -> tuple[object, str]:
    """The app over `data_dir`, holding one user, and a token of that user."""
    from app.api.deps import app_context
    from app.config import Settings
    from app.factory import create_app
    from app.services import accounts

    settings = Settings(
        app_mode="local",
        environment="production",
        data_dir=data_dir,
        jwt_secret=jwt_secret,
        log_level="WARNING",
        user_quota_bytes=10**12,
        user_quota_files=10**6,
    )
    app = create_app(settings)
    context = app_context(app)
    user = accounts.register(context, username="bench_user", password="bench password 123")  # noqa: S106
    return app, context.tokens.issue(user_id=user.id, token_version=user.token_version).token


def _runtimes() -> list[cold.Runtime]:
    from bench.image import site_dir

    return [cold.image_runtime(site_dir()), cold.dev_runtime()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="few repetitions: checks the harness runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the results table in this file")
    args = parser.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    figures: list[dict[str, object]] = []
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        runtimes = _runtimes() if {"cold", "aws"} & set(sections) else []
        if "cold" in sections:
            secret = secrets.token_urlsafe(48)
            # The user the probes' warm invocations authenticate as, in the data dir they all open.
            _, cold_token = _local_app(work / "cold", secret)
            for runtime in runtimes:
                figures += cold.measure(
                    name="local mode",
                    runtime=runtime,
                    app_env=_local_env(work / "cold", secret),
                    app=cold.Probe("app.main", "/health", "/users/me", cold_token),
                    baseline_module="bench.baselines",
                    repeats=3 if quick else 15,
                    invokes=50 if quick else WARM_INVOKES,
                    target=TARGETS["cold_local"],
                )
            from bench.image import HELLO_AWS_ROOTS, HELLO_ROOTS, LOCK

            figures += cold.sizes(
                Path(runtimes[0].path[0]),
                LOCK,
                [("hello (FastAPI + Mangum)", HELLO_ROOTS), ("hello + boto3 + PyJWT", HELLO_AWS_ROOTS)],
            )
        if "warm" in sections:
            app, token = _local_app(work / "warm", secrets.token_urlsafe(48))
            figures += warm.measure(
                app,  # type: ignore[arg-type]
                token,
                repeats=3 if quick else 15,
                batch=3 if quick else 20,
                targets={
                    "GET /users/me": TARGETS["warm_authenticated"],
                    "GET /files (20 files)": TARGETS["warm_list"],
                },
            )
        if "aws" in sections:
            from bench import aws

            figures += aws.measure(work / "aws", quick=quick, targets=TARGETS, runtimes=runtimes)
        if "throughput" in sections:
            from bench import throughput

            figures += throughput.measure(
                work / "throughput",
                env=_local_env(work / "throughput", secrets.token_urlsafe(48)),
                seconds=2 if quick else 10,
                rounds=1 if quick else 3,
                target=TARGETS["throughput_authenticated"],
            )
        if "gates" in sections:
            from bench import gates

            figures += gates.measure(target=TARGETS["gates_seconds"])

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "quick": quick,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "figures": figures,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    for item in figures:
        met = {True: "met", False: "MISSED", None: ""}[item["met"]]  # type: ignore[index]
        print(f"{item['name']:<55} ratio {item['ratio']:>7} target {item['target']!s:>5} {met}")
    if args.readme:
        update_readme(args.readme, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
