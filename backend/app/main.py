"""The Lambda entry point (`app.main.handler`) and the ASGI app for uvicorn (`app.main:app`).

Both are built at import, which on Lambda is the init phase: settings are read, the store and the key
provider are constructed once and reused by every invocation of this execution environment.
"""

from __future__ import annotations

from mangum import Mangum

from app.config import Settings
from app.factory import create_app

app = create_app(Settings())
# lifespan="off": Mangum would run startup/shutdown on every invocation; nothing here needs them.
handler = Mangum(app, lifespan="off")
