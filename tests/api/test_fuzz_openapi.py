"""schemathesis against the app's own OpenAPI, in process: valid and invalid inputs for every operation,
anonymous and authenticated, must never produce a server error (and always carry nosniff).

FUZZ_EXAMPLES is the budget for the whole file (both runs, all operations); `make test` spends a few
hundred examples on a fixed seed, `make fuzz` spends 2000 on fresh ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from app.api.deps import app_context
from app.config import Settings
from devtools.lambda_events import EVENT_FORMATS
from tests.support.api import Api, Session
from tests.support.apps import client_for, make_app

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "600"))
# A fixed seed in `make test` (a finding is a regression, not noise); fresh inputs in `make fuzz`.
DERANDOMIZE = "FUZZ_EXAMPLES" not in os.environ
RUNS = 3


@dataclass
class Target:
    app: FastAPI
    schema: Any
    user: Session
    recipient: Session
    file_id: str


@pytest.fixture
def target(make_settings: Callable[..., Settings]) -> Target:
    # Small limits, so the fuzzer reaches the 413/415 paths as well.
    app = make_app(make_settings(max_upload_bytes=2048, user_quota_files=20))
    with client_for(app, "asgi") as client:
        api = Api(client)
        user, recipient = api.register(), api.register()
        file_id = api.upload(user)["id"]
        api.share(user, file_id, recipient)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return Target(app, schema, user, recipient, file_id)


def operations(schema: Any) -> list[Any]:
    """Deletions last, so the real file and its share are there for every other operation first."""
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 10, "the schema lost its operations"
    return sorted(found, key=lambda op: (op.method.upper() == "DELETE", op.path.count("{"), op.label))


def fresh_token(target: Target) -> str:
    """A new token per case: the fuzzer may log out or change the password, which revokes older ones."""
    context = app_context(target.app)
    user = context.store.users.get(target.user.id)
    assert user is not None
    return str(context.tokens.issue(user_id=user.id, token_version=user.token_version).token)


def case_strategy(operation: Any, target: Target, *, authenticated: bool) -> st.SearchStrategy[Any]:
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    names = {parameter.name for parameter in operation.path_parameters}
    if authenticated and "file_id" in names:
        # Random ids only ever reach the 404 path; the real one reaches the handlers behind it.
        known: dict[str, Any] = {"file_id": target.file_id}
        if "username" in names:
            known["username"] = target.recipient.username
        strategies.append(operation.as_strategy(path_parameters=known))
    return st.one_of(strategies)


def send_as_lambda_event(case: Any, client: Any, headers: dict[str, str] | None) -> Any:
    """The same case through the Mangum handler as a real Lambda event (paths, base64 bodies)."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"), headers=headers)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": dict(kwargs.get("headers") or {}),
        "params": kwargs.get("params") or None,
    }
    if kwargs.get("json") is not None:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        request["content"] = data
    elif data:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = [(str(name), _file_part(part)) for name, part in kwargs["files"]]
    return client.request(**request)


def _file_part(part: Any) -> Any:
    # Negative cases put numbers or objects where the file's bytes go; send them as their text.
    if not isinstance(part, tuple):
        return part if isinstance(part, str | bytes) else str(part)
    filename, content, *rest = part
    return (filename, content if isinstance(content, str | bytes) else str(content), *rest)


def fuzz_operation(
    target: Target, operation: Any, *, authenticated: bool, event_format: str | None, examples: int
) -> int:
    calls = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=case_strategy(operation, target, authenticated=authenticated))
    def run(case: Any) -> None:
        nonlocal calls
        headers = {"Authorization": f"Bearer {fresh_token(target)}"} if authenticated else None
        if event_format is None:
            response = case.call(headers=headers)
            nosniff = response.headers.get("x-content-type-options")
        else:
            started = time.perf_counter()
            with client_for(target.app, event_format) as client:
                response = send_as_lambda_event(case, client, headers)
            # A transport-built response has no timing of its own; the checks read it.
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
            nosniff = [response.headers.get("x-content-type-options")]
        calls += 1
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
        assert nosniff == ["nosniff"], case.operation.label

    run()
    return calls


def fuzz(target: Target, *, authenticated: bool, via: str = "asgi") -> int:
    ops = operations(target.schema)
    examples = max(5, FUZZ_EXAMPLES // (RUNS * len(ops)))
    # Through Lambda, each operation takes the next event format in turn.
    formats = [EVENT_FORMATS[i % len(EVENT_FORMATS)] if via == "lambda" else None for i in range(len(ops))]
    return sum(
        fuzz_operation(target, op, authenticated=authenticated, event_format=fmt, examples=examples)
        for op, fmt in zip(ops, formats, strict=True)
    )


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.threat("T-20")
def test_anonymous_fuzzing_finds_no_server_error(target: Target) -> None:
    assert fuzz(target, authenticated=False) > 0


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.threat("T-20")
def test_authenticated_fuzzing_finds_no_server_error(target: Target) -> None:
    assert fuzz(target, authenticated=True) > 0


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.threat("T-20")
def test_fuzzing_through_lambda_events_finds_no_server_error(target: Target) -> None:
    assert fuzz(target, authenticated=True, via="lambda") > 0
