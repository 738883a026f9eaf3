"""Warm invocations: per-call time through the Mangum handler with HTTP API v2 events, against the
hello world through Mangum, in the same process, interleaved."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from mangum import Mangum

from bench import baselines
from bench.stats import figure, interleaved
from devtools.lambda_events import LambdaContext, build_event

MIB = 1024 * 1024
_CONTEXT = LambdaContext(aws_request_id="bench")


def _invoker(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def invoke(
        method: str, path: str, *, token: str | None = None, body: bytes = b"", content_type: str = ""
    ) -> dict[str, Any]:
        headers = [("host", "bench.lambda-url.us-east-1.on.aws")]
        if token:
            headers.append(("authorization", f"Bearer {token}"))
        if content_type:
            headers.append(("content-type", content_type))
        if body:
            headers.append(("content-length", str(len(body))))
        event = build_event("http-api-v2", method=method, path=path, query="", headers=headers, body=body)
        return handler(event, _CONTEXT)

    return invoke


def _multipart(content: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _expect(result: dict[str, Any], status: int) -> dict[str, Any]:
    if result["statusCode"] != status:
        raise RuntimeError(f"expected {status}, got {result['statusCode']}: {result.get('body', '')[:200]}")
    return result


def measure(
    app: FastAPI, token: str, *, repeats: int, batch: int, targets: dict[str, float]
) -> list[dict[str, object]]:
    """`app` must already hold the user of `token`; this adds 20 files and a 1 MiB file of its own."""
    import json

    call = _invoker(Mangum(app, lifespan="off"))
    hello = _invoker(baselines.handler)
    for index in range(20):
        body, content_type = _multipart(f"file {index}\n".encode(), f"f{index}.txt")
        _expect(call("POST", "/files", token=token, body=body, content_type=content_type), 201)
    megabyte, megabyte_type = _multipart(bytes(range(256)) * (MIB // 256), "one-mib.bin")
    uploaded = _expect(call("POST", "/files", token=token, body=megabyte, content_type=megabyte_type), 201)
    big_id = json.loads(uploaded["body"])["id"]
    uploads: list[str] = []

    def timed(run: Callable[[], object]) -> Callable[[], float]:
        def case() -> float:
            # CPU time of the process (every thread): waiting for a CPU on a shared machine is no
            # one's cost, and would weigh more on the longer batches. Blob writes' fsync waits are
            # therefore not counted either.
            started = time.process_time()
            for _ in range(batch):
                run()
            return (time.process_time() - started) / batch

        return case

    def upload() -> None:
        result = _expect(call("POST", "/files", token=token, body=megabyte, content_type=megabyte_type), 201)
        uploads.append(json.loads(result["body"])["id"])

    cases = {
        "hello": timed(lambda: _expect(hello("GET", "/hello"), 200)),
        "GET /users/me": timed(lambda: _expect(call("GET", "/users/me", token=token), 200)),
        "GET /files (20 files)": timed(lambda: _expect(call("GET", "/files", token=token), 200)),
        "POST /files (1 MiB)": timed(upload),
        "GET /files/{id}/content (1 MiB)": timed(
            lambda: _expect(call("GET", f"/files/{big_id}/content", token=token), 200)
        ),
    }
    for case in cases.values():  # warm every path once before measuring
        case()
    samples = interleaved(cases, repeats=repeats)
    for file_id in uploads:
        _expect(call("DELETE", f"/files/{file_id}", token=token), 204)
    return [
        figure(
            f"warm, {name}",
            samples[name],
            samples["hello"],
            target=targets.get(name),
        )
        for name in cases
        if name != "hello"
    ]
