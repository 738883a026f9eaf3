from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentPrincipal, ServicesDep
from app.api.schemas import ErrorOut, RegisterRequest, TokenOut, UserCreated
from app.services import accounts
from app.store.base import UsernameTakenError

public_router = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])


@public_router.post("/register", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorOut}})
def register(body: RegisterRequest, services: ServicesDep) -> UserCreated:
    try:
        user = accounts.register(services.store, username=body.username, password=body.password)
    except UsernameTakenError:
        raise HTTPException(status.HTTP_409_CONFLICT, "Username already taken") from None
    return UserCreated(id=user.id, username=user.username)


@public_router.post("/token", responses={401: {"model": ErrorOut}})
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep) -> TokenOut:
    user = accounts.authenticate(services.store, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    issued = services.tokens.issue(user_id=user.id, token_version=user.token_version)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, services: ServicesDep) -> None:
    services.store.revocations.revoke(principal.claims.token_id, expires_at=principal.claims.expires_at)
