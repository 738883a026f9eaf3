"""The layout is the architecture, so its rules are checked on the code, the way a linter would:

- only `app/api/` and `app/factory.py` import FastAPI or Starlette (services, store and security know
  no HTTP framework);
- only `app/aws_clients.py` creates boto3 clients (one place for timeouts, retries and the endpoint);
- no HTTP status code is chosen outside `app/api/`: exceptions carry none, and `app/api/errors.py`
  maps them;
- the routers (one per resource) are thin: they parse, call a service and shape the response, with no
  try/except and no store access;
- the app imports nothing that exists only in development (`devtools`, the tests, moto, uvicorn);
- no test imports from a conftest (shared helpers live in `tests/support/`).

Each rule comes with a check that it catches a planted offender, so none of them can pass blind.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

from tests.support.paths import REPO_ROOT

APP = REPO_ROOT / "backend" / "app"
PYTHON_FOLDERS = ("backend", "tests", "bench", "ci", "scripts")
# Deliberately broken code: Semgrep rule cases and trees planted for the security-gate tests.
NOT_CHECKED = ("tests/semgrep/", "tests/fixtures/")
# The benchmarks' floors stand for what any FastAPI-on-Lambda app needs, so they use no code of ours.
BENCH_FLOORS = ("bench/baselines.py", "bench/baselines_aws.py")
ERROR_STATUSES = frozenset(status.value for status in HTTPStatus if 400 <= status.value <= 599)
DEV_ONLY_PACKAGES = frozenset({"devtools", "tests", "bench", "moto", "uvicorn", "pytest"})
_CLIENT_FACTORY = re.compile(r"boto3|session", re.IGNORECASE)


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if not _relative(path).startswith(NOT_CHECKED):
                yield path


def _relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_packages(tree: ast.AST) -> set[str]:
    """The top-level packages a module imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def client_creations(tree: ast.AST) -> list[str]:
    """Calls such as `boto3.client(...)`, `session.client(...)` or `boto3.resource(...)`."""
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"client", "resource"}
        and _CLIENT_FACTORY.search(ast.unparse(node.func.value))
    ]


def chosen_statuses(tree: ast.AST) -> list[str]:
    """HTTP error statuses used as values (raised, returned, passed, stored), and anything named
    `status_code`. Comparing a status received from elsewhere (DynamoDB's, in the AWS store) is
    reading one, not choosing one."""
    compared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            compared.update(id(operand) for operand in (node.left, *node.comparators))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and node.value in ERROR_STATUSES
            and id(node) not in compared
        ):
            found.append(f"line {node.lineno}: {node.value}")
        elif isinstance(node, ast.Name | ast.Attribute | ast.keyword | ast.arg):
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "arg", None)
            if name == "status_code":
                found.append(f"line {getattr(node, 'lineno', '?')}: status_code")
    return found


def _in_api(path: Path) -> bool:
    return path.is_relative_to(APP / "api")


def test_only_the_api_and_the_factory_import_fastapi_or_starlette() -> None:
    offenders = [
        f"{_relative(path)}: {sorted(frameworks)}"
        for path in _python_files("backend/app")
        if not _in_api(path) and path != APP / "factory.py"
        if (frameworks := imported_packages(_tree(path)) & {"fastapi", "starlette"})
    ]
    assert offenders == []


def test_only_aws_clients_creates_boto3_clients() -> None:
    offenders = [
        f"{_relative(path)}: {call}"
        for path in _python_files(*PYTHON_FOLDERS)
        if path != APP / "aws_clients.py" and _relative(path) not in BENCH_FLOORS
        for call in client_creations(_tree(path))
    ]
    assert offenders == []
    assert client_creations(_tree(APP / "aws_clients.py")), "the one factory must still be found"


def test_no_status_code_is_chosen_outside_the_api() -> None:
    offenders = [
        f"{_relative(path)}: {found}"
        for path in _python_files("backend/app")
        if not _in_api(path)
        if (found := chosen_statuses(_tree(path)))
    ]
    assert offenders == []
    http_imports = [
        _relative(path)
        for path in _python_files("backend/app")
        if not _in_api(path) and "http" in imported_packages(_tree(path))
    ]
    assert http_imports == [], "HTTPStatus belongs to app/api/"


ROUTERS = ("auth.py", "users.py", "files.py", "shares.py", "admin.py", "health.py")


def thick_spots(tree: ast.AST) -> list[str]:
    """What a thin router does not do: catch exceptions, or reach the store."""
    return [
        f"line {node.lineno}: " + ("try" if isinstance(node, ast.Try) else "store access")
        for node in ast.walk(tree)
        if isinstance(node, ast.Try | ast.TryStar)
        or (isinstance(node, ast.Attribute) and node.attr == "store")
    ]


def test_routers_parse_call_a_service_and_shape_the_response() -> None:
    routers = [APP / "api" / name for name in ROUTERS]
    assert all(path.exists() for path in routers)
    offenders = [f"{_relative(path)}: {found}" for path in routers if (found := thick_spots(_tree(path)))]
    assert offenders == []


def test_the_app_imports_nothing_that_exists_only_in_development() -> None:
    offenders = [
        f"{_relative(path)}: {sorted(dev_only)}"
        for path in _python_files("backend/app")
        if (dev_only := imported_packages(_tree(path)) & DEV_ONLY_PACKAGES)
    ]
    assert offenders == []


def test_no_test_imports_from_a_conftest() -> None:
    offenders = [
        _relative(path)
        for path in _python_files("tests", "bench")
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest"
    ]
    assert offenders == []


def test_the_checks_catch_what_they_forbid() -> None:
    planted = ast.parse(
        "import boto3\n"
        "from starlette.responses import Response\n"
        "def f(session):\n"
        "    from devtools.moto import stop\n"
        "    boto3.client('s3'); session.client('dynamodb'); boto3.session.Session().client('s3')\n"
        "    raise UploadRejectedError(413, 'too large')\n"
        "def g(error):\n"
        "    if error.status >= 500: return Response(status_code=503)\n"
    )
    assert imported_packages(planted) >= {"boto3", "starlette", "devtools"}
    assert len(client_creations(planted)) == 3
    assert sorted(chosen_statuses(planted)) == ["line 6: 413", "line 8: 503", "line 8: status_code"]
    router = ast.parse(
        "def f(context):\n    try:\n        context.store.files.get(1)\n    except KeyError:\n        pass\n"
    )
    assert thick_spots(router) == ["line 2: try", "line 3: store access"]
    # An ordinary number that is not a status, and a received status compared, pass.
    assert chosen_statuses(ast.parse("LIMIT = 512\nok = response.status == 404\n")) == []
