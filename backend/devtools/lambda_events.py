"""Real Lambda event payloads (API Gateway REST v1, HTTP API v2, Function URL) built from HTTP requests,
and an httpx2 transport that sends every request through the Mangum handler as such an event.

The shapes follow AWS's documented examples, including the request context fields Mangum reads.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx2

EventFormat = Literal["apigw-v1", "http-api-v2", "function-url"]
EVENT_FORMATS: tuple[EventFormat, ...] = ("apigw-v1", "http-api-v2", "function-url")
_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")
_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class LambdaContext:
    aws_request_id: str
    function_name: str = "fastapi-lambda"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{_ACCOUNT}:function:fastapi-lambda"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _body(content: bytes, content_type: str) -> tuple[str | None, bool]:
    # API Gateway and Function URLs base64-encode any body that is not plainly text.
    if not content:
        return None, False
    if content_type.startswith(_TEXT_TYPES):
        try:
            return content.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(content).decode(), True


def _query(raw: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not raw:
        return None, None
    multi = parse_qs(raw, keep_blank_values=True)
    return {k: v[-1] for k, v in multi.items()}, multi


def build_event(
    fmt: EventFormat, *, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> dict[str, Any]:
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    encoded_body, is_b64 = _body(body, content_type)
    now = time.time()
    request_id = str(uuid.uuid4())
    if fmt == "apigw-v1":
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        single, multi = _query(query)
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": single,
            "multiValueQueryStringParameters": multi,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "accountId": _ACCOUNT,
                "apiId": "a1b2c3d4e5",
                "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "a1b2c3d4e5",
                "extendedRequestId": request_id,
                "httpMethod": method,
                "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
                "path": f"/prod{path}",
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "resourceId": "abcdef",
                "resourcePath": "/{proxy+}",
                "stage": "prod",
            },
            "body": encoded_body,
            "isBase64Encoded": is_b64,
        }
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";"))
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    url_id = "abcdefghijklmnopqrstuvwxyz012345"
    domain = (
        f"{url_id}.lambda-url.us-east-1.on.aws"
        if fmt == "function-url"
        else "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    )
    single, _ = _query(query)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "anonymous" if fmt == "function-url" else _ACCOUNT,
            "apiId": url_id if fmt == "function-url" else "a1b2c3d4e5",
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "pytest",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if single:
        event["queryStringParameters"] = single
    if encoded_body is not None:
        event["body"] = encoded_body
    return event


def response_from(result: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, value) for value in values)
    seen = {name.lower() for name, _ in headers}
    headers.extend((n, v) for n, v in (result.get("headers") or {}).items() if n.lower() not in seen)
    headers.extend(("set-cookie", cookie) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return int(result["statusCode"]), headers, body


class LambdaTransport(httpx2.BaseTransport):
    """Sends each request through a Lambda handler as a real event of the chosen format."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]], fmt: EventFormat):
        self.handler = handler
        self.fmt = fmt
        self.events: list[dict[str, Any]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        headers = [(k, v) for k, v in headers if k.lower() not in {"content-length", "transfer-encoding"}]
        if body:
            headers.append(("content-length", str(len(body))))
        event = build_event(
            self.fmt,
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query,
            headers=headers,
            body=body,
        )
        self.events.append(event)
        result = self.handler(event, LambdaContext(aws_request_id=event["requestContext"]["requestId"]))
        status, response_headers, content = response_from(result)
        return httpx2.Response(status, headers=response_headers, content=content, request=request)
