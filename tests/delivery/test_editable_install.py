"""`pip install -e .`: pyproject.toml builds the `app` package (backend/app) with setuptools, and its
dependencies are requirements/app.in's, so `import app` works in the venv without PYTHONPATH.

Built for real, offline, in a throw-away venv that sees the locked .venv's packages (the dependencies
and setuptools, the build backend the dev lock holds), with README's pip command and with the
Makefile's uv one, and imported from outside the checkout."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

UV = REPO_ROOT / ".venv-uv" / "bin" / "uv"
README_COMMAND = ".venv/bin/pip install --no-deps --no-build-isolation -e ."


def _makefile_command() -> list[str]:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(line.strip() for line in makefile.splitlines() if " -e ." in line)
    assert line.startswith("$(UV) pip install "), line
    return shlex.split(line.removeprefix("$(UV) ").replace("$(PY)", "{python}"))


def throwaway_venv(tmp_path: Path) -> Path:
    """A venv of its own whose site-packages also read .venv's: the locked packages, no download."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    (Path(site) / "locked-dev-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def outside_the_checkout(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}  # no PYTHONPATH
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["readme-pip", "makefile-uv"])
def test_the_project_installs_editable_and_imports_without_pythonpath(installer: str, tmp_path: Path) -> None:
    python = throwaway_venv(tmp_path)
    probe = (
        "import app.main, importlib.metadata as m; print(app.__file__); print(m.requires('fastapi-lambda'))"
    )
    before = outside_the_checkout(python, probe, tmp_path)
    assert before.returncode != 0
    assert "No module named 'app'" in before.stderr

    if installer == "readme-pip":
        assert README_COMMAND in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
        command = [str(python), "-m", "pip", *shlex.split(README_COMMAND)[1:]]
    else:
        assert UV.exists(), "run `make venv` first: .venv-uv holds uv"
        command = [str(UV), *(part.format(python=python) for part in _makefile_command())]
    built = subprocess.run(
        [*command, "--no-index"] if installer == "readme-pip" else command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr

    after = outside_the_checkout(python, probe, tmp_path)
    assert after.returncode == 0, after.stderr
    location, requires = after.stdout.splitlines()
    assert Path(location) == REPO_ROOT / "backend" / "app" / "__init__.py"
    app_in = [line for line in (REPO_ROOT / "requirements" / "app.in").read_text().splitlines() if line]
    assert requires == repr(app_in)
    # devtools (make run-aws, tests) is not part of the package.
    assert not re.search(r"devtools", requires)
