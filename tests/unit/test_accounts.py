"""The account rules as the API and the CLI share them (app/services/accounts.py), below HTTP."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.exceptions import CurrentPasswordIncorrectError, InvalidCredentialsError, NotFoundError
from app.factory import build_context
from app.services import accounts
from tests.support.api import PASSWORD
from tests.support.apps import fast_passwords

NEW_PASSWORD = "a different long passphrase"  # pragma: allowlist secret

# The rules hold on either store.
pytestmark = pytest.mark.both_stores


@pytest.mark.threat("T-06")
def test_a_password_change_needs_the_current_password(settings: Settings) -> None:
    context = build_context(settings, passwords=fast_passwords())
    user = accounts.register(context, username="alice_pw", password=PASSWORD)

    with pytest.raises(CurrentPasswordIncorrectError):
        accounts.change_password(context, user=user, current_password=NEW_PASSWORD, new_password=NEW_PASSWORD)
    unchanged = context.store.users.get(user.id)
    assert unchanged is not None
    assert (unchanged.password_hash, unchanged.token_version) == (user.password_hash, 0)

    accounts.change_password(context, user=user, current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert accounts.authenticate(context, username="alice_pw", password=NEW_PASSWORD).token_version == 1
    with pytest.raises(InvalidCredentialsError):
        accounts.authenticate(context, username="alice_pw", password=PASSWORD)


def test_roles_and_deletion_name_an_existing_user(settings: Settings) -> None:
    context = build_context(settings, passwords=fast_passwords())
    with pytest.raises(NotFoundError):
        accounts.set_role(context, username="nobody_here", role="admin")
    with pytest.raises(NotFoundError):
        accounts.delete_account(context, username="nobody_here")
    user = accounts.register(context, username="bob_role", password=PASSWORD)
    accounts.set_role(context, username="bob_role", role="admin")
    assert accounts.find_user(context, "bob_role").role == "admin"
    accounts.delete_account(context, username="bob_role")
    assert context.store.users.get(user.id) is None
