"""Nothing half-written in AWS mode: an upload whose S3 put fails leaves no metadata, and one whose
DynamoDB write fails after the put leaves no object. Faults come from the AWS side (a missing bucket, an
HTTP 500 answered in place of DynamoDB), never from patching our own store code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from app.api.deps import app_context
from app.config import Settings
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

        assert metadata_writes.calls == writes_before_upload, "no metadata write after a failed put"
        assert http.get("/files", headers=user.headers).json()["items"] == []
        assert app_context(app).store.files.usage(user.id).files == 0


def test_dynamodb_write_failing_after_the_put_leaves_no_object(
    make_aws_settings: Callable[..., Settings], aws_resources: AwsResources
) -> None:
    settings = make_aws_settings()
    fault = DynamoDBFault(500, "InternalServerError")
    puts, deletes = CallCounter(), CallCounter()
    with (
        default_session_hook("before-send.dynamodb.TransactWriteItems", fault),
        default_session_hook("before-call.s3.PutObject", puts),
        default_session_hook("before-call.s3.DeleteObject", deletes),
    ):
        app = make_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        api = Api(http)
        user = api.register()

        fault.armed = True
        response = http.post("/files", headers=user.headers, files={"file": ("a.txt", CONTENT, "text/plain")})
        fault.armed = False

        assert response.status_code >= 500
        assert fault.fired >= 1
        assert puts.calls == 1, "the object was stored before the metadata write failed"
        assert deletes.calls == 1, "and removed again"
        assert objects_in(aws_resources, settings.bucket_name) == []
        assert http.get("/files", headers=user.headers).json()["items"] == []
        assert app_context(app).store.files.usage(user.id).files == 0

        # The same upload once DynamoDB answers again: one object, one record.
        file_id = api.upload(user, CONTENT)["id"]
        assert objects_in(aws_resources, settings.bucket_name) == [f"{user.id}/{file_id}"]
