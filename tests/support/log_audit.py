"""The session's log audit (T-15), a pytest plugin registered by tests/conftest.py.

Every log record of the session, as production ships it (the app's redacting filter and JSON formatter
applied to a copy), is checked for a JWT, a bearer header value, or a registered secret: the Api
helper's passwords and tokens, and every key and token that goes through jwt.encode. Each xdist worker
audits its own records; an offence fails the worker's last test (session teardown).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from app.logs import JsonFormatter, RedactingFilter
from tests.support.api import SENSITIVE_VALUES

_CREDENTIAL_SHAPES = re.compile(
    r"ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|(?i:bearer)\s+(?!\[REDACTED)[\w.~+/=-]{8,}"
)
_PROBE = 12  # registered values are found through their first 12 characters


class LogAudit(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter = JsonFormatter()
        self.probes: dict[str, set[str]] = {}
        self.synced = 0
        self.records = 0
        self.offences: list[str] = []

    def register(self, value: str | bytes) -> None:
        text = value.decode("utf-8", "ignore") if isinstance(value, bytes) else value
        # Shorter or repetitive values cannot be told apart from ordinary log text.
        if len(text) >= _PROBE and len(set(text)) >= 5:
            self.probes.setdefault(text[:_PROBE], set()).add(text)

    def offences_in(self, text: str) -> list[str]:
        for value in SENSITIVE_VALUES[self.synced :]:
            self.register(value)
        self.synced = len(SENSITIVE_VALUES)
        found = [f"credential-shaped {m.group(0)[:12]}..." for m in _CREDENTIAL_SHAPES.finditer(text)]
        for start in range(len(text) - _PROBE + 1):
            for value in self.probes.get(text[start : start + _PROBE], ()):
                if text.startswith(value, start):
                    found.append(f"registered secret {value[:4]}...")
        return found

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        shipped = logging.makeLogRecord(vars(record))
        RedactingFilter().filter(shipped)
        text = self.format(shipped)
        found = self.offences_in(text)
        if found and len(self.offences) < 20:
            self.offences.append(f"{found} in {text[:400]}")


@pytest.fixture(autouse=True, scope="session")
def log_audit() -> Iterator[LogAudit]:
    audit, root, encode = LogAudit(), logging.getLogger(), jwt.encode
    level = root.level

    def recording_encode(payload: Any, key: Any, *args: Any, **kwargs: Any) -> str:
        token: str = encode(payload, key, *args, **kwargs)
        for value in (key, token):
            if isinstance(value, str | bytes):
                audit.register(value)
        return token

    root.addHandler(audit)
    root.setLevel(logging.DEBUG)
    jwt.encode = recording_encode
    try:
        yield audit
    finally:
        jwt.encode = encode
        root.removeHandler(audit)
        root.setLevel(level)
    if audit.offences:
        pytest.fail("credentials reached the logs:\n" + "\n".join(audit.offences), pytrace=False)
