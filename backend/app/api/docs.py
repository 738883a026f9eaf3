"""The interactive API docs without a CDN: Swagger UI's files come from the hash-locked fastapi-swagger
package (Swagger UI 5, which reads the OpenAPI 3.1 that FastAPI emits), and the page carries a CSP that
lets Swagger UI run and nothing else.

`create_app` imports this module only where docs are enabled, so production never loads it; the asset
files are read on their first request, not when the app is built."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from functools import cache
from html.parser import HTMLParser
from importlib import metadata, resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
# Served file name -> media type. One fixed route per file: no request path ever names a package file.
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_PACKAGE = "fastapi-swagger"
_RESOURCES = "fastapi_swagger.resources"
# The files cannot change without the locked package version changing, and the page puts that version in
# their URLs, so a browser (or a shared cache: nothing in them is private) may keep them for good and an
# upgrade is fetched afresh. Everything else keeps the middleware's no-store.
_ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
SWAGGER_UI_PARAMETERS = {
    # Keep the bearer token out of localStorage.
    "persistAuthorization": False,
    # Otherwise Swagger UI sends the schema's URL to validator.swagger.io for its badge image.
    "validatorUrl": None,
}


def include_docs(app: FastAPI) -> None:
    """/docs and its assets. Every URL in the page is relative to /docs, so the page also works under a
    path prefix (an API Gateway stage, a proxy) and stays byte-for-byte the same, which fixes its CSP."""
    if app.openapi_url is None:
        raise RuntimeError("the docs page needs the schema route (FastAPI openapi_url)")
    version = metadata.version(_PACKAGE)
    asset_dir = ASSETS_PATH.removeprefix("/")

    def asset(name: str) -> str:
        return f"{asset_dir}/{name}?v={version}"

    page = get_swagger_ui_html(
        openapi_url=app.openapi_url.removeprefix("/"),
        title=f"{app.title} - Swagger UI",
        swagger_js_url=asset("swagger-ui-bundle.js"),
        swagger_css_url=asset("swagger-ui.css"),
        swagger_favicon_url=asset("favicon-32x32.png"),
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    html = bytes(page.body)
    csp = docs_csp(inline_scripts(html.decode()))

    async def docs_page(request: Request) -> Response:
        return Response(html, media_type="text/html", headers={"content-security-policy": csp})

    app.add_route(DOCS_PATH, docs_page, methods=["GET"], include_in_schema=False)
    for name, media_type in ASSETS.items():
        app.add_route(
            f"{ASSETS_PATH}/{name}",
            _asset_endpoint(name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def docs_csp(scripts: list[str]) -> str:
    """Swagger UI's own files, the page's inline start-up script by its hash, the data: icons of its CSS,
    and requests to this API (the schema, "Try it out", the token form); nothing from anywhere else.
    Swagger UI submits no form natively (its forms call preventDefault and fetch), so no form target.

    A hash rather than a nonce: the page is the same for every request, so it is built once and its hash
    with it; a nonce would mean rewriting FastAPI's page per request, and moving the script to a file of
    ours would mean forking FastAPI's page."""
    hashes = " ".join(_csp_hash(script) for script in scripts)
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {hashes}",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


def inline_scripts(html: str) -> list[str]:
    """The text of each <script> without a src, exactly as a browser hashes it for the CSP."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return parser.scripts


def _csp_hash(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"'sha256-{digest}'"


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._inside = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.scripts[-1] += data


def _asset_endpoint(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return Response(
            _asset_bytes(name), media_type=media_type, headers={"cache-control": _ASSET_CACHE_CONTROL}
        )

    return serve


@cache  # read once, on the first request for it: about 1.9 MB in all, held only where docs are on
def _asset_bytes(name: str) -> bytes:
    return resources.files(_RESOURCES).joinpath(name).read_bytes()
