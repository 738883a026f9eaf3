from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import ContextDep, CurrentPrincipal
from app.api.errors import documented
from app.api.schemas import RegisterRequest, TokenOut, UserCreated
from app.exceptions import InvalidCredentialsError, UsernameTakenError
from app.services import accounts

public_router = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])


@public_router.post(
    "/register", status_code=status.HTTP_201_CREATED, responses=documented(UsernameTakenError)
)
def register(body: RegisterRequest, context: ContextDep) -> UserCreated:
    user = accounts.register(context, username=body.username, password=body.password)
    return UserCreated(id=user.id, username=user.username)


@public_router.post("/token", responses=documented(InvalidCredentialsError))
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], context: ContextDep) -> TokenOut:
    issued = accounts.log_in(context, username=form.username, password=form.password)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, context: ContextDep) -> None:
    accounts.log_out(context, principal)
