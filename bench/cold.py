"""Cold start: a fresh interpreter importing the Lambda handler module, against a bare FastAPI + Mangum
hello world imported the same way, and the first request each serves after its import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from bench.stats import figure, interleaved

REPO = Path(__file__).resolve().parents[1]

# Runs in the fresh interpreter: time the import, then one request through the handler.
_PROBE = """
import json, sys, time
started = time.perf_counter()
module = __import__(sys.argv[1], fromlist=["handler"])
imported = time.perf_counter() - started
from devtools.lambda_events import LambdaContext, build_event
event = build_event("http-api-v2", method="GET", path=sys.argv[2], query="", headers=[], body=b"")
started = time.perf_counter()
result = module.handler(event, LambdaContext(aws_request_id="bench"))
first = time.perf_counter() - started
assert result["statusCode"] == 200, result
print(json.dumps({"import": imported, "first_request": first}))
"""


def _probe(module: str, path: str, env: Mapping[str, str]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, module, path],
        env={**env, "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{REPO}"},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cold-start probe of {module} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(
    *, name: str, app_env: Mapping[str, str], baseline_module: str, repeats: int, target: float
) -> list[dict[str, object]]:
    runs: dict[str, list[dict[str, float]]] = {"app": [], "baseline": []}

    def probe_app() -> float:
        runs["app"].append(_probe("app.main", "/health", app_env))
        return runs["app"][-1]["import"]

    def probe_baseline() -> float:
        runs["baseline"].append(_probe(baseline_module, "/hello", app_env))
        return runs["baseline"][-1]["import"]

    # One unmeasured round compiles bytecode, as the image's build step does.
    probe_app(), probe_baseline()
    runs = {"app": [], "baseline": []}
    interleaved({"app": probe_app, "baseline": probe_baseline}, repeats=repeats)
    return [
        figure(
            f"cold start, {name}: import",
            [run["import"] for run in runs["app"]],
            [run["import"] for run in runs["baseline"]],
            target=target,
        ),
        figure(
            f"cold start, {name}: first request",
            [run["first_request"] for run in runs["app"]],
            [run["first_request"] for run in runs["baseline"]],
            target=None,
        ),
        # FastAPI builds routes lazily: the hello world pays for its route on the first request,
        # while the app builds (and checks the auth policy of) all of its routes at import, in
        # Lambda's init phase. What a caller waits for on a cold start is the sum.
        figure(
            f"cold start, {name}: import + first request",
            [run["import"] + run["first_request"] for run in runs["app"]],
            [run["import"] + run["first_request"] for run in runs["baseline"]],
            target=None,
        ),
    ]
