from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile, status
from fastapi.responses import StreamingResponse

from app.api.deps import CurrentPrincipal, OwnedFile, PageCursor, PageLimit, ReadableFile, ServicesDep
from app.api.schemas import ErrorOut, FileOut, FilePage
from app.api.views import file_out, file_page
from app.services.filenames import content_disposition
from app.services.files import delete_file, store_upload
from app.store.base import blob_key

router = APIRouter(prefix="/files", tags=["files"])

_FILE_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
)
def upload_file(
    file: Annotated[UploadFile, File()], principal: CurrentPrincipal, services: ServicesDep
) -> FileOut:
    record = store_upload(
        services,
        owner_id=principal.user.id,
        source=file.file,
        filename=file.filename,
        declared_type=file.content_type,
    )
    return file_out(record)


@router.get("")
async def list_files(
    principal: CurrentPrincipal,
    services: ServicesDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> FilePage:
    page = services.store.files.list_owned(principal.user.id, limit=limit, cursor=cursor)
    return file_page(page)


@router.get("/{file_id}", responses=_FILE_ERRORS)
async def read_file(record: ReadableFile) -> FileOut:
    return file_out(record)


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={**_FILE_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
)
def download_file(record: ReadableFile, services: ServicesDep) -> StreamingResponse:
    allowed = services.settings.allowed_content_types
    media_type = record.content_type if record.content_type in allowed else "application/octet-stream"
    return StreamingResponse(
        services.store.blobs.open(blob_key(record)),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(record.name),
            "Content-Length": str(record.size),
            "X-Content-Type-Options": "nosniff",
            # Even if a browser rendered it, the document could run nothing and reach nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_FILE_ERRORS)
async def remove_file(record: OwnedFile, services: ServicesDep) -> None:
    delete_file(services, record=record)
