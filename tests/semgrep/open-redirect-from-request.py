# Tests for rule open-redirect-from-request (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.api.deps import ReadableFile

router = APIRouter()
ALLOWED_RETURN_PATHS = frozenset({"/files", "/shares", "/users/me"})


@router.get("/auth/done")
def after_login(next: str) -> RedirectResponse:
    # ruleid: open-redirect-from-request
    return RedirectResponse(next)


@router.get("/auth/continue")
async def continue_to(target: Annotated[str | None, Query(max_length=2048)] = None) -> RedirectResponse:
    # ruleid: open-redirect-from-request
    return RedirectResponse(url=target or "/files", status_code=303)


@router.get("/go")
def go(request: Request) -> RedirectResponse:
    destination = request.query_params.get("to", "/")
    # ruleid: open-redirect-from-request
    return RedirectResponse(destination)


@router.post("/logout/redirect")
def logout_redirect(request: Request) -> RedirectResponse:
    referer = request.headers.get("referer", "/")
    # ruleid: open-redirect-from-request
    return RedirectResponse(referer, status_code=303)


@router.get("/legacy/{path}")
def legacy(path: str) -> Response:
    # ruleid: open-redirect-from-request
    return Response(status_code=307, headers={"Location": "https://" + path})


# --- redirects this kind of app makes safely -----------------------------------------------------


@router.get("/files/{file_id}/latest")
def latest(file_id: UUID, record: ReadableFile, request: Request) -> RedirectResponse:
    # ok: open-redirect-from-request
    return RedirectResponse(request.url_for("read_file", file_id=str(file_id)))


@router.get("/docs-home")
def docs_home() -> RedirectResponse:
    # ok: open-redirect-from-request
    return RedirectResponse("/docs")


@router.get("/u/{username}")
def profile(username: str) -> RedirectResponse:
    # ok: open-redirect-from-request
    return RedirectResponse(f"/users/{username}/files", status_code=308)


@router.get("/back")
def back(next: str) -> RedirectResponse:
    if next not in ALLOWED_RETURN_PATHS:
        next = "/files"
    # ok: open-redirect-from-request
    return RedirectResponse(next)


@router.get("/files/{file_id}/open")
def open_file(file_id: UUID, record: ReadableFile) -> RedirectResponse:
    # ok: open-redirect-from-request
    return RedirectResponse(url=f"/files/{file_id}/content")
