"""Client file names are display metadata only: neutralised on the way in (and encoded on the way
out, by the API's Content-Disposition, `app/api/files.py`)."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 255
_FALLBACK = "file"


def sanitize_filename(raw: str | None) -> str:
    """A single path segment with no control characters, no leading dots and a bounded length."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        keep_ext = dot and 0 < len(ext) <= 16
        name = (stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext) if keep_ext else name[:MAX_NAME_LENGTH]
    return name or _FALLBACK
