"""AWS mode storage: one DynamoDB table for users, files, shares and revoked tokens, S3 for the bytes.

Item layout (pk / sk, and gsi1pk / gsi1sk on the `gsi1` index where a listing needs it):

    USER#<id>        PROFILE         a user                     gsi1: USERS / <created>#<id>
    USERNAME#<name>  USERNAME        makes usernames unique (written in the same transaction)
    USER#<id>        USAGE           bytes and files stored or pending, kept by the writes that change them
    USER#<id>        PENDING#<file>  a pending blob (services/sweeper.py) gsi1: PENDING / <since>#<file>
    FILE#<id>        META            a file's metadata          gsi1: OWNER#<owner> / <created>#<id>
    FILE#<id>        SHARE#<user>    a share                    gsi1: SHAREDWITH#<user> / <created>#<file>
    REVOKED#<jti>    REVOKED         a logged-out token, removed by TTL (`expires_at`) once it has expired
    COUNTER#<key>    <window>        an attempt counter, removed by TTL (`expires_at`) after its window

Every read that decides access (a user, a file, a share, a revoked token, usage) is a strongly consistent
GetItem on the table. Listings are Query calls on gsi1, newest first, which DynamoDB keeps eventually
consistent: a file can take a moment to appear in GET /files, never in GET /files/{id}. Nothing scans.
Cursors carry only the sort key; the partition always comes from the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ParamSpec, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.exceptions import (
    AlreadySharedError,
    ConcurrentChangeError,
    NotFoundError,
    QuotaExceededError,
    StoreStateError,
    StoreUnavailableError,
    UsernameTakenError,
)
from app.records import FileRecord, Page, PendingBlob, Quota, Role, Share, Usage, User
from app.store.base import Store, checked_blob_key
from app.store.paging import keyset_page, sort_timestamp, upper_bound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef
    from mypy_boto3_s3 import S3Client

    Item = Mapping[str, AttributeValueTypeDef]

P = ParamSpec("P")
R = TypeVar("R")

_CHUNK = 256 * 1024
# Error codes that mean "try again later", not "you asked for something wrong".
_TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "ServiceUnavailable",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
    }
)
_TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
_USERS_PARTITION = "USERS"
# One index partition for every pending blob: they are few (in flight, or left by a crash) and short-lived.
_PENDING_PARTITION = "PENDING"
# The one secondary index of the table (devtools/provision.py and infra/ create it).
INDEX_NAME = "gsi1"
# DynamoDB refuses more than 100 items in one transaction and 25 in one batch write.
_BATCH_WRITE = 25
_BATCH_GET = 100


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (BotoConnectionError, HTTPClientError) as error:
            raise StoreUnavailableError(type(error).__name__) from error
        except ClientError as error:
            code = _code(error)
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in _TRANSIENT_CODES or status >= 500 or _conflicted(error):
                raise StoreUnavailableError(code) from error
            raise

    return wrapper


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _conflicted(error: ClientError) -> bool:
    """A transaction cancelled only because another one touched the same items at the same moment:
    nothing was wrong with the request, and trying again will do."""
    if _code(error) != "TransactionCanceledException":
        return False
    codes = set(_cancellation_codes(error)) - {"None"}
    return bool(codes) and codes <= _TRANSIENT_CANCELLATIONS


def _cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction, in the order the items were given."""
    if _code(error) != "TransactionCanceledException":
        raise error
    reasons: Sequence[Mapping[str, Any]] = error.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _str(item: Item, name: str) -> str:
    return item[name]["S"]


def _int(item: Item, name: str) -> int:
    return int(item[name]["N"])


def _key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": _s(pk), "sk": _s(sk)}


def _sort_key(created_at: str, item_id: str) -> str:
    return f"{created_at}#{item_id}"


def _index_sort_key(item: Item) -> tuple[str, str]:
    created_at, item_id = _str(item, "gsi1sk").split("#", 1)
    return created_at, item_id


def _user_key(user_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"USER#{user_id}", "PROFILE")


def _username_key(username: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"USERNAME#{username}", "USERNAME")


def _usage_key(owner_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"USER#{owner_id}", "USAGE")


def _pending_key(owner_id: str, file_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"USER#{owner_id}", f"PENDING#{file_id}")


