"""Opaque pagination cursors: the last item's sort key, base64url-encoded. Nothing in a cursor is
trusted beyond its shape; the query's partition always comes from the caller's identity."""

from __future__ import annotations

import base64
import binascii
import json

from app.store.base import InvalidCursorError

_MAX_CURSOR_LENGTH = 512


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
        or not all(isinstance(part, str) and len(part) <= 128 for part in decoded)
    ):
        raise InvalidCursorError("malformed cursor")
    return tuple(decoded)
