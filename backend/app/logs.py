"""Structured logs with a last line of defence: anything shaped like a credential is redacted."""

from __future__ import annotations

import json
import logging
import re
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any

_SENSITIVE_WORDS = "password|passwd|secret|authorization|token"
_REDACTIONS = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[REDACTED_JWT]"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1[REDACTED]"),
    # "Authorization: Bearer x": the scheme stays readable, the bearer rule above took the credential.
    (re.compile(rf"(?i)([\"']?(?:{_SENSITIVE_WORDS})[\"']?\s*[:=]\s*)(?!bearer\s)\S+"), r"\1[REDACTED]"),
)
# One search for anything any redaction could match: most log text has none, and then costs one pass.
_MIGHT_HOLD_A_SECRET = re.compile(rf"eyJ|(?i:bearer|{_SENSITIVE_WORDS})")
# An extra field or mapping key named like a credential (`password`, `access_token`, `Authorization`):
# its value is withheld whatever its shape, since a bare value has none to recognise.
_SENSITIVE_KEY = re.compile(rf"(?i)[\w.-]*(?:{_SENSITIVE_WORDS})s?")
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_MAX_DEPTH = 8
REDACTED = "[REDACTED]"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def redact(text: str) -> str:
    if not _MIGHT_HOLD_A_SECRET.search(text):
        return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactedError(Exception):
    """What a logged exception becomes once redacted: its name, a redacted message, its traceback."""


class RedactingFilter(logging.Filter):
    """Leaves nothing on the record that a formatter could read a secret from: the message and its
    arguments, `extra` fields (strings, containers and objects alike), the exception and its traceback
    text, and the stack info. The filter runs on the handler, before whatever formatter it has: ours,
    the stdlib's, or the Lambda runtime's, which reads the exception object itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _redact_record(record)
        except Exception as error:  # noqa: BLE001 - fail closed: a record we cannot redact is not shipped as is
            _withhold(record, error)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, Mapping) and not record.args:
        record.msg = _redact_value(record.msg)  # the runtime ships a mapping message as a JSON object
    else:
        record.msg = redact(record.getMessage())
    record.args = None
    attributes = vars(record)
    if "message" in attributes:  # a formatter that ran before us cached the unredacted text here
        attributes["message"] = record.getMessage()
    for key in attributes.keys() - _STANDARD_ATTRS:
        attributes[key] = _redact_field(key, attributes[key])
    exc_info = record.exc_info
    if exc_info and isinstance(exc_info[1], BaseException) and not isinstance(exc_info[1], RedactedError):
        # The text keeps the whole story (chained causes, notes) for formatters that print exc_text;
        # the stand-in keeps what the runtime's JSON reads off the exception: errorType, errorMessage
        # and stackTrace. The traceback itself stays: it renders file, line, function and source line,
        # which are code, never the values the exception carried.
        record.exc_text = record.exc_text or _TRACEBACK_FORMATTER.formatException(exc_info)
        record.exc_info = _stand_in(exc_info[0] or type(exc_info[1]), exc_info[1], exc_info[2])
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_TRACEBACK_FORMATTER = logging.Formatter()


def _stand_in(exc_type: type[BaseException], error: BaseException, tb: TracebackType | None) -> ExcInfo:
    """Same type name, redacted message, no chain, args or notes: `type(exc).__name__` and `str(exc)`
    are all the runtime's formatter shows of it."""
    stand_in = _stand_in_type(exc_type)
    return stand_in, stand_in(redact(_printable(error))), tb


# Weak keys: an exception class created at runtime is not kept alive by having been logged once.
_STAND_INS: weakref.WeakKeyDictionary[type[BaseException], type[RedactedError]] = weakref.WeakKeyDictionary()


def _stand_in_type(exc_type: type[BaseException]) -> type[RedactedError]:
    stand_in = _STAND_INS.get(exc_type)
    if stand_in is None:
        # A subclass of RedactedError, never of the original: its own __str__ or __init__ could reveal
        # what was redacted, or refuse the redacted message.
        namespace = {"__module__": exc_type.__module__, "__qualname__": exc_type.__qualname__}
        stand_in = _STAND_INS[exc_type] = type(exc_type.__name__, (RedactedError,), namespace)
    return stand_in


def _redact_field(key: str, value: object, depth: int = 0) -> object:
    if _SENSITIVE_KEY.fullmatch(key) and value is not None:
        return REDACTED
    return _redact_value(value, depth)


def _redact_value(value: object, depth: int = 0) -> object:
    """A JSON-shaped copy with every string redacted; other objects become their redacted `str`, which
    is what each formatter (`default=str`, `%s`) would have printed of them anyway."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {redact(str(key)): _redact_field(str(key), item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item, depth + 1) for item in value]
    return redact(_printable(value))


def _printable(value: object) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - an object whose __str__ fails is shown by its type alone
        return f"<unprintable {type(value).__name__}>"


def _withhold(record: logging.LogRecord, error: Exception) -> None:
    """Fail closed: the part that could not be redacted is dropped, and every field stays in place, since
    a formatter may name it (the runtime's text format prints `aws_request_id`)."""
    record.msg = f"log record withheld: redacting it failed with {type(error).__name__}"
    record.args, record.exc_info, record.exc_text, record.stack_info = None, None, None, None
    attributes = vars(record)
    if "message" in attributes:
        attributes["message"] = record.msg
    for key in attributes.keys() - _STANDARD_ATTRS:
        try:
            attributes[key] = _redact_field(key, attributes[key])
        except Exception:  # noqa: BLE001 - this field is the one that could not be redacted
            attributes[key] = REDACTED


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(
            {
                key: _redact_field(key, value)
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
