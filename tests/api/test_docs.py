"""The interactive docs (T-18): Swagger UI served from the hash-locked fastapi-swagger package, never a CDN,
under a page CSP that lets exactly Swagger UI run; everything else keeps the strict API CSP; none of it
exists in production, where it is not even imported.

The browser test renders /docs in headless Chromium on a machine that can reach nothing but loopback,
as where the blank page was seen: the operations must render, with no CSP violation, no uncaught error,
and no request to any other origin."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI

from app.api.docs import ASSETS
from app.api.route_table import DOCS_ROUTES
from app.config import Settings
from app.factory import create_app
from tests.support.apps import client_for
from tests.support.chromium import load
from tests.support.live_server import clean_env, serve
from tests.support.paths import REPO_ROOT

API_CSP = "default-src 'none'; frame-ancestors 'none'"
ASSET_PATHS = {f"/docs/assets/{name}" for name in ASSETS}
OPERATION = re.compile(r'class="opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', re.DOTALL)


def expected_docs_csp(page: str) -> str:
    """Worked out here from the served page, independently of app.api.docs."""
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == 1, scripts
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    return (
        "default-src 'none'; "
        f"script-src 'self' 'sha256-{digest}'; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'none'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


class _Urls(HTMLParser):
    """Every URL the page names in an attribute, and the schema URL its script hands to Swagger UI."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value or "" for name, value in attrs if name in {"src", "href", "action"}]

    def handle_data(self, data: str) -> None:
        self.urls += re.findall(r"\burl: '([^']*)'", data)


def urls_in(page: str) -> list[str]:
    parser = _Urls()
    parser.feed(page)
    parser.close()
    return parser.urls


def schema_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}


