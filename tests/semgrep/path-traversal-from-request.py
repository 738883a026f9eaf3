# Tests for rule path-traversal-from-request (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import os
import shutil
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from flask import Blueprint, request, send_file

from app.api.deps import ReadableFile

router = APIRouter()
legacy = Blueprint("legacy", __name__)
DATA_DIR = Path(".data")
BLOBS = DATA_DIR / "blobs"


@router.get("/files/by-name/{name}")
def download_by_name(name: str) -> FileResponse:
    # ruleid: path-traversal-from-request
    return FileResponse(BLOBS / name)


@router.get("/export")
async def export(folder: Annotated[str, Query(max_length=255)]) -> StreamingResponse:
    # ruleid: path-traversal-from-request
    handle = open(os.path.join(DATA_DIR, folder, "export.zip"), "rb")
    return StreamingResponse(handle)


@router.delete("/files/by-name/{name}")
def delete_by_name(name: str) -> None:
    # ruleid: path-traversal-from-request
    Path(DATA_DIR, "blobs", name).unlink(missing_ok=True)


@router.post("/files/raw")
def upload_raw(file: Annotated[UploadFile, File()]) -> dict:
    # ruleid: path-traversal-from-request
    with open(BLOBS / file.filename, "wb") as out:
        shutil.copyfileobj(file.file, out)
    return {"name": file.filename}


@router.get("/reports")
def report(kind: str | None = None) -> FileResponse:
    target = f"reports/{kind or 'summary'}.json"
    # ruleid: path-traversal-from-request
    return FileResponse(path=target, media_type="application/json")


# --- what this project really does: ids in paths, names are display metadata only -------------


@router.get("/files/{file_id}/content")
def download(file_id: Annotated[UUID, PathParam(description="The file's id")], record: ReadableFile) -> FileResponse:
    # ok: path-traversal-from-request
    return FileResponse(BLOBS / str(file_id))


@router.get("/files/{file_id}/raw")
def raw(file_id: UUID, owner_id: UUID, record: ReadableFile) -> FileResponse:
    # ok: path-traversal-from-request
    return FileResponse(os.path.join(BLOBS, f"{owner_id}/{file_id}"))


@router.post("/files/sanitised")
def upload_sanitised(file: Annotated[UploadFile, File()]) -> dict:
    name = Path(file.filename or "file").name
    # ok: path-traversal-from-request
    return {"name": name, "stored_as": str(BLOBS / "incoming")}


@router.get("/files/search")
def search(q: Annotated[str, Query(max_length=100)], limit: int = 20) -> dict:
    # ok: path-traversal-from-request
    return {"query": q, "limit": limit, "root": str(Path(DATA_DIR))}


class FolderBlobs:
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        # ok: path-traversal-from-request
        return self._root / key

    def open(self, key: str):
        # ok: path-traversal-from-request
        with self._path(key).open("rb") as handle:
            yield from iter(lambda: handle.read(256 * 1024), b"")



# --- a Flask view a fork may add -----------------------------------------------------------------


@legacy.route("/export")
def legacy_export():
    name = request.args.get("name", "export.zip")
    # ruleid: path-traversal-from-request
    return send_file(os.path.join(DATA_DIR, "exports", name))


@legacy.route("/export/latest")
def legacy_latest():
    # ok: path-traversal-from-request
    return send_file(os.path.join(DATA_DIR, "exports", "latest.zip"))
