"""The locks and how the Makefile installs them: uv with --require-hashes, uv itself from a hash-locked
file, checkov apart from detect-secrets.

uv's hash check is exercised for real, offline: a wheel made here, offered through --find-links, is
installed with the Makefile's own uv flags against a wrong hash and against the right one.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
MAKEFILE = (ROOT / "Makefile").read_text()
UV = ROOT / ".venv-uv" / "bin" / "uv"
LOCKS = ("bootstrap", "app", "dev", "tools", "checkov")


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name} (?::=|=) ?(.*)$", MAKEFILE, re.M)
    assert match, f"Makefile: no {name}"
    return match[1]


def _locked(lock: str) -> dict[str, list[str]]:
    """{name==version: [hashes]} for one requirements/*.txt."""
    entries: dict[str, list[str]] = {}
    current = ""
    for line in (REQUIREMENTS / f"{lock}.txt").read_text().splitlines():
        if re.match(r"^[a-z0-9]", line):
            current = line.split(" ;")[0].split(" \\")[0].strip()
            entries[current] = []
        elif line.strip().startswith("--hash=sha256:"):
            entries[current].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def _wheel(directory: Path, name: str, version: str) -> Path:
    """The smallest valid wheel: one module and its dist-info."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": b"ANSWER = 42\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip('=')},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def _uv() -> str:
    if not UV.exists():
        pytest.fail(f"run `make venv` first: {UV} is missing")
    return str(UV)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An empty environment to install into, made by uv (no pip, no network)."""
    env = tmp_path / "env"
    subprocess.run([_uv(), "venv", "--quiet", "--python", "python3", str(env)], check=True, timeout=60)
    return env / "bin" / "python"


def _install(python: Path, wheels: Path, requirements: Path) -> subprocess.CompletedProcess[str]:
    # The Makefile's own flags (UV_INSTALL), offline: only the wheel made here can be found.
    flags = shlex.split(_make_variable("UV_INSTALL").replace("$(UV)", _uv()))
    assert flags[-1] == "--python"
    return subprocess.run(
        [*flags, str(python), "--no-index", "--find-links", str(wheels), "-r", str(requirements)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _imports(python: Path, module: str) -> bool:
    done = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0


def test_uv_refuses_a_file_whose_hash_is_not_the_locked_one(tmp_path: Path, target: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = _wheel(wheels, "lockprobe", "1.0")
    requirements = tmp_path / "requirements.txt"

    requirements.write_text(f"lockprobe==1.0 --hash=sha256:{'0' * 64}\n")
    refused = _install(target, wheels, requirements)
    assert refused.returncode != 0
    assert "Hash mismatch for `lockprobe==1.0`" in refused.stderr, refused.stderr
    assert not _imports(target, "lockprobe")

    requirements.write_text("lockprobe==1.0\n")  # no hash at all
    unhashed = _install(target, wheels, requirements)
    assert unhashed.returncode != 0
    assert "all requirements must have a hash" in unhashed.stderr, unhashed.stderr
    assert not _imports(target, "lockprobe")

    requirements.write_text(
        f"lockprobe==1.0 --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n"
    )
    accepted = _install(target, wheels, requirements)
    assert accepted.returncode == 0, accepted.stderr
    assert _imports(target, "lockprobe")


def test_every_venv_is_installed_by_uv_with_hashes_and_uv_by_pip_with_hashes() -> None:
    planned = subprocess.run(
        ["make", "-n", "-B", "venv", "tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = [line for line in planned.replace("\\\n", " ").splitlines() if " install " in line]
    # The project itself (`-e .`, editable) comes from this checkout, not a lock: it installs nothing
    # else and downloads nothing (its build backend is in the dev lock).
    (project,) = [line for line in lines if line.endswith(" -e .")]
    assert re.match(r"^\.venv-uv/bin/uv pip install .*--no-deps --no-build-isolation --offline", project)
    installs = [line for line in lines if line != project]
    uv_installs = [line for line in installs if line.startswith(".venv-uv/bin/uv pip install ")]
    assert {re.findall(r"-r requirements/(\w+)\.txt", line)[0] for line in uv_installs} == {
        "app",
        "tools",
        "checkov",
    }
    (bootstrap,) = [line for line in installs if "requirements/bootstrap.txt" in line]
    assert re.match(r"^\.venv-uv/bin/python -m pip install .*--require-hashes", bootstrap), bootstrap
    for line in installs:
        assert "--require-hashes" in line, line
        assert "--no-deps" in line, line


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_a_hash(lock: str) -> None:
    entries = _locked(lock)
    assert entries
    for requirement, hashes in entries.items():
        assert re.fullmatch(r"[a-z0-9._-]+(\[[a-z0-9,_-]+\])?==[^=\s]+", requirement), requirement
        assert hashes, f"requirements/{lock}.txt: {requirement} has no hash"


def test_checkov_is_apart_from_detect_secrets() -> None:
    # checkov pulls bc-detect-secrets, which installs its own `detect_secrets` module over the real one.
    tools, checkov = _locked("tools"), _locked("checkov")
    assert any(r.startswith("detect-secrets==") for r in tools)
    assert not any(r.startswith(("checkov==", "bc-detect-secrets==")) for r in tools)
    assert any(r.startswith("checkov==") for r in checkov)
    assert "semgrep==1.185.0" in tools  # held on purpose (requirements/tools.in)


def test_the_tools_venv_holds_only_the_real_detect_secrets() -> None:
    python = ROOT / ".venv-tools" / "bin" / "python"
    if not python.exists():
        pytest.fail("run `make tools` first: .venv-tools is missing")
    probe = (
        "import detect_secrets.__version__ as v, importlib.metadata as m; "
        "print(v.VERSION, [d.metadata['Name'] for d in m.distributions() if 'detect' in d.metadata['Name']])"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    locked = next(r for r in _locked("tools") if r.startswith("detect-secrets=="))
    assert done.stdout.split()[0] == locked.split("==")[1], done.stdout
    assert "bc-detect-secrets" not in done.stdout