def _file_key(file_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"FILE#{file_id}", "META")


def _share_key(file_id: str, user_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"FILE#{file_id}", f"SHARE#{user_id}")


def _user(item: Item) -> User:
    role = _str(item, "role")
    if role not in ("user", "admin"):
        raise ValueError("unexpected role in the users table")
    return User(
        id=_str(item, "id"),
        username=_str(item, "username"),
        password_hash=_str(item, "password_hash"),
        role="admin" if role == "admin" else "user",
        token_version=_int(item, "token_version"),
        created_at=datetime.fromisoformat(_str(item, "created_at")),
        deleting="deleting" in item,
    )


def _file(item: Item) -> FileRecord:
    return FileRecord(
        id=_str(item, "id"),
        owner_id=_str(item, "owner_id"),
        name=_str(item, "name"),
        size=_int(item, "size"),
        content_type=_str(item, "content_type"),
        sha256=_str(item, "sha256"),
        created_at=datetime.fromisoformat(_str(item, "created_at")),
    )


def _pending(item: Item) -> PendingBlob:
    return PendingBlob(
        id=_str(item, "id"),
        owner_id=_str(item, "owner_id"),
        size=_int(item, "size"),
        since=datetime.fromisoformat(_str(item, "since")),
    )


def _pending_item(pending: PendingBlob) -> dict[str, AttributeValueTypeDef]:
    since = sort_timestamp(pending.since)
    return {
        **_pending_key(pending.owner_id, pending.id),
        "gsi1pk": _s(_PENDING_PARTITION),
        "gsi1sk": _s(_sort_key(since, pending.id)),
        "id": _s(pending.id),
        "owner_id": _s(pending.owner_id),
        "size": _n(pending.size),
        "since": _s(since),
    }


