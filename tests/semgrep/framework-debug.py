# Tests for rule framework-debug (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import asyncio
import os

import aiohttp_debugtoolbar
from aiohttp import web
from flask import Flask
from werkzeug.serving import run_simple

from app import create_app

flask_app = Flask(__name__)
# ruleid: framework-debug
flask_app.config["DEBUG"] = True


def create_admin_app() -> Flask:
    admin = Flask("admin")
    # ruleid: framework-debug
    admin.config.update(DEBUG=True, SECRET_KEY=os.environ["SECRET_KEY"])
    return admin


def serve_with_werkzeug() -> None:
    # ruleid: framework-debug
    run_simple("127.0.0.1", 5000, flask_app, use_reloader=True, use_debugger=True)


async def make_aiohttp_app() -> web.Application:
    app = web.Application()
    # ruleid: framework-debug
    aiohttp_debugtoolbar.setup(app, intercept_redirects=False)
    return app


if __name__ == "__main__":
    application = create_app()
    # ruleid: framework-debug
    application.run(host="0.0.0.0", port=5000, debug=True)


# --- debug left off, or switched on by an explicit setting -----------------------------------


def run_dev(settings) -> None:
    # ok: framework-debug
    flask_app.run(host="127.0.0.1", port=5000, debug=settings.debug)


async def make_app(settings) -> web.Application:
    app = web.Application()
    if settings.debug_toolbar:
        # ok: framework-debug
        aiohttp_debugtoolbar.setup(app)
    return app


def configure(app: Flask) -> None:
    # ok: framework-debug
    app.config.update(DEBUG=False, TESTING=False)
    # ok: framework-debug
    app.config["DEBUG"] = os.environ.get("FLASK_DEBUG") == "1"


def main(coroutine) -> None:
    # ok: framework-debug
    asyncio.run(coroutine, debug=True)
