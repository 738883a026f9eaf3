from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import ContextDep, CurrentPrincipal, OwnedFile, PageCursor, PageLimit
from app.api.errors import documented
from app.api.schemas import FilePage, ShareList, ShareOut, ShareRequest, Username, file_page, share_out
from app.exceptions import AlreadySharedError, NotFoundError, PermissionDeniedError, TooManyAttemptsError
from app.services import shares

router = APIRouter(tags=["shares"])

_OWNER_ERRORS = documented(PermissionDeniedError, NotFoundError)


@router.get("/shares")
async def list_shared_with_me(
    principal: CurrentPrincipal,
    context: ContextDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> FilePage:
    return file_page(shares.shared_with(context, user_id=principal.user.id, limit=limit, cursor=cursor))


@router.post(
    "/files/{file_id}/shares",
    status_code=status.HTTP_201_CREATED,
    responses={**_OWNER_ERRORS, **documented(AlreadySharedError, TooManyAttemptsError)},
)
async def share_file(
    body: ShareRequest, record: OwnedFile, principal: CurrentPrincipal, context: ContextDep
) -> ShareOut:
    share = shares.share_file(context, record=record, owner=principal.user, username=body.username)
    return share_out(share)


@router.get("/files/{file_id}/shares", responses=_OWNER_ERRORS)
async def list_file_shares(record: OwnedFile, context: ContextDep) -> ShareList:
    return ShareList(items=[share_out(share) for share in shares.shares_of(context, record)])


@router.delete(
    "/files/{file_id}/shares/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_OWNER_ERRORS,
)
async def revoke_share(username: Username, record: OwnedFile, context: ContextDep) -> None:
    shares.revoke_share(context, record=record, username=username)
