"""Builds the FastAPI app from Settings. AWS clients are created here, once, never per request; local
mode imports nothing from boto3."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.errors import install_error_handlers
from app.api.middleware import AccessLogMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from app.api.route_table import assert_route_policies, include_routes
from app.config import Settings
from app.context import Services
from app.logs import configure_logging
from app.security.keys import SigningKeys, StaticKeys, load_or_create_key_file
from app.security.tokens import TokenService
from app.store.base import Store

# Room for the multipart envelope around a file of exactly MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def build_services(settings: Settings) -> Services:
    store, keys = _aws_parts(settings) if settings.app_mode == "aws" else _local_parts(settings)
    tokens = TokenService(
        keys=keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return Services(settings=settings, store=store, tokens=tokens)


def _local_parts(settings: Settings) -> tuple[Store, SigningKeys]:
    from app.store.local import local_store

    if settings.jwt_secret is not None:
        keys = StaticKeys(settings.jwt_secret.get_secret_value().encode(), source="JWT_SECRET")
    else:
        keys = StaticKeys(load_or_create_key_file(settings.data_dir), source="the dev key file")
    return local_store(settings.data_dir), keys


def _aws_parts(settings: Settings) -> tuple[Store, SigningKeys]:
    from app.aws_clients import aws_keys, aws_store

    return aws_store(settings), aws_keys(settings)


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    configure_logging(settings.log_level)
    docs = settings.docs_enabled
    app = FastAPI(
        title="fastapi-lambda file share",
        version="1.0.0",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        swagger_ui_parameters={"persistAuthorization": False},
    )
    app.state.services = services or build_services(settings)
    include_routes(app)
    install_error_handlers(app)
    assert_route_policies(app)

    # Added innermost first: the access log wraps the body limit, so it also sees refused bodies.
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_credentials=False,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    )
    app.add_middleware(AccessLogMiddleware)
    # Outermost, so the access log's generic 500 carries the headers too.
    app.add_middleware(SecurityHeadersMiddleware)
    return app
