"""The threat model's two worked examples, named as the threat model names them."""

from __future__ import annotations

import pytest

from tests.support.api import Api

# The contract holds on either store: each test runs on SQLite + a folder and on DynamoDB + S3.
pytestmark = pytest.mark.both_stores


@pytest.mark.threat("T-01")
def test_missing_token_is_401(api: Api) -> None:
    response = api.client.get("/files")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.threat("T-07")
def test_user1_token_on_user2_file_is_403(api: Api) -> None:
    user1, user2 = api.register(), api.register()
    file_id = api.upload(user2, b"user2's private notes\n")["id"]

    response = api.client.get(f"/files/{file_id}", headers=user1.headers)
    assert response.status_code == 403
    assert api.client.get(f"/files/{file_id}/content", headers=user1.headers).status_code == 403
    # The owner still sees it: the 403 is about who asks, not about the file.
    assert api.client.get(f"/files/{file_id}", headers=user2.headers).status_code == 200
