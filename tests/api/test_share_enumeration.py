"""User enumeration through sharing (issue 16, threat T-26). The promise: below the budget, sharing
answers as documented (201 for a user, 404 for a name nobody has: usernames are not secret, see
services/shares.py); once an account has named `UNKNOWN_RECIPIENTS_PER_WINDOW` unknown recipients in
a window, every share it attempts gets one and the same answer, existing name or not, and nothing is
shared, in every process on the store. Answers are compared, never clocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from app.config import Settings
from app.services.shares import UNKNOWN_RECIPIENTS_PER_WINDOW
from tests.support.api import Api, Session
from tests.support.apps import client_for, make_app

pytestmark = [pytest.mark.both_stores, pytest.mark.inprocess]


@pytest.fixture
def second_api(settings: Settings) -> Iterator[Api]:
    """Another instance of the app on the same store: another Lambda execution environment."""
    with client_for(make_app(settings), "asgi") as client:
        yield Api(client)


def share(api: Api, owner: Session, file_id: str, username: str) -> tuple[int, dict[str, str], str]:
    response = api.client.post(f"/files/{file_id}/shares", headers=owner.headers, json={"username": username})
    return response.status_code, response.json(), response.headers.get("retry-after", "")


@pytest.mark.threat("T-26")
def test_past_the_budget_of_unknown_recipients_every_share_gets_the_same_429(
    api: Api, app: FastAPI, second_api: Api
) -> None:
    owner, known, bystander = api.register(), api.register(), api.register()
    file_id = api.upload(owner)["id"]
    # Below the budget: the documented answers, which do tell the two apart.
    assert share(api, owner, file_id, known.username)[0] == 201
    for index in range(UNKNOWN_RECIPIENTS_PER_WINDOW):
        assert share(api, owner, file_id, f"nobody_{index}")[0] == 404

    another = api.register()
    answers = {
        "unknown": share(api, owner, file_id, "nobody_else"),
        "existing": share(api, owner, file_id, another.username),
        "existing, through another instance": share(second_api, owner, file_id, another.username),
        "unknown, through another instance": share(second_api, owner, file_id, "nobody_else"),
    }
    refused = (429, {"detail": "Too many attempts; retry later"}, "900")
    assert answers == dict.fromkeys(answers, refused), answers
    listed = api.client.get(f"/files/{file_id}/shares", headers=owner.headers).json()["items"]
    assert [item["username"] for item in listed] == [known.username]

    # The budget is the owner's: another account still gets the documented answers.
    other_file = api.upload(bystander)["id"]
    assert share(api, bystander, other_file, another.username)[0] == 201
    assert share(api, bystander, other_file, "nobody_0")[0] == 404


@pytest.mark.threat("T-26")
def test_revoking_answers_alike_for_an_unknown_name_and_a_user_without_a_share(api: Api) -> None:
    owner, stranger = api.register(), api.register()
    file_id = api.upload(owner)["id"]
    answers = [
        api.client.delete(f"/files/{file_id}/shares/{username}", headers=owner.headers)
        for username in (stranger.username, "nobody_at_all")
    ]
    assert [(r.status_code, r.json()) for r in answers] == [(404, {"detail": "Not found"})] * 2
