"""Cold start: a fresh interpreter importing the Lambda handler module, against a bare FastAPI + Mangum
hello world imported the same way, the first request each serves after its import, and the peak memory
each holds after its import and after a run of warm invocations.

Two runtimes: the image's layout (`python -I -S` whose sys.path is the locked requirements installed with
pip --target, then the app: what Lambda's base image runs) and the dev venv (what `make run` runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stats import figure, interleaved

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024

# Runs in the fresh interpreter, standard library only (the image has nothing else): time the import,
# one request through the handler, then `invokes` warm requests; peak RSS after the import and after those.
_PROBE = """
import json, sys, time
sys.path[:0] = json.loads(sys.argv[1])
module_name, first_path, warm_path, invokes, token = sys.argv[2:7]


def peak_rss():
    # VmHWM is this process's own peak: ru_maxrss would also count the parent's, as it survives exec.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def event(path):
    headers = {"host": "bench.lambda-url.us-east-1.on.aws"}
    if token and path == warm_path:
        headers["authorization"] = "Bearer " + token
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "bench", "domainName": headers["host"],
            "domainPrefix": "bench",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                     "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }


class Context:
    aws_request_id = "bench"
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self):
        return 29000


# CPU time of this process: on a shared machine, time spent waiting for a CPU is not the app's (and
# would weigh more on whichever probe runs longer); Lambda's init is CPU-bound, with reads from cache.
clock = time.process_time
started = clock()
module = __import__(module_name, fromlist=["handler"])
imported = clock() - started
rss_import = peak_rss()
started = clock()
result = module.handler(event(first_path), Context())
first = clock() - started
assert result["statusCode"] == 200, result
for _ in range(int(invokes)):
    result = module.handler(event(warm_path), Context())
    assert result["statusCode"] == 200, result
rss_warm = peak_rss()
times = {"import": imported, "first_request": first}
print(json.dumps({**times, "rss_import": rss_import, "rss_warm": rss_warm}))
"""


@dataclass(frozen=True)
class Runtime:
    """How a probe interpreter starts and what it can import."""

    label: str
    flags: tuple[str, ...]
    path: tuple[str, ...]


def image_runtime(site: Path) -> Runtime:
    # -I: no PYTHON* variables, no user site, no script folder; -S: no site-packages. Lambda's runtime
    # puts /var/task (the locked packages and app/) first; the repo root holds the bench baselines.
    return Runtime("image", ("-I", "-S"), (str(site), str(REPO / "backend"), str(REPO)))


def dev_runtime() -> Runtime:
    return Runtime("dev venv", (), (str(REPO / "backend"), str(REPO)))


@dataclass(frozen=True)
class Probe:
    module: str
    first_path: str
    warm_path: str
    token: str = ""


APP = Probe("app.main", "/health", "/users/me")


def _probe(runtime: Runtime, probe: Probe, env: Mapping[str, str], invokes: int) -> dict[str, float]:
    completed = subprocess.run(
        [
            sys.executable,
            *runtime.flags,
            "-c",
            _PROBE,
            json.dumps(list(runtime.path)),
            probe.module,
            probe.first_path,
            probe.warm_path,
            str(invokes),
            probe.token,
        ],
        env={key: value for key, value in env.items() if key != "PYTHONPATH"},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cold-start probe of {probe.module} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(
    *,
    name: str,
    runtime: Runtime,
    app_env: Mapping[str, str],
    app: Probe,
    baseline_module: str,
    repeats: int,
    invokes: int,
    target: float | None,
) -> list[dict[str, object]]:
    """`invokes` warm requests follow each probe's first one: the app's `warm_path` with its token,
    the hello world's /hello."""
    baseline = Probe(baseline_module, "/hello", "/hello")
    runs: dict[str, list[dict[str, float]]] = {"app": [], "baseline": []}

    def probe_app() -> float:
        runs["app"].append(_probe(runtime, app, app_env, invokes))
        return runs["app"][-1]["import"]

    def probe_baseline() -> float:
        runs["baseline"].append(_probe(runtime, baseline, app_env, invokes))
        return runs["baseline"][-1]["import"]

    # One unmeasured round compiles bytecode, as the image's build step does.
    probe_app(), probe_baseline()
    runs = {"app": [], "baseline": []}
    interleaved({"app": probe_app, "baseline": probe_baseline}, repeats=repeats)

    def series(key: str, scale: float = 1.0) -> tuple[list[float], list[float]]:
        return (
            [run[key] / scale for run in runs["app"]],
            [run[key] / scale for run in runs["baseline"]],
        )

    prefix = f"cold start, {name}, {runtime.label}"
    figures = [
        figure(f"{prefix}: import", *series("import"), target=None),
        figure(f"{prefix}: first request", *series("first_request"), target=None),
        # FastAPI builds a route's models lazily, on its first request: the hello world pays for its
        # route then, while the app builds (and checks the auth policy of) all of its routes at import,
        # in Lambda's init phase. What a caller waits for on a cold start is the sum: the target's figure.
        figure(
            f"{prefix}: import + first request",
            [run["import"] + run["first_request"] for run in runs["app"]],
            [run["import"] + run["first_request"] for run in runs["baseline"]],
            target=target,
        ),
        figure(
            f"memory, {name}, {runtime.label}: peak RSS after import",
            *series("rss_import", MIB),
            target=None,
            unit="MiB",
        ),
    ]
    if invokes:
        figures.append(
            figure(
                f"memory, {name}, {runtime.label}: peak RSS after {invokes} warm {app.warm_path}",
                *series("rss_warm", MIB),
                target=None,
                unit="MiB",
            )
        )
    return figures


def sizes(site: Path, lock: Path, roots: Sequence[tuple[str, tuple[str, ...]]]) -> list[dict[str, object]]:
    """The image's installed size (locked packages + app/) against each hello baseline's packages."""
    from bench.image import installed_bytes, required_by, source_bytes

    app_bytes = installed_bytes(site) + source_bytes(REPO / "backend" / "app")
    figures = []
    for label, names in roots:
        floor = installed_bytes(site, required_by(lock, names))
        figures.append(
            {
                "name": f"image size: site dir + app/ vs {label}",
                "value": app_bytes / MIB,
                "baseline": floor / MIB,
                "unit": "MiB",
                "ratio": round(app_bytes / floor, 3),
                "target": None,
                "met": None,
                "samples": 1,
            }
        )
    return figures
