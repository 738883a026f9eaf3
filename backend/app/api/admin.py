from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import ContextDep, PageCursor, PageLimit, require_admin
from app.api.schemas import UserPage, user_page
from app.services import accounts

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/users")
async def list_users(
    context: ContextDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> UserPage:
    return user_page(accounts.list_users(context, limit=limit, cursor=cursor))