class _Table:
    """The few DynamoDB access patterns every store shares."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Mapping[str, AttributeValueTypeDef]) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        return response.get("Item")

    def transact(self, items: list[TransactWriteItemTypeDef]) -> None:
        self.client.transact_write_items(TransactItems=items)

    def query_index(self, partition: str, *, limit: int, cursor: str | None) -> Page[Item]:
        """One page of gsi1 for `partition`, newest first, with the cursor of the next page if any."""
        condition = "gsi1pk = :p"
        values: dict[str, AttributeValueTypeDef] = {":p": _s(partition)}
        if cursor is not None:
            condition += " AND gsi1sk < :bound"
            values[":bound"] = _s(_sort_key(*upper_bound(cursor)))
        items: list[Item] = []
        start: Mapping[str, AttributeValueTypeDef] | None = None
        # One extra item tells whether there is a next page; a 1 MB response page may hold fewer.
        while len(items) <= limit:
            response = self.client.query(
                TableName=self.name,
                IndexName=INDEX_NAME,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                Limit=limit + 1 - len(items),
                **({"ExclusiveStartKey": start} if start else {}),  # type: ignore[arg-type]
            )
            items.extend(response["Items"])
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return keyset_page(items, limit, item=lambda item: item, sort_key=_index_sort_key)

    def query_partition(self, pk: str, sk_prefix: str) -> list[Item]:
        items: list[Item] = []
        start: Mapping[str, AttributeValueTypeDef] | None = None
        while True:
            response = self.client.query(
                TableName=self.name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": _s(pk), ":prefix": _s(sk_prefix)},
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),  # type: ignore[arg-type]
            )
            items.extend(response["Items"])
            start = response.get("LastEvaluatedKey")
            if start is None:
                return items

    def batch_get(self, keys: list[dict[str, AttributeValueTypeDef]]) -> list[Item]:
        found: list[Item] = []
        for offset in range(0, len(keys), _BATCH_GET):
            pending: Sequence[Mapping[str, AttributeValueTypeDef]] = keys[offset : offset + _BATCH_GET]
            while pending:
                response = self.client.batch_get_item(
                    RequestItems={self.name: {"Keys": pending, "ConsistentRead": True}}
                )
                found.extend(response["Responses"].get(self.name, []))
                unprocessed = response.get("UnprocessedKeys", {}).get(self.name)
                pending = unprocessed["Keys"] if unprocessed else []
        return found

    def batch_delete(self, keys: list[dict[str, AttributeValueTypeDef]]) -> None:
        for offset in range(0, len(keys), _BATCH_WRITE):
            requests: Any = [{"DeleteRequest": {"Key": key}} for key in keys[offset : offset + _BATCH_WRITE]]
            while requests:
                response = self.client.batch_write_item(RequestItems={self.name: requests})
                requests = response.get("UnprocessedItems", {}).get(self.name, [])


class DynamoUsers:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def create(self, user: User) -> None:
        created_at = sort_timestamp(user.created_at)
        try:
            self._t.transact(
                [
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {**_username_key(user.username), "user_id": _s(user.id)},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {
                                **_user_key(user.id),
                                "gsi1pk": _s(_USERS_PARTITION),
                                "gsi1sk": _s(_sort_key(created_at, user.id)),
                                "id": _s(user.id),
                                "username": _s(user.username),
                                "password_hash": _s(user.password_hash),
                                "role": _s(user.role),
                                "token_version": _n(user.token_version),
                                "created_at": _s(created_at),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                raise UsernameTakenError(user.username) from None
            raise

    @_translated
    def get(self, user_id: str) -> User | None:
        item = self._t.get(_user_key(user_id))
        return _user(item) if item else None

    @_translated
    def get_by_username(self, username: str) -> User | None:
        index = self._t.get(_username_key(username))
        if index is None:
            return None
        item = self._t.get(_user_key(_str(index, "user_id")))
        return _user(item) if item else None

    @_translated
    def list(self, *, limit: int, cursor: str | None) -> Page[User]:
        page = self._t.query_index(_USERS_PARTITION, limit=limit, cursor=cursor)
        return Page([_user(item) for item in page.items], page.next_cursor)

    @_translated
    def set_password(self, user_id: str, password_hash: str, *, expected_version: int) -> None:
        try:
            self._t.client.update_item(
                TableName=self._t.name,
                Key=_user_key(user_id),
                UpdateExpression="SET password_hash = :h ADD token_version :one",
                ConditionExpression="attribute_exists(pk) AND token_version = :read",
                ExpressionAttributeValues={
                    ":h": _s(password_hash),
                    ":one": _n(1),
                    ":read": _n(expected_version),
                },
            )
        except self._t.client.exceptions.ConditionalCheckFailedException:
            if self._t.get(_user_key(user_id)) is None:
                raise NotFoundError(user_id) from None
            raise ConcurrentChangeError(user_id) from None

    @_translated
    def begin_deletion(self, user_id: str) -> None:
        self._update_existing(
            user_id, "SET deleting = :yes ADD token_version :one", {":yes": {"BOOL": True}, ":one": _n(1)}
        )

    @_translated
    def set_role(self, user_id: str, role: Role) -> None:
        self._update_existing(user_id, "SET #role = :r", {":r": _s(role)}, names={"#role": "role"})

    def _update_existing(
        self,
        user_id: str,
        expression: str,
        values: dict[str, AttributeValueTypeDef],
        *,
        names: dict[str, str] | None = None,
    ) -> None:
        try:
            self._t.client.update_item(
                TableName=self._t.name,
                Key=_user_key(user_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),  # type: ignore[arg-type]
            )
        except self._t.client.exceptions.ConditionalCheckFailedException:
            raise NotFoundError(user_id) from None

    @_translated
    def delete(self, user_id: str) -> None:
        profile = self._t.get(_user_key(user_id))
        if profile is None:
            return
        usage = self._t.get(_usage_key(user_id))
        if usage is not None and _int(usage, "files") > 0:
            raise StoreStateError("delete the user's files first")
        # Paged by cursor, not re-queried from the top: the index may still list what was just deleted.
        cursor: str | None = None
        while True:
            received = self._t.query_index(f"SHAREDWITH#{user_id}", limit=_BATCH_GET, cursor=cursor)
            self._t.batch_delete([_key(_str(item, "pk"), _str(item, "sk")) for item in received.items])
            cursor = received.next_cursor
            if cursor is None:
                break
        try:
            self._t.transact(
                [
                    {"Delete": {"TableName": self._t.name, "Key": _user_key(user_id)}},
                    {"Delete": {"TableName": self._t.name, "Key": _username_key(_str(profile, "username"))}},
                    {
                        # An upload racing this delete either lands first (and this fails) or finds
                        # no profile (and fails itself): never a file without an owner.
                        "Delete": {
                            "TableName": self._t.name,
                            "Key": _usage_key(user_id),
                            "ConditionExpression": "attribute_not_exists(pk) OR files = :zero",
                            "ExpressionAttributeValues": {":zero": _n(0)},
                        }
                    },
                ]
            )
        except ClientError as error:
            if "ConditionalCheckFailed" in _cancellation_codes(error):
                raise StoreStateError("delete the user's files first") from None
            raise


class DynamoFiles:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def reserve(self, record: FileRecord, *, quota: Quota) -> None:
        bytes_room = quota.max_bytes - record.size
        files_room = quota.max_files - 1
        if bytes_room < 0 or files_room < 0:
            raise QuotaExceededError(record.owner_id)
        try:
            self._t.transact(
                [
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": _pending_item(PendingBlob.of(record, record.created_at)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        # The quota check and the usage increment are one conditional write, in the
                        # same transaction as the reservation: two uploads cannot both take the last room.
                        "Update": {
                            "TableName": self._t.name,
                            "Key": _usage_key(record.owner_id),
                            "UpdateExpression": "ADD #bytes :size, #files :one",
                            "ConditionExpression": "(attribute_not_exists(#bytes) OR #bytes <= :bytes_room)"
                            " AND (attribute_not_exists(#files) OR #files <= :files_room)",
                            "ExpressionAttributeNames": {"#bytes": "bytes", "#files": "files"},
                            "ExpressionAttributeValues": {
                                ":size": _n(record.size),
                                ":one": _n(1),
                                ":bytes_room": _n(bytes_room),
                                ":files_room": _n(files_room),
                            },
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self._t.name,
                            "Key": _user_key(record.owner_id),
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(deleting)",
                        }
                    },
                ]
            )
        except ClientError as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                # The entry of this fresh id exists: an earlier attempt of this very call wrote it and
                # its answer was lost (DynamoDB would have honoured the retry's idempotency token).
                return
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise QuotaExceededError(record.owner_id) from None
            if codes[2:3] == ["ConditionalCheckFailed"]:
                raise NotFoundError(record.owner_id) from None
            raise

    @_translated
    def commit(self, record: FileRecord) -> None:
        created_at = sort_timestamp(record.created_at)
        try:
            self._t.transact(
                [
                    {
                        "Delete": {
                            "TableName": self._t.name,
                            "Key": _pending_key(record.owner_id, record.id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {
                                **_file_key(record.id),
                                "gsi1pk": _s(f"OWNER#{record.owner_id}"),
                                "gsi1sk": _s(_sort_key(created_at, record.id)),
                                "id": _s(record.id),
                                "owner_id": _s(record.owner_id),
                                "name": _s(record.name),
                                "size": _n(record.size),
                                "content_type": _s(record.content_type),
                                "sha256": _s(record.sha256),
                                "created_at": _s(created_at),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            codes = _cancellation_codes(error)
            if codes[1:2] == ["ConditionalCheckFailed"]:
                return  # the record exists: an earlier attempt of this very call committed it
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise NotFoundError(record.id) from None
            raise

    @_translated
    def get(self, file_id: str) -> FileRecord | None:
        item = self._t.get(_file_key(file_id))
        return _file(item) if item else None

    @_translated
    def list_owned(self, owner_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        page = self._t.query_index(f"OWNER#{owner_id}", limit=limit, cursor=cursor)
        return Page([_file(item) for item in page.items], page.next_cursor)

    @_translated
    def delete(self, record: FileRecord) -> bool:
        try:
            self._t.transact(
                [
                    {
                        "Delete": {
                            "TableName": self._t.name,
                            "Key": _file_key(record.id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        # The usage stays claimed by the pending blob until `release`.
                        "Put": {
                            "TableName": self._t.name,
                            "Item": _pending_item(PendingBlob.of(record, datetime.now(UTC))),
                        }
                    },
                ]
            )
        except ClientError as error:
            # Already deleted: its blob is the other deleter's to release, and must not be twice.
            if _cancellation_codes(error)[:1] != ["ConditionalCheckFailed"]:
                raise
            deleted = False
        else:
            deleted = True
        # After the record: a share can no longer be added (it checks the record exists), and one left
        # behind by a crash here points at a file that answers 404 to everyone.
        shares = self._t.query_partition(f"FILE#{record.id}", "SHARE#")
        self._t.batch_delete([_key(_str(item, "pk"), _str(item, "sk")) for item in shares])
        return deleted

    @_translated
    def release(self, pending: PendingBlob) -> None:
        try:
            self._t.transact(
                [
                    {
                        "Delete": {
                            "TableName": self._t.name,
                            "Key": _pending_key(pending.owner_id, pending.id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._t.name,
                            "Key": _usage_key(pending.owner_id),
                            "UpdateExpression": "ADD #bytes :minus_size, #files :minus_one",
                            "ExpressionAttributeNames": {"#bytes": "bytes", "#files": "files"},
                            "ExpressionAttributeValues": {
                                ":minus_size": _n(-pending.size),
                                ":minus_one": _n(-1),
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            # Released already: its usage was given back then, and must not be given back twice.
            if _cancellation_codes(error)[:1] != ["ConditionalCheckFailed"]:
                raise

    @_translated
    def pending_of(self, owner_id: str) -> list[PendingBlob]:
        return [_pending(item) for item in self._t.query_partition(f"USER#{owner_id}", "PENDING#")]

    @_translated
    def stale_pending(self, *, before: datetime, limit: int) -> list[PendingBlob]:
        # The index is eventually consistent: an entry released a moment ago may still be listed,
        # which is harmless, as releasing it again does nothing.
        response = self._t.client.query(
            TableName=self._t.name,
            IndexName=INDEX_NAME,
            KeyConditionExpression="gsi1pk = :p AND gsi1sk < :before",
            ExpressionAttributeValues={
                ":p": _s(_PENDING_PARTITION),
                ":before": _s(sort_timestamp(before)),
            },
            ScanIndexForward=True,
            Limit=limit,
        )
        return [_pending(item) for item in response["Items"]]

    @_translated
    def usage(self, owner_id: str) -> Usage:
        item = self._t.get(_usage_key(owner_id))
        if item is None:
            return Usage(bytes=0, files=0)
        return Usage(bytes=_int(item, "bytes"), files=_int(item, "files"))


class DynamoShares:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def add(self, share: Share) -> None:
        created_at = sort_timestamp(share.created_at)
        try:
            self._t.transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._t.name,
                            "Key": _file_key(share.file_id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {
                                **_share_key(share.file_id, share.user_id),
                                "gsi1pk": _s(f"SHAREDWITH#{share.user_id}"),
                                "gsi1sk": _s(_sort_key(created_at, share.file_id)),
                                "file_id": _s(share.file_id),
                                "user_id": _s(share.user_id),
                                "username": _s(share.username),
                                "created_at": _s(created_at),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self._t.name,
                            "Key": _user_key(share.user_id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            codes = _cancellation_codes(error)
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise AlreadySharedError(share.file_id) from None
            if "ConditionalCheckFailed" in codes:
                raise NotFoundError(share.file_id) from None
            raise

    @_translated
    def remove(self, file_id: str, user_id: str) -> None:
        try:
            self._t.client.delete_item(
                TableName=self._t.name,
                Key=_share_key(file_id, user_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except self._t.client.exceptions.ConditionalCheckFailedException:
            raise NotFoundError(file_id) from None

    @_translated
    def exists(self, file_id: str, user_id: str) -> bool:
        return self._t.get(_share_key(file_id, user_id)) is not None

    @_translated
    def list_for_file(self, file_id: str) -> list[Share]:
        items = self._t.query_partition(f"FILE#{file_id}", "SHARE#")
        shares = [
            Share(
                file_id=_str(item, "file_id"),
                user_id=_str(item, "user_id"),
                username=_str(item, "username"),
                created_at=datetime.fromisoformat(_str(item, "created_at")),
            )
            for item in items
        ]
        return sorted(shares, key=lambda share: share.username)

    @_translated
    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        page = self._t.query_index(f"SHAREDWITH#{user_id}", limit=limit, cursor=cursor)
        file_ids = [_str(item, "file_id") for item in page.items]
        found = {
            record.id: record for record in map(_file, self._t.batch_get([_file_key(i) for i in file_ids]))
        }
        # A share whose file was deleted a moment ago is skipped, not shown.
        return Page([found[i] for i in file_ids if i in found], page.next_cursor)


class DynamoRevocations:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def revoke(self, token_id: str, *, expires_at: int) -> None:
        self._t.client.put_item(
            TableName=self._t.name,
            Item={**_revoked_key(token_id), "expires_at": _n(expires_at)},
        )

    @_translated
    def is_revoked(self, token_id: str) -> bool:
        # TTL deletes lazily, so an item may outlive its expiry; it still means "revoked", which is
        # harmless: by then the token's own `exp` refuses it anyway.
        return self._t.get(_revoked_key(token_id)) is not None


class DynamoCallers:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def caller(self, user_id: str, token_id: str) -> tuple[User | None, bool]:
        # One BatchGetItem (strongly consistent, like GetItem here) for both items of the same table.
        user_key, revoked_key = _user_key(user_id), _revoked_key(token_id)
        found = {
            (item["pk"].get("S"), item["sk"].get("S")): item
            for item in self._t.batch_get([user_key, revoked_key])
        }
        user = found.get((user_key["pk"]["S"], user_key["sk"]["S"]))
        revoked = (revoked_key["pk"]["S"], revoked_key["sk"]["S"]) in found
        return (_user(user) if user else None), revoked


def _revoked_key(token_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"REVOKED#{token_id}", "REVOKED")


class DynamoCounters:
    def __init__(self, table: _Table) -> None:
        self._t = table

    @_translated
    def increment(self, key: str, *, window: int, expires_at: int) -> int:
        response = self._t.client.update_item(
            TableName=self._t.name,
            Key=_key(f"COUNTER#{key}", str(window)),
            UpdateExpression="ADD #count :one SET expires_at = :expires",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":one": _n(1), ":expires": _n(expires_at)},
            ReturnValues="UPDATED_NEW",
        )
        return _int(response["Attributes"], "count")

    @_translated
    def count(self, key: str, *, window: int) -> int:
        item = self._t.get(_key(f"COUNTER#{key}", str(window)))
        return _int(item, "count") if item else 0


class S3Blobs:
    """Objects keyed by server ids, encrypted at rest by the bucket, streamed in bounded memory."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    @_translated
    def put(self, key: str, source: BinaryIO, *, size: int, content_type: str) -> None:
        # One PutObject streamed from the spooled upload: uploads are at most a few MB (Lambda's
        # payload limit), far below the size where multipart would pay off. No encryption header: the
        # bucket's default encryption applies (SSE-KMS in infra/, SSE-S3 when provisioned locally),
        # and an explicit AES256 here would silently downgrade infra's KMS to SSE-S3.
        self._s3.put_object(
            Bucket=self._bucket,
            Key=checked_blob_key(key),
            Body=source,
            ContentLength=size,
            ContentType=content_type,
        )

    @_translated
    def open(self, key: str) -> Iterator[bytes]:
        # Fetched here, not inside the generator: a failure is raised before the response starts.
        # The metadata was read first, so a missing object is a deletion that won the race: 404.
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=checked_blob_key(key))["Body"]
        except self._s3.exceptions.NoSuchKey:
            raise NotFoundError(key) from None
        return _chunks(body)

    @_translated
    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=checked_blob_key(key))

    @_translated
    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=checked_blob_key(key))
        except ClientError as error:
            if _code(error) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(_CHUNK)
    finally:
        body.close()


def dynamodb_s3_store(dynamodb: DynamoDBClient, s3: S3Client, *, table_name: str, bucket_name: str) -> Store:
    """The store over clients built once, at init (app/aws_clients.py); they are thread-safe and
    reused by every request."""
    table = _Table(dynamodb, table_name)
    return Store(
        users=DynamoUsers(table),
        files=DynamoFiles(table),
        shares=DynamoShares(table),
        blobs=S3Blobs(s3, bucket_name),
        revocations=DynamoRevocations(table),
        counters=DynamoCounters(table),
        callers=DynamoCallers(table),
    )
