# Tests for rule cors-wildcard-with-credentials (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic_settings import BaseSettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

app = FastAPI()

# ruleid: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])

# ruleid: cors-wildcard-with-credentials
app.add_middleware(
    CORSMiddleware,
    allow_credentials=True,
    allow_methods=["GET", "POST", "DELETE"],
    allow_origins=["https://app.example.com", "*"],
)

middleware = [
    # ruleid: cors-wildcard-with-credentials
    Middleware(StarletteCORSMiddleware, allow_origins=("*",), allow_credentials=True),
]
api = Starlette(middleware=middleware)


def create_app() -> FastAPI:
    application = FastAPI()
    # ruleid: cors-wildcard-with-credentials
    application.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True)
    return application


# --- what this project really does: explicit origins, no credentials ----------------------------


def install_cors(application: FastAPI, settings) -> None:
    if settings.cors_allow_origins:
        # ok: cors-wildcard-with-credentials
        application.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_credentials=False,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )


# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"])




def install_cors_explicit(application: FastAPI, settings) -> None:
    # ok: cors-wildcard-with-credentials
    application.add_middleware(
        CORSMiddleware,
        allow_origins=[origin for origin in settings.cors_allow_origins if origin != "*"],
        allow_credentials=True,
    )

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://.*\.example\.com", allow_credentials=True)


# --- wildcard in effect: host patterns that match other people's domains -------------------------

# ruleid: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://.*example\.com", allow_credentials=True)

# ruleid: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex="https://app.example.com", allow_credentials=True)

# ruleid: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://app\.example\.com.*", allow_credentials=True)

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex="https://.*\\.example\\.com", allow_credentials=True)

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://(.*\.)?example\.com", allow_credentials=True)

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"http://localhost:\d+", allow_credentials=True)


# --- wildcard in effect: settings and environment defaults ----------------------------------------


class CorsSettings(BaseSettings):
    # ruleid: cors-wildcard-with-credentials
    BACKEND_CORS_ORIGINS: list[str] = ["*"]
    CORS_ALLOW_CREDENTIALS: bool = True


cors_settings = CorsSettings()

# ruleid: cors-wildcard-with-credentials
app.add_middleware(
    CORSMiddleware,
    allow_origins=cors_settings.BACKEND_CORS_ORIGINS,
    allow_credentials=cors_settings.CORS_ALLOW_CREDENTIALS,
    allow_methods=["*"],
)

cors_origins = os.getenv("CORS_ORIGINS", "*").split(",")
# ruleid: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_credentials=True)


class ListedOriginsSettings(BaseSettings):
    # ok: cors-wildcard-with-credentials
    cors_allow_origins: list[str] = []
    cors_allow_credentials: bool = True


class PublicReadSettings(BaseSettings):
    # ok: cors-wildcard-with-credentials
    cors_origins: list[str] = ["*"]
    cors_allow_credentials: bool = False


listed_settings = ListedOriginsSettings()
# ok: cors-wildcard-with-credentials
app.add_middleware(
    CORSMiddleware,
    allow_origins=listed_settings.cors_allow_origins,
    allow_credentials=listed_settings.cors_allow_credentials,
)

public_settings = PublicReadSettings()
# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=public_settings.cors_origins, allow_credentials=False)

frontend_origins = os.getenv("CORS_ORIGINS", "https://app.example.com").split(",")
# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=frontend_origins, allow_credentials=True)

# Any subdomain of a shared hosting domain: anyone can publish evil.vercel.app.
# ruleid: cors-wildcard-with-credentials
app.add_middleware(
    CORSMiddleware,
    allow_origins=["http://localhost:5173"],
    allow_origin_regex=r"https://.*\.vercel\.app",
    allow_credentials=True,
    allow_methods=["*"],
)

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://.*\.vercel\.app", allow_methods=["GET"])

# ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://files-[a-z0-9]+\.example\.com", allow_credentials=True)
