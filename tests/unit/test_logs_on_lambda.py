"""Secrets in logs (T-15), through the formatters that really ship the records.

On Lambda the runtime's bootstrap (the `awslambdaric` package) puts its own handler on the root logger
before our module is imported; with `LoggingConfig: LogFormat: JSON` that handler formats records with
awslambdaric's JsonFormatter, which reads the exception object itself (`type(exc).__name__`,
`str(exc)`, `traceback.format_tb`) and every extra attribute, not the text our formatter would print.
These tests build the root handler with the runtime's own `_setup_logging`, let `configure_logging`
add our filter the way it does at init, and check every place a record can carry a secret against each
formatter: the runtime's JSON and text formats, a stdlib `logging.Formatter` naming the extra fields, and
our own JsonFormatter (local mode).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from awslambdaric import bootstrap
from awslambdaric.lambda_runtime_log_utils import LogFormat

from app.logs import RedactingFilter, configure_logging
from tests.support.paths import REPO_ROOT

EXTRA_FIELDS = ("authorization", "upstream", "password", "headers", "tokens", "form", "request")


@dataclass(frozen=True)
class Secrets:
    jwt: str
    opaque: str
    password: str

    @classmethod
    def fresh(cls) -> Secrets:
        # Built at runtime so no token-shaped literal sits in the repository.
        jwt = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0" + "." + secrets.token_urlsafe(32)
        return cls(jwt=jwt, opaque=secrets.token_urlsafe(24), password=secrets.token_urlsafe(16))

    def all(self) -> tuple[str, ...]:
        return (self.jwt, self.opaque, self.password)


# --- the places a record carries text --------------------------------------------------------------


def exception_message(log: logging.Logger, s: Secrets) -> None:
    try:
        raise ValueError(f"upstream refused Authorization: Bearer {s.jwt} with password={s.password}")
    except ValueError:
        log.exception("call failed")


def message(log: logging.Logger, s: Secrets) -> None:
    log.warning(f"forwarding Authorization: Bearer {s.opaque}")


def args(log: logging.Logger, s: Secrets) -> None:
    log.warning("login for %s with password=%s", "alice", s.password)
    log.warning("%(header)s", {"header": f"Bearer {s.opaque}"})


def dict_message(log: logging.Logger, s: Secrets) -> None:
    # awslambdaric ships a dict message as a JSON object, not as text.
    log.info({"event": "login", "password": s.password, "authorization": f"Bearer {s.opaque}"})


def string_extras(log: logging.Logger, s: Secrets) -> None:
    log.info(
        "forwarded",
        extra={"authorization": f"Bearer {s.opaque}", "upstream": s.jwt, "password": s.password},
    )


def container_extras(log: logging.Logger, s: Secrets) -> None:
    log.info(
        "request",
        extra={
            "headers": {"Authorization": f"Bearer {s.opaque}"},
            "tokens": [s.jwt],
            "form": ({"password": s.password},),
            "request": SimpleNamespace(token=s.opaque),
        },
    )


def stack_info(log: logging.Logger, s: Secrets) -> None:
    sinfo = f'Stack (most recent call last):\n  File "x.py", line 1, in f\n    call(token={s.opaque})'
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 1, "with stack", (), None, sinfo=sinfo))


def chained_exception(log: logging.Logger, s: Secrets) -> None:
    try:
        try:
            raise KeyError(f"password={s.password} not accepted")
        except KeyError as inner:
            raise RuntimeError("the profile could not be loaded") from inner
    except RuntimeError:
        log.exception("profile")


def exception_args_and_notes(log: logging.Logger, s: Secrets) -> None:
    error = PermissionError("denied", f"Bearer {s.opaque}")
    error.add_note(f"retried with password={s.password}")
    try:
        raise error
    except PermissionError:
        log.exception("refused")


def exception_without_traceback(log: logging.Logger, s: Secrets) -> None:
    log.error("refused", exc_info=ValueError(f"Authorization: Bearer {s.opaque}"))


def unformattable_message(log: logging.Logger, s: Secrets) -> None:
    # Unredacted, the stdlib would print the arguments with its "--- Logging error ---" report; the
    # filter withholds the record instead, and the caller goes on.
    log.warning("%d attempts with password=%s", "three", s.password)


CASES: list[Callable[[logging.Logger, Secrets], None]] = [
    exception_message,
    message,
    args,
    dict_message,
    string_extras,
    container_extras,
    stack_info,
    chained_exception,
    exception_args_and_notes,
    exception_without_traceback,
    unformattable_message,
]
SHIPPERS = ("lambda-json", "lambda-text", "stdlib", "local")


@contextmanager
def shipped_by(shipper: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """The root logger as it is at our init: the runtime's handler alone (or, locally, no handler),
    then `configure_logging`. Whatever the root held is put back afterwards."""
    root, app_logger = logging.getLogger(), logging.getLogger("app")
    saved, converter, app_level = root.handlers[:], logging.Formatter.converter, app_logger.level
    for handler in saved:
        root.removeHandler(handler)
    try:
        if shipper in ("lambda-json", "lambda-text"):
            log_format = LogFormat.JSON if shipper == "lambda-json" else LogFormat.TEXT
            bootstrap._setup_logging(log_format, "", bootstrap.StandardLogSink())
        elif shipper == "stdlib":
            handler = logging.StreamHandler(sys.stdout)
            fields = " ".join(f"%({name})s" for name in EXTRA_FIELDS)
            handler.setFormatter(
                logging.Formatter(
                    f"%(levelname)s %(name)s %(message)s {fields}",
                    defaults=dict.fromkeys(EXTRA_FIELDS, "-"),
                )
            )
            root.addHandler(handler)
        configure_logging("DEBUG")
        capsys.readouterr()
        yield lambda: "".join(capsys.readouterr())
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        logging.Formatter.converter = converter
        app_logger.setLevel(app_level)


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger(f"app.test_logs_on_lambda.{secrets.token_hex(4)}")


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
@pytest.mark.parametrize("shipper", SHIPPERS)
def test_no_formatter_ships_a_secret_from_any_part_of_a_record(
    shipper: str,
    case: Callable[[logging.Logger, Secrets], None],
    log: logging.Logger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Secrets.fresh()
    with shipped_by(shipper, capsys) as output:
        case(log, s)
        text = output()
    assert text.strip(), "nothing was shipped"
    for secret in s.all():
        assert secret not in text, text


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
def test_the_runtime_json_error_fields_stay_useful_once_redacted(
    log: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Secrets.fresh()
    with shipped_by("lambda-json", capsys) as output:
        exception_message(log, s)
        exception_args_and_notes(log, s)
        lines = [json.loads(line) for line in output().splitlines()]
    first, second = lines
    assert first["errorType"] == "ValueError"
    assert first["errorMessage"] == (
        "upstream refused Authorization: Bearer [REDACTED] with password=[REDACTED]"
    )
    assert first["message"] == "call failed"
    assert first["level"] == "ERROR"
    assert "exception_message" in "".join(first["stackTrace"])
    assert ":exception_message:" in first["location"]
    assert second["errorType"] == "PermissionError"
    assert "denied" in second["errorMessage"]


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("shipper", ["lambda-json", "lambda-text"])
def test_configure_logging_puts_the_filter_on_the_runtime_handler_and_adds_none(
    shipper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with shipped_by(shipper, capsys):
        (handler,) = logging.getLogger().handlers
        assert isinstance(handler, bootstrap.LambdaLoggerHandlerWithFrameType | bootstrap.LambdaLoggerHandler)
        assert [type(f) for f in handler.filters] == [bootstrap.LambdaLoggerFilter, RedactingFilter]
        configure_logging("INFO")  # a second app in the same environment adds no second filter
        assert len(handler.filters) == 2


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
def test_an_ordinary_record_passes_the_filter_unchanged() -> None:
    """The happy path only reads the message: no formatting of anything it does not need."""
    extra = {"path": "/files/{file_id}", "status": 200}
    record = logging.makeLogRecord({"msg": "request %s", "args": ("done",), "name": "app.access", **extra})
    RedactingFilter().filter(record)
    assert (record.msg, record.args, record.exc_info, record.exc_text) == ("request done", None, None, None)
    assert {name: vars(record)[name] for name in extra} == extra


# --- the Lambda functions' init, in a fresh interpreter, through the runtime's own bootstrap ---------

RUNTIME_INIT = textwrap.dedent(
    """
    import logging, sys
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_log_utils import LogFormat

    bootstrap._setup_logging(LogFormat.JSON, "", bootstrap.StandardLogSink())
    handler = bootstrap._get_handler(sys.argv[1])  # the init phase: the runtime imports the module
    module = sys.modules[handler.__module__]
    (root_handler,) = logging.getLogger().handlers
    print("FILTERS", [type(f).__name__ for f in root_handler.filters], flush=True)
    try:
        raise ValueError("refused Authorization: Bearer " + sys.argv[2])
    except ValueError:
        logging.getLogger(module.__name__).exception("step failed", extra={"password": sys.argv[2]})
    """
)


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
@pytest.mark.parametrize("entry_point", ["app.rotation.handler", "app.main.handler"])
def test_each_lambda_function_installs_the_filter_at_init(entry_point: str, tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(24)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_", "AWS_", "LOG_"))}
    env = {
        **base,
        "PYTHONPATH": str(REPO_ROOT / "backend"),
        "APP_MODE": "local",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    started = subprocess.run(
        [sys.executable, "-c", RUNTIME_INIT, entry_point, secret],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    assert "FILTERS ['LambdaLoggerFilter', 'RedactingFilter']" in started.stdout
    assert secret not in started.stdout + started.stderr
    (shipped,) = [json.loads(line) for line in started.stdout.splitlines() if line.startswith("{")]
    assert shipped["errorType"] == "ValueError"
    assert shipped["errorMessage"] == "refused Authorization: Bearer [REDACTED]"
    assert shipped["password"] == "[REDACTED]"
