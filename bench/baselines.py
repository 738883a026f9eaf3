"""The floors each figure is measured against: the least any FastAPI-on-Lambda app must import and do.

Each is an importable module so a fresh interpreter can time its import exactly like app.main's.
"""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
