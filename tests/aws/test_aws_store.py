"""The DynamoDB + S3 store against moto_server, through the same protocols the API uses: the guarantees
the local store gets from SQLite (unique names, atomic quota, keyset pages, cascading deletes) must hold
here from conditional writes and transactions, with queries only, never a scan."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.exceptions import (
    AlreadySharedError,
    NotFoundError,
    QuotaExceededError,
    StoreStateError,
    StoreUnavailableError,
    UsernameTakenError,
)
from app.factory import build_context
from app.records import FileRecord, Quota, Share, User
from app.store.aws import INDEX_NAME, DynamoFiles
from app.store.base import Store, blob_key
from devtools.moto import REGION
from devtools.provision import TTL_ATTRIBUTE, ensure_bucket, ensure_secret, ensure_table
from tests.support.moto import AwsResources, DynamoDBFault, default_session_hook

BIG = Quota(max_bytes=10**9, max_files=10**6)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ScanRefusedError(AssertionError):
    pass


def _refuse_scan(**_: Any) -> None:
    raise ScanRefusedError("a Scan reads the whole table; every access pattern here is a key or index query")


def aws_store(settings: Settings) -> Store:
    """The store the factory builds for these settings, with the app's own clients."""
    return build_context(settings).store


@pytest.fixture
def settings(make_aws_settings: Callable[..., Settings]) -> Settings:
    return make_aws_settings()


@pytest.fixture
def store(settings: Settings) -> Store:
    with default_session_hook("before-call.dynamodb.Scan", _refuse_scan):
        built = aws_store(settings)
    assert isinstance(built.files, DynamoFiles)
    table = built.files._t
    with pytest.raises(ScanRefusedError):  # the guard is armed on the store's own client
        table.client.scan(TableName=table.name)
    return built


def make_user(store: Store, name: str | None = None, *, at: datetime = T0) -> User:
    user = User(
        id=str(uuid.uuid4()),
        username=name or f"user_{uuid.uuid4().hex[:8]}",
        password_hash="$argon2id$not-a-real-hash",
        role="user",
        token_version=0,
        created_at=at,
    )
    store.users.create(user)
    return user


def make_file(owner: User, *, at: datetime = T0, size: int = 10) -> FileRecord:
    return FileRecord(
        id=str(uuid.uuid4()),
        owner_id=owner.id,
        name="notes.txt",
        size=size,
        content_type="text/plain",
        sha256="0" * 64,
        created_at=at,
    )


def add_file(store: Store, record: FileRecord, *, quota: Quota) -> None:
    """Both steps of an upload's metadata (the blob itself is not needed here)."""
    store.files.reserve(record, quota=quota)
    store.files.commit(record)


def share(store: Store, record: FileRecord, recipient: User, *, at: datetime = T0) -> None:
    store.shares.add(Share(record.id, recipient.id, recipient.username, at))


def all_pages(fetch: Callable[[str | None], Any]) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = fetch(cursor)
        ids.extend(item.id for item in page.items)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


