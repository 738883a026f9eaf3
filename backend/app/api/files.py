from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile, status
from fastapi.responses import StreamingResponse

from app.api.deps import ContextDep, CurrentPrincipal, OwnedFile, PageCursor, PageLimit, ReadableFile
from app.api.errors import documented
from app.api.schemas import FileOut, FilePage, file_out, file_page
from app.exceptions import (
    FileTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedContentTypeError,
)
from app.services import files

router = APIRouter(prefix="/files", tags=["files"])

_FILE_ERRORS = documented(PermissionDeniedError, NotFoundError)


def content_disposition(name: str) -> str:
    """RFC 6266 attachment with an ASCII fallback and an RFC 5987 `filename*` for the real name."""
    ascii_name = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\/;' else "_" for ch in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=documented(FileTooLargeError, UnsupportedContentTypeError),
)
def upload_file(
    file: Annotated[UploadFile, File()], principal: CurrentPrincipal, context: ContextDep
) -> FileOut:
    record = files.store_upload(
        context,
        owner_id=principal.user.id,
        source=file.file,
        filename=file.filename,
        declared_type=file.content_type,
    )
    return file_out(record)


@router.get("")
async def list_files(
    principal: CurrentPrincipal,
    context: ContextDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> FilePage:
    return file_page(files.list_files(context, owner_id=principal.user.id, limit=limit, cursor=cursor))


@router.get("/{file_id}", responses=_FILE_ERRORS)
async def read_file(record: ReadableFile) -> FileOut:
    return file_out(record)


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={**_FILE_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
)
def download_file(record: ReadableFile, context: ContextDep) -> StreamingResponse:
    content = files.content(context, record)
    return StreamingResponse(
        content.chunks,
        media_type=content.media_type,
        headers={
            "Content-Disposition": content_disposition(record.name),
            "Content-Length": str(record.size),
            "X-Content-Type-Options": "nosniff",
            # Even if a browser rendered it, the document could run nothing and reach nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_FILE_ERRORS)
async def remove_file(record: OwnedFile, context: ContextDep) -> None:
    files.delete_file(context, record)
