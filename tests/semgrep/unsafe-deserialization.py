# Tests for rule unsafe-deserialization (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import base64
import json
import marshal
import pickle
from typing import Annotated

import jsonpickle
import yaml
from fastapi import APIRouter, Cookie, File, Request, UploadFile
from pydantic import BaseModel

from app.api.deps import OwnedFile

router = APIRouter()


class ShareRequest(BaseModel):
    username: str


@router.post("/import")
async def import_files(request: Request) -> dict:
    # ruleid: unsafe-deserialization
    files = pickle.loads(await request.body())
    return {"imported": len(files)}


@router.get("/preferences")
def preferences(session: Annotated[str, Cookie()]) -> dict:
    # ruleid: unsafe-deserialization
    return jsonpickle.decode(base64.b64decode(session))


@router.post("/manifest")
async def manifest(file: Annotated[UploadFile, File()]) -> dict:
    # ruleid: unsafe-deserialization
    return yaml.load(await file.read(), Loader=yaml.Loader)


def cached_listing(blob: bytes) -> list:
    # ruleid: unsafe-deserialization
    return marshal.loads(blob)


def legacy_config(stream) -> dict:
    # ruleid: unsafe-deserialization
    return yaml.load(stream)


def restore_state(path: str) -> dict:
    with open(path, "rb") as handle:
        # ruleid: unsafe-deserialization
        return pickle.load(handle)


# --- what this project really does: JSON validated by pydantic, YAML with the safe loader --------


@router.post("/files/{file_id}/shares")
def share(body: ShareRequest, record: OwnedFile) -> dict:
    # ok: unsafe-deserialization
    return {"username": body.username}


def read_template(path: str) -> dict:
    with open(path) as handle:
        # ok: unsafe-deserialization
        return yaml.safe_load(handle)


def read_all(stream) -> list:
    # ok: unsafe-deserialization
    return list(yaml.load_all(stream, Loader=yaml.SafeLoader))


def read_fast(stream) -> dict:
    # ok: unsafe-deserialization
    return yaml.load(stream, yaml.CSafeLoader)


def cursor_of(token: str) -> dict:
    # ok: unsafe-deserialization
    return json.loads(base64.urlsafe_b64decode(token))


def deep_copy(value: dict) -> dict:
    # ok: unsafe-deserialization
    return pickle.loads(pickle.dumps(value))
