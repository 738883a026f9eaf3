"""Keyset pagination shared by both stores: newest first on (timestamp, id), with opaque cursors.

A cursor is the last item's sort key, base64url-encoded. Nothing in a cursor is trusted beyond its
shape; the query's partition always comes from the caller's identity.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from app.exceptions import InvalidCursorError
from app.records import Page

R = TypeVar("R")
T = TypeVar("T")

_MAX_CURSOR_LENGTH = 512
# Sorts after every timestamp and id: the upper bound of a first page, so every listing is one
# constant, parameterised query.
NO_CURSOR = ("~", "~")
# Every part we issue is a timestamp or an id: printable ASCII. Anything else (a lone surrogate, which
# neither SQLite's driver nor boto3 can encode, a NUL, a control character) is not our cursor.
_SORT_KEY_PART = re.compile(r"[\x20-\x7e]{0,128}")


def sort_timestamp(value: datetime) -> str:
    """Fixed width and always UTC, so string order is time order (both stores store this form)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def encode_cursor(*parts: str) -> str:
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> tuple[str, ...]:
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidCursorError("cursor too long")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvalidCursorError("malformed cursor") from error
    if (
        not isinstance(decoded, list)
        or len(decoded) != parts
        or not all(isinstance(part, str) and _SORT_KEY_PART.fullmatch(part) for part in decoded)
    ):
        raise InvalidCursorError("malformed cursor")
    return tuple(decoded)


def upper_bound(cursor: str | None) -> tuple[str, str]:
    """The (timestamp, id) every item of the page sorts before."""
    if cursor is None:
        return NO_CURSOR
    timestamp, item_id = decode_cursor(cursor, parts=2)
    return timestamp, item_id


def keyset_page(
    rows: Sequence[R], limit: int, *, item: Callable[[R], T], sort_key: Callable[[R], tuple[str, str]]
) -> Page[T]:
    """One page from up to `limit + 1` rows fetched newest first: the extra row only tells that there
    is a next page, whose cursor is the sort key of this page's last row."""
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    return Page([item(row) for row in page], encode_cursor(*sort_key(page[-1])) if more else None)
