"""Fixtures shared by the whole suite.

`api` is the HTTP surface under test: by default the ASGI app in process on a fresh embedded store;
parametrize it indirectly with a Lambda event format to go through the Mangum handler instead; run
pytest with --base-url URL to aim the black-box tests at a live deployment.

Where the app under test keeps its data: the embedded default, or DynamoDB + S3 + Secrets Manager on a
moto_server subprocess (tests/support/moto.py). A test marked `@pytest.mark.both_stores` (or a module
with that `pytestmark`) runs on both; the others stay on the embedded store, which keeps `make test`
fast. A test may still pin the store with `@pytest.mark.parametrize("backend", [...])`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from app.config import Settings
from tests.support.api import Api
from tests.support.apps import client_for, make_app
from tests.support.base_url import base_url_problem

BACKENDS = ("local", "aws")

pytest_plugins = ("tests.support.moto", "tests.support.log_audit")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--base-url",
        default=None,
        help="run the black-box authn/authz tests over HTTP against this running instance",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "inprocess: needs the app in this process; skipped when --base-url is given"
    )
    config.addinivalue_line(
        "markers", "both_stores: run on the embedded store and on DynamoDB + S3 (moto_server)"
    )
    base_url = config.getoption("--base-url")
    # Checked once, by the process that collects (not again by every xdist worker).
    if base_url and not hasattr(config, "workerinput"):
        problem = base_url_problem(base_url)
        if problem:
            raise pytest.UsageError(problem)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    pinned = any(
        "backend" in (names.replace(" ", "").split(",") if isinstance(names, str) else names)
        for names in (marker.args[0] for marker in metafunc.definition.iter_markers("parametrize"))
    )
    both = metafunc.definition.get_closest_marker("both_stores") is not None
    if both and "backend" in metafunc.fixturenames and not pinned:
        on_base_url = metafunc.config.getoption("--base-url")
        metafunc.parametrize("backend", ("local",) if on_base_url else BACKENDS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--base-url"):
        return
    skip = pytest.mark.skip(reason="needs the app in process; this run targets --base-url")
    for item in items:
        if "inprocess" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def base_url(request: pytest.FixtureRequest) -> str | None:
    value: str | None = request.config.getoption("--base-url")
    return value


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for an isolated local-mode app; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "app_mode": "local",
            "environment": "test",
            "data_dir": tmp_path / "data",
            "jwt_secret": secrets.token_urlsafe(48),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def backend() -> str:
    return "local"


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    factory: Callable[..., Settings] = request.getfixturevalue(
        "make_aws_settings" if backend == "aws" else "make_settings"
    )
    return factory()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return make_app(settings)


@pytest.fixture
def api(request: pytest.FixtureRequest, base_url: str | None, backend: str) -> Iterator[Api]:
    via: str = getattr(request, "param", "asgi")
    if base_url:
        if via != "asgi":
            # A live instance is one deployment reached over HTTP: the in-process variants would
            # only repeat the same requests.
            pytest.skip("in-process variant; this run targets --base-url")
        with httpx2.Client(base_url=base_url, timeout=30) as client:
            yield Api(client)
        return
    app: FastAPI = request.getfixturevalue("app")
    with client_for(app, via) as client:
        yield Api(client)
