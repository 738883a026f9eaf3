"""No route redirects to a location the client chose (T-21).

Semgrep's open-redirect rule reports redirects built from request data, but it only reports (WARNING):
this test is what goes red. It walks every route of the API as a legitimate owner would, with every
common redirect parameter pointing off-site, and requires that no answer is a redirect or carries a
Location header. A parameter name outside the list below escapes it; the rule still reports those.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.support.api import Api

OFF_SITE = "https://evil.example/phish"
REDIRECT_PARAMS = dict.fromkeys(
    (
        "next",
        "url",
        "redirect",
        "redirect_to",
        "redirect_uri",
        "redirect_url",
        "return",
        "return_to",
        "returnTo",
        "continue",
        "dest",
        "destination",
        "target",
        "goto",
        "callback",
    ),
    OFF_SITE,
)


def _no_redirect(response: httpx2.Response) -> None:
    where = f"{response.request.method} {response.request.url.path}"
    assert not 300 <= response.status_code < 400, (where, response.status_code)
    assert "location" not in response.headers, (where, response.headers.get("location"))


@pytest.mark.threat("T-21")
def test_no_route_redirects_to_a_client_supplied_location(api: Api) -> None:
    owner, recipient = api.register(), api.register()
    answers: list[httpx2.Response] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx2.Response:
        # Not followed: a followed redirect would hide the 3xx behind whatever the target answers.
        answer = api.client.request(method, path, params=REDIRECT_PARAMS, follow_redirects=False, **kwargs)
        answers.append(answer)
        return answer

    call("POST", "/auth/register", json={"username": api.unique_username(), "password": owner.password})
    call("POST", "/auth/token", data={"username": owner.username, "password": owner.password})
    call("GET", "/health")
    call("GET", "/users/me", headers=owner.headers)
    upload = call(
        "POST", "/files", headers=owner.headers, files={"file": ("a.txt", b"hello\n", "text/plain")}
    )
    file_id = upload.json().get("id") if upload.status_code == 201 else "00000000-0000-4000-8000-000000000000"
    call("GET", "/files", headers=owner.headers)
    call("GET", f"/files/{file_id}", headers=owner.headers)
    call("GET", f"/files/{file_id}/content", headers=owner.headers)
    call("POST", f"/files/{file_id}/shares", headers=owner.headers, json={"username": recipient.username})
    call("GET", f"/files/{file_id}/shares", headers=owner.headers)
    call("GET", "/shares", headers=recipient.headers)
    call("DELETE", f"/files/{file_id}/shares/{recipient.username}", headers=owner.headers)
    call("GET", "/admin/users", headers=owner.headers)
    call("DELETE", f"/files/{file_id}", headers=owner.headers)
    call("POST", "/auth/logout", headers=owner.headers)
    for answer in answers:
        _no_redirect(answer)
    # Every call reached its route and did its work (the admin listing is refused to a plain user).
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201, 200, 200, 200, 201, 200, 200, 200, 201, 200, 200, 204, 403, 204, 204]
