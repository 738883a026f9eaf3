# Tests for rule path-traversal-through-helper (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import os
import shutil
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse
from flask import Blueprint, request, send_file

from app.api.deps import ReadableFile

router = APIRouter()
legacy = Blueprint("legacy", __name__)
DATA_DIR = Path(".data")
BLOBS = DATA_DIR / "blobs"


def _read_blob(name: str) -> bytes:
    with open(BLOBS / name, "rb") as handle:
        return handle.read()


def _serve_named(name: str) -> FileResponse:
    return FileResponse(BLOBS / Path(name).name, filename=name)


def _store(folder: str, upload: UploadFile) -> None:
    with open(os.path.join(DATA_DIR, folder, "upload.bin"), "wb") as out:
        shutil.copyfileobj(upload.file, out)


@router.get("/blobs/{name}")
def blob(name: str) -> bytes:
    # ruleid: path-traversal-through-helper
    return _read_blob(name)


@router.delete("/exports/{folder}")
async def delete_export(folder: str) -> None:
    # ruleid: path-traversal-through-helper
    _remove_tree(folder)


@router.post("/uploads")
def upload(file: Annotated[UploadFile, File()]) -> None:
    # ruleid: path-traversal-through-helper
    _store(file.filename or "incoming", file)


@legacy.route("/download")
def legacy_download():
    # ruleid: path-traversal-through-helper
    return _send(request.args.get("name", ""))


# --- ids, reduced names and constants ------------------------------------------------------------


@router.get("/named/{name}")
def named(name: str) -> FileResponse:
    # ok: path-traversal-through-helper
    return _serve_named(name)


@router.get("/blobs/{file_id}/bytes")
def blob_by_id(file_id: UUID, record: ReadableFile) -> bytes:
    # ok: path-traversal-through-helper
    return _read_blob(str(file_id))


@router.get("/exports/latest")
def latest_export(q: str) -> bytes:
    # ok: path-traversal-through-helper
    return _read_blob("latest.zip") + q.encode()


@router.get("/thumbnails/{name}")
def thumbnail(name: str) -> bytes:
    # ok: path-traversal-through-helper
    return _read_blob(Path(name).name)


def _remove_tree(folder: str) -> None:
    shutil.rmtree(os.path.join(DATA_DIR, "exports", folder))


def _send(name: str):
    return send_file(os.path.join(DATA_DIR, "public", name))
