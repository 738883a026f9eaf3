"""The app imports no deserializer that can run code (T-24): every input is JSON, read by pydantic,
PyJWT or json. Semgrep's unsafe-deserialization rule reports the calls but does not block (the same
calls are harmless on data the process wrote itself); this check blocks the imports, wherever they sit,
function-local imports included."""

from __future__ import annotations

import ast

import pytest

from tests.support.paths import REPO_ROOT

APP = REPO_ROOT / "backend" / "app"
# Modules whose loaders run code or build arbitrary objects from the bytes they read.
CODE_RUNNING = frozenset(
    {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "jsonpickle", "marshal", "shelve", "yaml"}
)


def unsafe_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {name}" for name in names if name.split(".")[0] in CODE_RUNNING]
    return found


@pytest.mark.threat("T-24")
def test_the_app_imports_no_code_running_deserializer() -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): found
        for path in sorted(APP.rglob("*.py"))
        if (found := unsafe_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.threat("T-24")
@pytest.mark.parametrize(
    "planted",
    [
        "import pickle",
        "import yaml as y",
        "from marshal import loads",
        "def f():\n    import jsonpickle.unpickler\n",
        "from shelve import open as o",
    ],
)
def test_the_check_sees_a_planted_import(planted: str) -> None:
    assert unsafe_imports(planted)


def test_the_check_ignores_json_and_relative_imports() -> None:
    assert unsafe_imports("import json\nfrom . import pickle_free\nfrom .yaml import x") == []
