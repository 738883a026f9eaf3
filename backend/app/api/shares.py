from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from app.api.deps import CurrentPrincipal, OwnedFile, PageCursor, PageLimit, ServicesDep, not_found
from app.api.schemas import ErrorOut, FilePage, ShareList, ShareOut, ShareRequest, Username
from app.api.views import file_page, share_out
from app.store.base import AlreadySharedError, NotFoundError, Share

router = APIRouter(tags=["shares"])

_OWNER_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}


@router.get("/shares")
async def list_shared_with_me(
    principal: CurrentPrincipal,
    services: ServicesDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> FilePage:
    page = services.store.shares.list_for_user(principal.user.id, limit=limit, cursor=cursor)
    return file_page(page)


@router.post(
    "/files/{file_id}/shares",
    status_code=status.HTTP_201_CREATED,
    responses={**_OWNER_ERRORS, 409: {"model": ErrorOut}},
)
async def share_file(
    body: ShareRequest, record: OwnedFile, principal: CurrentPrincipal, services: ServicesDep
) -> ShareOut:
    recipient = services.store.users.get_by_username(body.username)
    if recipient is None:
        raise not_found()
    if recipient.id == principal.user.id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Cannot share a file with yourself")
    share = Share(
        file_id=record.id,
        user_id=recipient.id,
        username=recipient.username,
        created_at=datetime.now(UTC),
    )
    try:
        services.store.shares.add(share)
    except AlreadySharedError:
        raise HTTPException(status.HTTP_409_CONFLICT, "Already shared with this user") from None
    return share_out(share)


@router.get("/files/{file_id}/shares", responses=_OWNER_ERRORS)
async def list_file_shares(record: OwnedFile, services: ServicesDep) -> ShareList:
    return ShareList(items=[share_out(share) for share in services.store.shares.list_for_file(record.id)])


@router.delete(
    "/files/{file_id}/shares/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_OWNER_ERRORS,
)
async def revoke_share(username: Username, record: OwnedFile, services: ServicesDep) -> None:
    recipient = services.store.users.get_by_username(username)
    if recipient is None:
        raise not_found()
    try:
        services.store.shares.remove(record.id, recipient.id)
    except NotFoundError:
        raise not_found() from None