class OperationLog:
    """Records the DynamoDB operations a client sends (a botocore event hook)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def during(self, action: Callable[[], object]) -> list[str]:
        self.names.clear()
        action()
        return list(self.names)


@pytest.fixture
def operations(settings: Settings) -> tuple[Store, OperationLog]:
    log = OperationLog()
    with default_session_hook("before-call.dynamodb", log):
        built = aws_store(settings)
    return built, log


# Two racing requests cannot both pass a check that is the write's own condition. moto_server cannot
# show the race itself (its transactions are not isolated from concurrent requests), so these tests
# show that each guard is exactly one conditional write, with no read that a racer could slip past.


def test_username_uniqueness_is_the_registration_write_itself(operations: tuple[Store, OperationLog]) -> None:
    store, log = operations
    first = make_user(store, "contested")
    assert log.during(lambda: make_user(store, "solo")) == ["TransactWriteItems"]
    with pytest.raises(UsernameTakenError):
        make_user(store, "contested")
    assert store.users.get_by_username("contested") == first
    assert store.users.get(first.id) == first


@pytest.mark.threat("T-13")
def test_quota_is_the_upload_write_itself(operations: tuple[Store, OperationLog]) -> None:
    store, log = operations
    owner = make_user(store)
    quota = Quota(max_bytes=10**6, max_files=3)
    for _ in range(3):
        reserve = lambda: store.files.reserve(make_file(owner), quota=quota)  # noqa: E731
        assert log.during(reserve) == ["TransactWriteItems"]
    with pytest.raises(QuotaExceededError):
        store.files.reserve(make_file(owner), quota=quota)
    assert store.files.usage(owner.id).files == 3
    assert len(store.files.pending_of(owner.id)) == 3


def test_a_transaction_conflict_is_retryable_not_a_taken_username(settings: Settings) -> None:
    # DynamoDB cancels a transaction that races another on the same items; nothing was wrong with it.
    conflict = DynamoDBFault(
        400,
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "TransactionConflict"}, {"Code": "None"}],
    )
    with default_session_hook("before-send.dynamodb.TransactWriteItems", conflict):
        store = aws_store(settings)
    conflict.armed = True
    with pytest.raises(StoreUnavailableError):
        make_user(store, "racing")
    assert conflict.fired == 1
    conflict.armed = False
    make_user(store, "racing")


@pytest.mark.threat("T-13")
def test_quota_counts_bytes_and_frees_them_on_delete_exactly_once(store: Store) -> None:
    owner = make_user(store)
    quota = Quota(max_bytes=100, max_files=10)
    first = make_file(owner, size=60)
    add_file(store, first, quota=quota)
    with pytest.raises(QuotaExceededError):
        add_file(store, make_file(owner, size=41), quota=quota)
    with pytest.raises(QuotaExceededError):
        add_file(store, make_file(owner, size=101), quota=quota)
    assert store.files.delete(first)
    assert store.files.usage(owner.id).bytes == 60  # claimed until its blob is gone and it is released
    assert not store.files.delete(first)
    (pending,) = store.files.pending_of(owner.id)
    store.files.release(pending)
    store.files.release(pending)  # a retried release must not give the bytes back twice
    assert (store.files.usage(owner.id).bytes, store.files.usage(owner.id).files) == (0, 0)
    add_file(store, make_file(owner, size=100), quota=quota)


@pytest.mark.threat("T-14")
def test_listings_are_newest_first_keyset_pages_of_the_callers_own_partition(store: Store) -> None:
    owner, other, reader = make_user(store), make_user(store), make_user(store)
    records = [make_file(owner, at=T0 + timedelta(seconds=i)) for i in range(7)]
    for record in records:
        add_file(store, record, quota=BIG)
        share(store, record, reader, at=T0 + timedelta(seconds=10 + records.index(record)))
    add_file(store, make_file(other, at=T0 + timedelta(seconds=3)), quota=BIG)
    newest_first = [record.id for record in reversed(records)]

    assert all_pages(lambda c: store.files.list_owned(owner.id, limit=3, cursor=c)) == newest_first
    assert all_pages(lambda c: store.shares.list_for_user(reader.id, limit=2, cursor=c)) == newest_first

    # A cursor bounds the sort key only: replayed by someone else, it walks their own partition.
    cursor = store.files.list_owned(owner.id, limit=3, cursor=None).next_cursor
    assert cursor is not None
    others = store.files.list_owned(other.id, limit=100, cursor=cursor).items
    assert all(item.owner_id == other.id for item in others)


def test_admin_user_listing_pages_newest_first(store: Store) -> None:
    users = [make_user(store, at=T0 + timedelta(minutes=i)) for i in range(5)]
    listed = all_pages(lambda c: store.users.list(limit=2, cursor=c))
    assert listed == [user.id for user in reversed(users)]


@pytest.mark.threat("T-07")
def test_shares_follow_their_file_and_their_recipient(store: Store) -> None:
    owner, reader = make_user(store), make_user(store)
    record = make_file(owner)
    add_file(store, record, quota=BIG)
    share(store, record, reader)
    with pytest.raises(AlreadySharedError):
        share(store, record, reader)
    assert store.shares.exists(record.id, reader.id)
    assert [s.username for s in store.shares.list_for_file(record.id)] == [reader.username]

    store.shares.remove(record.id, reader.id)
    assert not store.shares.exists(record.id, reader.id)
    with pytest.raises(NotFoundError):
        store.shares.remove(record.id, reader.id)

    share(store, record, reader)
    store.files.delete(record)
    assert store.files.get(record.id) is None
    assert not store.shares.exists(record.id, reader.id)
    assert store.shares.list_for_user(reader.id, limit=10, cursor=None).items == []
    with pytest.raises(NotFoundError):
        share(store, record, reader)  # a deleted file cannot be shared again


@pytest.mark.threat("T-06")
def test_user_deletion_requires_no_files_and_frees_the_username(store: Store) -> None:
    owner, reader = make_user(store), make_user(store)
    record = make_file(owner)
    add_file(store, record, quota=BIG)
    share(store, record, reader)
    with pytest.raises(StoreStateError):
        store.users.delete(owner.id)

    store.users.delete(reader.id)
    assert store.users.get(reader.id) is None
    assert store.users.get_by_username(reader.username) is None
    assert not store.shares.exists(record.id, reader.id)
    with pytest.raises(NotFoundError):
        share(store, record, reader)  # nor can a file be shared with a deleted user
    newcomer = make_user(store, reader.username)
    assert newcomer.id != reader.id

    store.files.delete(record)
    with pytest.raises(StoreStateError):
        store.users.delete(owner.id)  # its blob is still pending
    for pending in store.files.pending_of(owner.id):
        store.files.release(pending)
    store.users.delete(owner.id)
    assert store.users.get(owner.id) is None
    with pytest.raises(NotFoundError):
        store.files.reserve(make_file(owner), quota=BIG)  # no file without an owner


@pytest.mark.threat("T-06")
def test_password_change_bumps_the_token_version_and_revocations_expire_by_ttl(store: Store) -> None:
    user = make_user(store)
    store.users.set_password(user.id, "$argon2id$another", expected_version=user.token_version)
    changed = store.users.get(user.id)
    assert changed is not None
    assert (changed.password_hash, changed.token_version) == ("$argon2id$another", 1)
    store.users.set_role(user.id, "admin")
    promoted = store.users.get(user.id)
    assert promoted is not None
    assert promoted.role == "admin"
    with pytest.raises(NotFoundError):
        store.users.set_password(str(uuid.uuid4()), "$argon2id$x", expected_version=0)

    jti = uuid.uuid4().hex
    assert not store.revocations.is_revoked(jti)
    store.revocations.revoke(jti, expires_at=2_000_000_000)
    assert store.revocations.is_revoked(jti)


@pytest.mark.threat("T-11")
def test_blobs_stream_back_under_server_generated_keys_only(
    store: Store, settings: Settings, aws_resources: AwsResources
) -> None:
    owner = make_user(store)
    record = make_file(owner)
    content = bytes(range(256)) * 4096  # 1 MiB: several chunks on the way out
    key = blob_key(record)
    store.blobs.put(key, io.BytesIO(content), size=len(content), content_type="application/octet-stream")

    head = aws_resources.client("s3").head_object(Bucket=settings.bucket_name, Key=key)
    assert head["ContentLength"] == len(content)
    chunks = list(store.blobs.open(key))
    assert len(chunks) > 1
    assert b"".join(chunks) == content

    assert store.blobs.exists(key)
    store.blobs.delete(key)
    assert not store.blobs.exists(key)
    for bad in ("../etc/passwd", f"{owner.id}/../../x", "a/b"):
        with pytest.raises(ValueError, match="server-generated"):
            store.blobs.put(bad, io.BytesIO(b"x"), size=1, content_type="text/plain")


@pytest.mark.parametrize("algorithm", ["AES256", "aws:kms"])
def test_objects_get_the_buckets_own_encryption(
    make_aws_settings: Callable[..., Settings], aws_resources: AwsResources, algorithm: str
) -> None:
    """Local provisioning uses SSE-S3, infra/ uses SSE-KMS: the app must not override either."""
    settings = make_aws_settings()
    s3 = aws_resources.client("s3")
    s3.put_bucket_encryption(
        Bucket=settings.bucket_name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]
        },
    )
    store = aws_store(settings)
    key = blob_key(make_file(make_user(store)))
    store.blobs.put(key, io.BytesIO(b"secret plans"), size=12, content_type="text/plain")
    assert s3.head_object(Bucket=settings.bucket_name, Key=key)["ServerSideEncryption"] == algorithm


@pytest.mark.threat("T-18")
def test_provisioning_is_idempotent_and_creates_private_encrypted_resources(
    aws_resources: AwsResources,
) -> None:
    dynamodb, s3 = aws_resources.client("dynamodb"), aws_resources.client("s3")
    secrets_manager = aws_resources.client("secretsmanager")
    table, bucket = aws_resources.new_table_and_bucket()
    secret_name = f"jwt-{uuid.uuid4().hex[:8]}"
    arn = ensure_secret(secrets_manager, secret_name)
    first_value = secrets_manager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]

    ensure_table(dynamodb, table)
    ensure_bucket(s3, bucket, REGION)
    assert ensure_secret(secrets_manager, secret_name) == arn
    again = secrets_manager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    assert again == first_value, "provisioning never replaces an existing key"
    assert len(first_value) >= 64

    described = dynamodb.describe_table(TableName=table)["Table"]
    assert [k["AttributeName"] for k in described["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == [INDEX_NAME]
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
