from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from app.api.deps import CurrentPrincipal, ServicesDep
from app.api.schemas import PasswordChangeRequest, UserOut
from app.security.passwords import verify_password
from app.services import accounts

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
async def read_me(principal: CurrentPrincipal) -> UserOut:
    user = principal.user
    return UserOut(id=user.id, username=user.username, role=user.role)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChangeRequest, principal: CurrentPrincipal, services: ServicesDep) -> None:
    if not verify_password(body.current_password, principal.user.password_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Current password is incorrect")
    accounts.change_password(services.store, user=principal.user, new_password=body.new_password)
