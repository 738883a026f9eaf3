"""Nothing half-written in AWS mode: an upload whose S3 put fails leaves no metadata, and one whose
DynamoDB write fails after the put leaves no object; what the quota still counts then is a pending
entry, which the sweep removes. Faults come from the AWS side (a missing bucket, an HTTP 500 answered
in place of DynamoDB), never from patching our own store code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from starlette.testclient import TestClient

from app.api.deps import app_context
from app.config import Settings
from app.records import Usage
from app.services import sweeper
from tests.support.api import Api
from tests.support.apps import make_app
from tests.support.moto import AwsResources, CallCounter, DynamoDBFault, default_session_hook

pytestmark = pytest.mark.inprocess

CONTENT = b"quarterly numbers\n"


def objects_in(aws_resources: AwsResources, bucket: str) -> list[str]:
    listing = aws_resources.client("s3").list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_put_failing_leaves_no_metadata(make_aws_settings: Callable[..., Settings]) -> None:
    settings = make_aws_settings(bucket_name="files-bucket-that-was-never-created")
    metadata_writes = CallCounter()
    with default_session_hook("before-call.dynamodb.TransactWriteItems", metadata_writes):
        app = make_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        api = Api(http)
        user = api.register()
        writes_before_upload = metadata_writes.calls

        response = http.post("/files", headers=user.headers, files={"file": ("a.txt", CONTENT, "text/plain")})
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal server error"}

        # The reservation only: no commit after a failed put. Its object could not be deleted either
        # (no bucket), so the quota keeps counting it as pending until a sweep can.
        assert metadata_writes.calls == writes_before_upload + 1, "no metadata write after a failed put"
        assert http.get("/files", headers=user.headers).json()["items"] == []
        store = app_context(app).store
        assert [pending.size for pending in store.files.pending_of(user.id)] == [len(CONTENT)]
        assert store.files.usage(user.id) == Usage(bytes=len(CONTENT), files=1)


def test_dynamodb_write_failing_after_the_put_leaves_no_object(
    make_aws_settings: Callable[..., Settings], aws_resources: AwsResources
) -> None:
    """The commit fails after the object is stored (DynamoDB answers 500 from then on): the object is
    deleted again at once, and the reservation, whose release failed too, is what the sweep removes."""
    settings = make_aws_settings()
    fault = DynamoDBFault(500, "InternalServerError")
    puts, deletes = CallCounter(), CallCounter()

    def arm_after_the_reservation(**_: Any) -> None:
        # The first upload's put only: the second upload below must succeed.
        fault.armed = puts.calls == 1

    with (
        default_session_hook("before-send.dynamodb.TransactWriteItems", fault),
        default_session_hook("before-call.s3.PutObject", puts),
        default_session_hook("before-call.s3.PutObject", arm_after_the_reservation),
        default_session_hook("before-call.s3.DeleteObject", deletes),
    ):
        app = make_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        api = Api(http)
        user = api.register()

        response = http.post("/files", headers=user.headers, files={"file": ("a.txt", CONTENT, "text/plain")})
        fault.armed = False

        assert response.status_code >= 500
        assert fault.fired >= 1
        assert puts.calls == 1, "the object was stored before the metadata write failed"
        assert deletes.calls == 1, "and removed again"
        assert objects_in(aws_resources, settings.bucket_name) == []
        assert http.get("/files", headers=user.headers).json()["items"] == []
        context = app_context(app)
        assert context.store.files.usage(user.id).files == 1
        assert sweeper.sweep(context, grace=timedelta(0)) == 1
        assert context.store.files.usage(user.id) == Usage(bytes=0, files=0)
        assert context.store.files.pending_of(user.id) == []

        # The same upload once DynamoDB answers again: one object, one record.
        file_id = api.upload(user, CONTENT)["id"]
        assert objects_in(aws_resources, settings.bucket_name) == [f"{user.id}/{file_id}"]


class AnswerLost:
    """A botocore after-call hook: the `nth` call it sees (once armed) reached DynamoDB and was applied,
    and then its answer is lost, as when a read times out after the server did the work."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.seen = 0
        self.armed = False

    def __call__(self, **_: Any) -> None:
        if self.armed:
            self.seen += 1
            if self.seen == self.nth:
                raise ReadTimeoutError(endpoint_url="http://dynamodb.test")


@pytest.mark.threat("T-25")
def test_a_commit_applied_whose_answer_is_lost_keeps_the_file_and_its_object(
    make_aws_settings: Callable[..., Settings], aws_resources: AwsResources
) -> None:
    """The upload's second transaction (its commit) is applied, and its answer never arrives: the
    upload asks the store, finds its record, and succeeds; the object is not deleted under it."""
    settings = make_aws_settings()
    lost = AnswerLost(nth=2)  # the reservation, then the commit
    with default_session_hook("after-call.dynamodb.TransactWriteItems", lost):
        app = make_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        api = Api(http)
        user = api.register()
        lost.armed = True
        response = http.post("/files", headers=user.headers, files={"file": ("a.txt", CONTENT, "text/plain")})
        lost.armed = False

        assert lost.seen == 2
        assert response.status_code == 201, response.text
        file_id = response.json()["id"]
        assert http.get(f"/files/{file_id}/content", headers=user.headers).content == CONTENT
        assert objects_in(aws_resources, settings.bucket_name) == [f"{user.id}/{file_id}"]
        store = app_context(app).store
        assert store.files.pending_of(user.id) == []
        assert store.files.usage(user.id) == Usage(bytes=len(CONTENT), files=1)
