"""The load run (`make load`, bench/load.py) in short: a few seconds on each store against a real
uvicorn, then its closing checks. No timing is judged: only that every check held and was printed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

CHECKS = (
    "no 5xx or transport error",
    "every 200 download was the uploaded bytes",
    "no live file answered 404",
    "the listing is exactly the files not deleted",
    "every surviving file reads back intact",
    "no orphan blob, object or temporary file",
    "no pending entry left",
    "quota equals the records",
)


@pytest.mark.slow
@pytest.mark.threat("T-25")
def test_a_short_load_run_on_both_stores_keeps_the_books() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", "--store", "both", "--seconds", "3", "--connections", "16"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'backend'}{os.pathsep}{REPO_ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for store in ("local", "aws"):
        section = run.stdout.split(f"== load run: {store} store")[1].split("== load run:")[0]
        assert "upload 201" in section, section
        for check in CHECKS:
            assert f"[ok] {check}" in section, section
