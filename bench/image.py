"""The image's layout, without Docker: the locked app requirements installed with pip --target, as the
Dockerfile's builder stage does, into a git-ignored cache that is rebuilt when the lock (or the
interpreter) changes. Cold starts measured from it see what Lambda's /var/task holds, not the dev venv,
which has more packages (cryptography, which PyJWT imports when present, among them)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "app.txt"
CACHE = REPO / ".cache" / "bench-image"
# The hello baselines' own requirements: what a bare FastAPI + Mangum app (and its AWS-mode floor,
# which adds one boto3 client and PyJWT) would ship, closed over the lock's dependency graph.
HELLO_ROOTS = ("fastapi", "mangum")
HELLO_AWS_ROOTS = (*HELLO_ROOTS, "boto3", "pyjwt")

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")
_VIA = re.compile(r"^\s+#\s+(?:via\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*$")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def site_dir(lock: Path = LOCK, cache: Path = CACHE) -> Path:
    """The installed lock, built on first use; one folder per lock content and interpreter."""
    tag = f"{sys.implementation.cache_tag}-{sys.platform}"
    key = hashlib.sha256(lock.read_bytes() + tag.encode()).hexdigest()[:16]
    target = cache / f"{tag}-{key}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.iterdir():  # an older lock's install: nothing reads it any more
        shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix="building-", dir=cache))
    # The Dockerfile's flags: hashes required, no resolution (the lock is complete), wheels only.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
            str(building),
            "-r",
            str(lock),
        ],
        check=True,
        timeout=600,
    )
    try:
        building.rename(target)
    except OSError:  # another run finished first: its install is the same lock's
        shutil.rmtree(building, ignore_errors=True)
    return target


def required_by(lock: Path, roots: tuple[str, ...]) -> set[str]:
    """The locked packages `roots` need, transitively, read from the lock's `# via` annotations."""
    parents: dict[str, set[str]] = {}
    current = ""
    for line in lock.read_text().splitlines():
        requirement = _REQUIREMENT.match(line)
        if requirement:
            current = normalized(requirement.group(1))
            parents[current] = set()
            continue
        via = _VIA.match(line)
        if current and via:
            parents[current].add(normalized(via.group(1)))
    needed = {normalized(root) for root in roots}
    unknown = needed - parents.keys()
    if unknown:
        raise ValueError(f"not in {lock.name}: {', '.join(sorted(unknown))}")
    grown = True
    while grown:
        added = {name for name, via in parents.items() if name not in needed and via & needed}
        needed |= added
        grown = bool(added)
    return needed


def installed_bytes(site: Path, packages: set[str] | None = None) -> int:
    """Bytes on disk of the files the given distributions installed (every one if None), bytecode
    included: pip lists the .pyc it compiled in each RECORD."""
    total = 0
    for record in site.glob("*.dist-info/RECORD"):
        name = normalized(record.parent.name.split("-", 1)[0])
        if packages is not None and name not in packages:
            continue
        for line in record.read_text().splitlines():
            path = site / line.split(",", 1)[0]
            if path.is_file():
                total += path.stat().st_size
    return total


def source_bytes(root: Path) -> int:
    """The sources under `root`, without bytecode (the image compiles app/ to about as much again)."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
