# Tests for rule file-route-without-access-dependency (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
from typing import Annotated
from uuid import UUID

import boto3
from fastapi import APIRouter, Depends, File, UploadFile, status

from app.api import deps
from app.api.deps import (
    ContextDep,
    CurrentPrincipal,
    FileId,
    OwnedFile,
    PageLimit,
    ReadableFile,
    owned_file,
    readable_file,
)
from app.api.schemas import FileOut, RenameRequest, ShareRequest, Username, file_out
from app.records import FileRecord
from app.services import files, shares

router = APIRouter(tags=["files"])
blobs = APIRouter(prefix="/blobs", tags=["blobs"])
table = boto3.resource("dynamodb").Table("files")


# --- a file id reaching the handler with no dependency between it and the caller -----------------


# ruleid: file-route-without-access-dependency
@router.get("/files/{file_id}")
async def read_file(file_id: UUID, principal: CurrentPrincipal, context: ContextDep) -> FileOut:
    # ruleid: file-route-without-access-dependency
    return file_out(context.store.files.get(str(file_id)))


# The check called inline: it works until someone copies the handler and forgets it.
# ruleid: file-route-without-access-dependency
@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_file(file_id: FileId, principal: CurrentPrincipal, context: ContextDep) -> None:
    record = files.owned_file(context, user=principal.user, file_id=str(file_id))
    files.delete_file(context, record)


# ruleid: file-route-without-access-dependency
@router.api_route("/files/{file_id:uuid}/content", methods=["GET", "HEAD"])
def download(file_id: UUID, context: ContextDep) -> bytes:
    return files.content_by_id(context, str(file_id))


# ruleid: file-route-without-access-dependency
@router.post(path="/files/{fileId}/copy", status_code=status.HTTP_201_CREATED)
async def copy_file(fileId: UUID, principal: CurrentPrincipal, context: ContextDep) -> FileOut:  # noqa: N803
    return file_out(files.copy(context, owner=principal.user, source_id=str(fileId)))


# ruleid: file-route-without-access-dependency
@blobs.get("/{id}")
async def blob(id: UUID) -> dict:  # noqa: A002
    return table.get_item(Key={"pk": f"FILE#{id}", "sk": "META"})["Item"]


# A query parameter is as much the caller's choice as a path segment.
# ruleid: file-route-without-access-dependency
@router.get("/download")
def download_by_query(file_id: UUID, context: ContextDep, limit: PageLimit) -> bytes:
    return files.content_by_id(context, str(file_id))


# Checked for reading, then written by the path's id: a share recipient renames the owner's file.
@router.put("/files/{file_id}/name")
async def rename(body: RenameRequest, record: ReadableFile, file_id: FileId, context: ContextDep) -> FileOut:
    # ruleid: file-route-without-access-dependency
    context.store.files.rename(str(file_id), body.name)
    return file_out(record)


# Owned, then deleted from the table by the path's id rather than by the checked record.
@router.delete("/files/{file_id}/meta", status_code=status.HTTP_204_NO_CONTENT)
async def remove_meta(record: OwnedFile, file_id: FileId) -> None:
    # ruleid: file-route-without-access-dependency
    table.delete_item(Key={"pk": f"FILE#{file_id}", "sk": "META"})


# --- what app/api/files.py and app/api/shares.py do ----------------------------------------------


# ok: file-route-without-access-dependency
@router.get("/files/{file_id}/meta")
async def read_file_ok(record: ReadableFile) -> FileOut:
    return file_out(record)


# ok: file-route-without-access-dependency
@router.post("/files/{file_id}/shares", status_code=status.HTTP_201_CREATED)
async def share_file(
    body: ShareRequest, record: OwnedFile, principal: CurrentPrincipal, context: ContextDep
) -> dict:
    return shares.share_file(context, record=record, owner=principal.user, username=body.username)


# ok: file-route-without-access-dependency
@router.get("/files/{file_id}/shares")
async def list_file_shares(record: OwnedFile, context: ContextDep) -> list:
    # ok: file-route-without-access-dependency
    return context.store.shares.of_file(record.id)


# ok: file-route-without-access-dependency
@router.delete("/files/{file_id}/blob")
async def remove_blob(record: Annotated[FileRecord, Depends(deps.owned_file)], context: ContextDep) -> None:
    # ok: file-route-without-access-dependency
    context.store.blobs.delete(f"{record.owner_id}/{record.id}")


# ok: file-route-without-access-dependency
@router.get("/files/{file_id}/size")
def size(record: FileRecord = Depends(readable_file)) -> int:  # noqa: B008
    return record.size


# The dependency in the decorator: it refuses the caller before the handler runs.
# ok: file-route-without-access-dependency
@router.delete("/files/{file_id}/shares/{username}", dependencies=[Depends(owned_file)])
async def revoke_share(file_id: FileId, username: Username, context: ContextDep) -> None:
    shares.revoke_share_by_id(context, file_id=str(file_id), username=username)


# No file id: the caller's own files, and an upload (a parameter named `file` is the upload).
# ok: file-route-without-access-dependency
@router.get("/files")
async def list_files(principal: CurrentPrincipal, context: ContextDep, limit: PageLimit) -> list:
    # ok: file-route-without-access-dependency
    return context.store.files.list_owned(principal.user.id, limit=limit)


# ok: file-route-without-access-dependency
@router.post("/files", status_code=status.HTTP_201_CREATED)
def upload_file(
    file: Annotated[UploadFile, File()], principal: CurrentPrincipal, context: ContextDep
) -> FileOut:
    return file_out(files.store_upload(context, owner_id=principal.user.id, source=file.file))


# ok: file-route-without-access-dependency
@router.get("/users/{username}")
async def read_user(username: Username, context: ContextDep) -> dict:
    # ok: file-route-without-access-dependency
    return context.store.users.get_by_name(username)
