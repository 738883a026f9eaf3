# Tests for rule cors-wildcard-with-credentials (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
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
