"""Throughput under uvicorn: the hello world against authenticated GET /files, each served by its own
uvicorn process on loopback and loaded by the same async client, alternating rounds."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from bench.stats import median, percentile
from devtools.ports import free_port

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 16


def _serve(app_path: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app_path,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**env, "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{REPO}"},
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn for {app_path} did not start; see {log}")


async def _load(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx2.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(url, headers=headers)
                if response.status_code != 200:
                    errors += 1
            except httpx2.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)

    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(limits=limits, timeout=10) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "errors": float(errors),
        "requests": float(len(latencies)),
    }


def _prepare_user(base: str) -> str:
    with httpx2.Client(base_url=base, timeout=30) as client:
        password = "throughput bench password"  # noqa: S105 - a throw-away local account  # pragma: allowlist secret
        client.post("/auth/register", json={"username": "bench_load", "password": password})
        token = str(
            client.post("/auth/token", data={"username": "bench_load", "password": password}).json()[
                "access_token"
            ]
        )
        for index in range(20):
            client.post(
                "/files",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": (f"f{index}.txt", f"file {index}\n".encode(), "text/plain")},
            )
    return token


def measure(
    work: Path, *, env: dict[str, str], seconds: float, rounds: int, target: float
) -> list[dict[str, object]]:
    work.mkdir(parents=True, exist_ok=True)
    hello_port, app_port = free_port(), free_port()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        servers.append(_serve("bench.baselines:app", hello_port, env, work / "hello.log"))
        servers.append(_serve("app.main:app", app_port, env, work / "app.log"))
        token = _prepare_user(f"http://127.0.0.1:{app_port}")
        runs: dict[str, list[dict[str, float]]] = {"hello": [], "app": []}
        for _ in range(rounds):
            runs["hello"].append(asyncio.run(_load(f"http://127.0.0.1:{hello_port}/hello", {}, seconds)))
            runs["app"].append(
                asyncio.run(
                    _load(
                        f"http://127.0.0.1:{app_port}/files",
                        {"Authorization": f"Bearer {token}"},
                        seconds,
                    )
                )
            )
    finally:
        # Also when the second server fails to start: no uvicorn outlives the benchmark.
        for process in servers:
            process.terminate()
            process.wait(timeout=10)

    def med(name: str, key: str) -> float:
        return median([run[key] for run in runs[name]])

    ratio = med("app", "rps") / med("hello", "rps")
    figures: list[dict[str, object]] = [
        {
            "name": f"throughput, GET /files authenticated ({CONCURRENCY} connections)",
            "value": med("app", "rps"),
            "baseline": med("hello", "rps"),
            "unit": "req/s",
            "ratio": round(ratio, 3),
            "target": target,
            "met": ratio >= target,
            "samples": rounds,
            "errors": sum(run["errors"] for run in runs["app"]),
            "baseline_errors": sum(run["errors"] for run in runs["hello"]),
        }
    ]
    for quantile in ("p50", "p99"):
        figures.append(
            {
                "name": f"throughput, GET /files latency {quantile}",
                "value": med("app", quantile),
                "baseline": med("hello", quantile),
                "unit": "s",
                "ratio": round(med("app", quantile) / med("hello", quantile), 3),
                "target": None,
                "met": None,
                "samples": rounds,
            }
        )
    return figures
