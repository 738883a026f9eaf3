# Tests for rule fastapi-debug (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import os

import fastapi
import uvicorn
from fastapi import FastAPI
from mangum import Mangum
from starlette.applications import Starlette

# ruleid: fastapi-debug
app = FastAPI(debug=True)

# ruleid: fastapi-debug
api = fastapi.FastAPI(title="file share", version="1.0.0", debug=True, docs_url="/docs")

# ruleid: fastapi-debug
internal = Starlette(True, routes=[])

# ruleid: fastapi-debug
admin = Starlette(routes=[], debug=True)


def create_debug_app() -> FastAPI:
    application = FastAPI(title="file share")
    # ruleid: fastapi-debug
    application.debug = True
    return application


def enable_debug() -> None:
    # ruleid: fastapi-debug
    app.debug = True


if __name__ == "__main__":
    # ruleid: fastapi-debug
    uvicorn.run("app.main:app", host="127.0.0.1", port=8000, reload=True)


def serve_with_config() -> None:
    # ruleid: fastapi-debug
    config = uvicorn.Config(app, host="127.0.0.1", port=8000, log_level="info", reload=True)
    uvicorn.Server(config).run()


# --- what this project really does -------------------------------------------------------------


def create_app(settings) -> FastAPI:
    docs = settings.docs_enabled
    # ok: fastapi-debug
    application = FastAPI(
        title="fastapi-lambda file share",
        version="1.0.0",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    return application


# ok: fastapi-debug
production = FastAPI(debug=False, title="file share")

# ok: fastapi-debug
handler = Mangum(production, lifespan="off")


def run_dev_server(host: str, port: int) -> None:
    # ok: fastapi-debug
    uvicorn.run("app.main:app", host=host, port=port, access_log=False)


def run_configured(settings) -> None:
    # ok: fastapi-debug
    uvicorn.run(production, host="127.0.0.1", port=8000, reload=False, log_level=settings.log_level)


def configure_logging(logger, settings) -> None:
    # ok: fastapi-debug
    logger.debug = True
    # ok: fastapi-debug
    settings.debug = os.environ.get("DEBUG") == "1"
