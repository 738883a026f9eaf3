"""The scanners the suite drives, from the project's own pinned environment (`make tools`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".venv-tools" / "bin"
# Apart from .venv-tools: checkov's bc-detect-secrets would install over detect-secrets' module.
CHECKOV_BIN = REPO_ROOT / ".venv-checkov" / "bin"


def tool(name: str, bin_dir: Path = TOOLS_BIN) -> str:
    """`make test` builds the tool venvs first, so a missing tool is a broken set-up, never a skip."""
    path = bin_dir / name
    if not path.exists():
        pytest.fail(f"run `make tools` first: {path} is missing")
    return str(path)


def checkov(*args: str) -> dict[str, Any]:
    """checkov's JSON report, always as {"results": [one report per framework]}."""
    done = subprocess.run(
        [tool("checkov", CHECKOV_BIN), *args, "--skip-download", "--compact", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    reports = json.loads(done.stdout)
    return {"results": [reports] if isinstance(reports, dict) else reports}
