from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import ContextDep, CurrentPrincipal
from app.api.schemas import PasswordChangeRequest, UserOut, user_out
from app.services import accounts

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
async def read_me(principal: CurrentPrincipal) -> UserOut:
    return user_out(principal.user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChangeRequest, principal: CurrentPrincipal, context: ContextDep) -> None:
    accounts.change_password(
        context,
        user=principal.user,
        current_password=body.current_password,
        new_password=body.new_password,
    )
