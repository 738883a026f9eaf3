"""Structured logs with a last line of defence: anything shaped like a credential is redacted."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_REDACTIONS = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[REDACTED_JWT]"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1[REDACTED]"),
    (
        re.compile(r"(?i)(\"?(?:password|passwd|secret|authorization|token)\"?\s*[:=]\s*)\S+"),
        r"\1[REDACTED]",
    ),
)
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts the message, string `extra` fields and the traceback text, which whatever formatter
    the handler has (ours, or the Lambda runtime's) then uses as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(
            {
                key: redact(value) if isinstance(value, str) else value
                for key, value in vars(record).items()
                if key not in _STANDARD_ATTRS
            }
        )
        if record.exc_info:
            entry["error"] = redact(record.exc_text or self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    logging.getLogger("app").setLevel(level)
    root = logging.getLogger()
    # On Lambda the runtime's root handler already ships records (JSON with LoggingConfig); elsewhere
    # our records get a JSON handler of their own. Filters sit on handlers, which see every record.
    handlers = root.handlers or [_json_handler(root)]
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _json_handler(root: logging.Logger) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    return handler