# -- the page and its assets, over HTTP in process ------------------------------------------------------


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_page_names_no_other_origin_and_sends_an_exact_csp(app: FastAPI) -> None:
    with client_for(app, "asgi") as client:
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert docs.headers["content-type"] == "text/html; charset=utf-8"
        assert docs.headers["content-security-policy"] == expected_docs_csp(docs.text)
        assert docs.headers["cache-control"] == "no-store"
        assert docs.headers["x-content-type-options"] == "nosniff"
        urls = urls_in(docs.text)
        assert len(urls) == 4, urls  # the stylesheet, the icon, the script and the schema
        for url in urls:
            assert (urlsplit(url).scheme, urlsplit(url).netloc) == ("", ""), url
            assert not url.startswith("/"), url
            # Relative to /docs, so the page also works under a path prefix (an API Gateway stage).
            assert client.get(urljoin(str(docs.url), url)).status_code == 200, url
    resolved = {urlsplit(urljoin("https://testserver/docs", url)).path for url in urls}
    assert resolved == ASSET_PATHS | {"/openapi.json"}
    for outside in ("cdn.", "jsdelivr", "unpkg", "tiangolo", "swagger.io", "http:", "https:", "//"):
        assert outside not in docs.text, outside
    # Swagger UI would otherwise send the schema's URL to validator.swagger.io, and keep tokens in storage.
    assert '"validatorUrl": null' in docs.text
    assert '"persistAuthorization": false' in docs.text


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_assets_are_the_locked_packages_files(app: FastAPI) -> None:
    version = metadata.version("fastapi-swagger")
    package = resources.files("fastapi_swagger.resources")
    media_types = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".png": "image/png",
    }
    with client_for(app, "asgi") as client:
        for path in sorted(ASSET_PATHS):
            name = path.rsplit("/", 1)[1]
            asset = client.get(path, params={"v": version})
            assert asset.status_code == 200, path
            assert asset.content == package.joinpath(name).read_bytes(), path
            assert asset.headers["content-type"] == media_types[Path(name).suffix], path
            assert asset.headers["x-content-type-options"] == "nosniff"
            # Immutable per package version, and the page's URLs carry that version.
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert asset.headers["content-security-policy"] == API_CSP
    bundle = package.joinpath("swagger-ui-bundle.js").read_text()
    # Swagger UI 5: FastAPI emits OpenAPI 3.1, which Swagger UI 4 cannot render.
    assert re.search(r'"5\.\d+\.\d+"', bundle)


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_everything_but_the_docs_page_keeps_the_strict_csp(app: FastAPI) -> None:
    with client_for(app, "asgi") as client:
        schema = client.get("/openapi.json")
        assert schema.status_code == 200
        assert schema.headers["content-security-policy"] == API_CSP
        assert schema.headers["cache-control"] == "no-store"
        for path in (
            "/redoc",
            "/docs/oauth2-redirect",
            "/docs/assets/__init__.py",
            "/docs/assets/..%2f..%2fmain.py",
            "/docs/assets/",
            "/docsx",
        ):
            missing = client.get(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-security-policy"] == API_CSP, path


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_are_absent_in_production_and_their_paths_keep_the_strict_csp(
    make_settings: Callable[..., Settings],
) -> None:
    production = create_app(make_settings(environment="production"))
    with client_for(production, "asgi") as client:
        for path in sorted({path for _, path in DOCS_ROUTES}):
            missing = client.get(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-security-policy"] == API_CSP, path


@pytest.mark.threat("T-18")
def test_production_never_imports_the_docs_and_assets_are_read_only_when_asked(tmp_path: Path) -> None:
    """Lambda's cold start pays for every import and file read: production loads none of the docs, and
    where docs are on the asset files wait for the first request for them."""
    script = """
import sys
import app.main
assert "app.api.docs" not in sys.modules and "fastapi_swagger" not in sys.modules, "production"
from starlette.testclient import TestClient
from app.config import Settings
from app.factory import create_app
docs = create_app(Settings(environment="development"))
assert "app.api.docs" in sys.modules
assert "fastapi_swagger" not in sys.modules, "read when the app was built"
assert TestClient(docs).get("/docs/assets/swagger-ui.css").status_code == 200
assert "fastapi_swagger" in sys.modules, "the check above would not have seen a read"
"""
    env = {
        **clean_env(),
        "PYTHONPATH": "backend",
        "APP_MODE": "local",
        "ENVIRONMENT": "production",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# -- a real browser --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_render_every_operation_offline_in_chromium_without_csp_violations(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = {"APP_MODE": "local", "ENVIRONMENT": "development", "DATA_DIR": str(tmp_path / "data")}
    with serve(settings, tmp_path / "server.log") as url:
        page = load(f"{url}/docs", tmp_path)

    # Swagger UI ran: every operation of the schema is on the page, and the token form is offered.
    rendered = set(OPERATION.findall(page.dom))
    assert rendered == schema_operations(create_app(make_settings(environment="development")))
    assert {("GET", "/files"), ("POST", "/files"), ("POST", "/auth/token")} <= rendered
    assert 'class="btn authorize' in page.dom
    # Not too tight: nothing was refused (a CSP violation is a console message), nothing failed.
    assert page.console == []
    # Nothing but this server was asked for anything, and it was asked for exactly the docs' files.
    origin = urlsplit(url)
    assert page.requests, "the page made no request: the NetLog check saw nothing"
    for request in page.requests:
        parts = urlsplit(request)
        assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), request
    assert {urlsplit(request).path for request in page.requests} == ASSET_PATHS | {"/openapi.json"}


@pytest.mark.threat("T-18")
def test_a_missing_browser_fails_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium-here"))
    with pytest.raises(pytest.fail.Exception, match=r"^install chromium: make browser"):
        load("data:text/html,never loaded", tmp_path)


@pytest.mark.slow
@pytest.mark.threat("T-18")
def test_the_browser_check_sees_csp_violations_and_requests_elsewhere(tmp_path: Path) -> None:
    """The control for the test above: the same capture reports a refused inline script and a request
    to another origin, so its empty console and its list of requests mean something."""
    page = (
        "data:text/html,<meta http-equiv='Content-Security-Policy' content=\"script-src 'none'\">"
        "<img src='https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/favicon-32x32.png'>"
        "<script>document.title = 'ran'</script>"
    )
    loaded = load(page, tmp_path)
    assert any("Content Security Policy" in message for message in loaded.console), loaded.console
    assert "<title>ran</title>" not in loaded.dom
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/favicon-32x32.png" in loaded.requests
