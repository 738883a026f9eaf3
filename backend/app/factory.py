"""Builds the app from Settings: the one place that chooses the local or the AWS parts (store and
signing keys), once per process, never per request. Local mode imports nothing from boto3; AWS mode's
clients come from app/aws_clients.py."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.deps import attach_context
from app.api.errors import install_error_handlers
from app.api.middleware import AccessLogMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from app.api.route_table import assert_route_policies, include_routes
from app.config import Settings
from app.context import AppContext
from app.logs import configure_logging
from app.security.keys import NoSigningKeys, SigningKeys, StaticKeys, load_or_create_key_file
from app.security.passwords import Passwords
from app.security.tokens import TokenService
from app.store.base import Store

# Room for the multipart envelope around a file of exactly MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def build_context(settings: Settings, *, passwords: Passwords | None = None) -> AppContext:
    """Everything the services need. `passwords` defaults to the production Argon2id cost."""
    store, keys = _aws_parts(settings) if settings.app_mode == "aws" else _local_parts(settings)
    tokens = TokenService(
        keys=keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return AppContext(settings=settings, store=store, tokens=tokens, passwords=passwords or Passwords())


def _local_parts(settings: Settings) -> tuple[Store, SigningKeys]:
    from app.store.local import local_store

    if settings.jwt_secret is not None:
        keys = StaticKeys(settings.jwt_secret.get_secret_value().encode(), source="JWT_SECRET")
    else:
        keys = StaticKeys(load_or_create_key_file(settings.data_dir), source="the dev key file")
    return local_store(settings.data_dir), keys


def _aws_parts(settings: Settings) -> tuple[Store, SigningKeys]:
    from app.aws_clients import aws_client
    from app.security.keys import SecretsManagerKeys
    from app.store.aws import dynamodb_s3_store

    region = settings.aws_region
    store = dynamodb_s3_store(
        aws_client("dynamodb", region=region),
        aws_client("s3", region=region),
        table_name=settings.table_name,
        bucket_name=settings.bucket_name,
    )
    if settings.jwt_secret_arn is None:  # the operator CLI only (OperatorSettings); Settings requires it
        return store, NoSigningKeys()
    keys = SecretsManagerKeys(
        aws_client("secretsmanager", region=region),
        settings.jwt_secret_arn,
        ttl_seconds=settings.secret_cache_ttl_seconds,
    )
    return store, keys


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    configure_logging(settings.log_level)
    docs = settings.docs_enabled
    app = FastAPI(
        title="fastapi-lambda file share",
        version="1.0.0",
        # FastAPI's own docs page loads Swagger UI from a CDN: app.api.docs serves it from a locked package.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    attach_context(app, context or build_context(settings))
    include_routes(app, docs=docs)
    if docs:
        # Imported here so that production (no docs) never loads it: the Lambda cold start pays for imports.
        from app.api.docs import include_docs

        include_docs(app)
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
