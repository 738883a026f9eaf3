"""The Lambda entry point (`app.main.handler`) and the ASGI app for uvicorn (`app.main:app`).

Both are built at import, which on Lambda is the init phase: settings are read, the store and the key
provider are constructed once and reused by every invocation of this execution environment.
"""

from __future__ import annotations

import os

from mangum import Mangum

from app.config import ConfigurationError, Settings, load_settings, report
from app.factory import create_app

try:
    app = create_app(load_settings(Settings))
except ConfigurationError as error:
    if "AWS_LAMBDA_RUNTIME_API" in os.environ:
        # The runtime catches the exception and reports the init error with errorType ConfigurationError
        # and the sentence as errorMessage; exiting instead would leave only "Runtime exited".
        raise
    # uvicorn prints nothing of a SystemExit raised while it imports the app: the line above is all.
    raise SystemExit(report(error)) from None
# lifespan="off": Mangum would run startup/shutdown on every invocation; nothing here needs them.
handler = Mangum(app, lifespan="off")
