"""Upload checks: an uploaded file's size, declared type, magic number and digest, inspected before
anything is stored."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from app.exceptions import ContentMismatchError, FileTooLargeError, UnsupportedContentTypeError

_CHUNK = 256 * 1024
# A declared binary type must start with its magic number, or the upload is a spoof.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "application/json"})


@dataclass(frozen=True)
class InspectedUpload:
    size: int
    sha256: str
    content_type: str


def normalize_content_type(declared: str | None) -> str:
    return (declared or "application/octet-stream").split(";", 1)[0].strip().lower()


def _matches_magic(content_type: str, head: bytes) -> bool:
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    signatures = _MAGIC.get(content_type)
    return signatures is None or head.startswith(signatures)


def inspect_upload(
    source: BinaryIO, *, declared_type: str | None, allowed_types: tuple[str, ...], max_bytes: int
) -> InspectedUpload:
    """Reads the (already spooled) upload once, in chunks, and rewinds it for storing. Raises
    UnsupportedContentTypeError, FileTooLargeError or ContentMismatchError."""
    content_type = normalize_content_type(declared_type)
    if content_type not in allowed_types:
        raise UnsupportedContentTypeError(content_type)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if content_type in _TEXT_TYPES else None
    size = 0
    head = b""
    source.seek(0)
    while chunk := source.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLargeError(max_bytes)
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        digest.update(chunk)
        if decoder is not None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                raise ContentMismatchError(content_type) from None
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ContentMismatchError(content_type) from None
    if not _matches_magic(content_type, head):
        raise ContentMismatchError(content_type)
    source.seek(0)
    return InspectedUpload(size=size, sha256=digest.hexdigest(), content_type=content_type)
