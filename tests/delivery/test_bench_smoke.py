"""The benchmark harness runs on a tiny setting and writes what the README table is made from.
No timing is judged here: these machines are too noisy for timed assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import END, START, update_readme
from tests.support.paths import REPO_ROOT


@pytest.mark.slow
def test_bench_quick_run_writes_results_and_the_readme_table(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{START}\nold table\n{END}\n\nafter\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "cold,warm",
            "--output",
            str(output),
            "--readme",
            str(readme),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'backend'}{os.pathsep}{REPO_ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text())
    names = [figure["name"] for figure in results["figures"]]
    for runtime in ("image", "dev venv"):
        for figure_name in (
            f"cold start, local mode, {runtime}: import",
            f"cold start, local mode, {runtime}: import + first request",
            f"memory, local mode, {runtime}: peak RSS after import",
            f"memory, local mode, {runtime}: peak RSS after 50 warm /users/me",
        ):
            assert figure_name in names
    assert "image size: site dir + app/ vs hello (FastAPI + Mangum)" in names
    assert "image size: site dir + app/ vs hello + boto3 + PyJWT" in names
    assert "warm, GET /users/me" in names
    assert "warm, GET /files (20 files)" in names
    for figure in results["figures"]:
        assert figure["value"] > 0
        assert figure["baseline"] > 0
        assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline"], rel=1e-2)
    table = readme.read_text()
    assert "old table" not in table
    for figure_name in names:  # every figure is in the table, with its target where it has one
        assert f"| {figure_name} |" in table
    assert "| <= 1.2x |" in table
    assert table.startswith("# title")
    assert table.rstrip().endswith("after")


def test_readme_update_refuses_a_file_without_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(SystemExit):
        update_readme(readme, {"figures": [], "machine": {}, "date": "", "wall_seconds": 0})


def test_the_hello_baselines_size_counts_only_what_fastapi_and_mangum_need() -> None:
    from bench.image import HELLO_AWS_ROOTS, HELLO_ROOTS, LOCK, required_by

    hello = required_by(LOCK, HELLO_ROOTS)
    assert {"fastapi", "starlette", "pydantic", "pydantic_core", "anyio", "mangum"} <= hello
    assert not {"boto3", "botocore", "pyjwt", "argon2_cffi", "pydantic_settings"} & hello
    hello_aws = required_by(LOCK, HELLO_AWS_ROOTS)
    assert {"boto3", "botocore", "s3transfer", "urllib3", "pyjwt"} <= hello_aws - hello
    with pytest.raises(ValueError, match="not_locked"):
        required_by(LOCK, ("not-locked",))
