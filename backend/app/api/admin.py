from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import PageCursor, PageLimit, ServicesDep, require_admin
from app.api.schemas import UserPage
from app.api.views import admin_user_out

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/users")
async def list_users(
    services: ServicesDep,
    limit: PageLimit,
    cursor: PageCursor = None,
) -> UserPage:
    page = services.store.users.list(limit=limit, cursor=cursor)
    return UserPage(items=[admin_user_out(user) for user in page.items], next_cursor=page.next_cursor)
