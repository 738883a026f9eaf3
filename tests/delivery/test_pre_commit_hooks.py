"""The pre-commit hooks as a newcomer meets them: a fresh `git clone` of this repository's HEAD,
`pre-commit install`, then ordinary commits.

The clone's .venv and .venv-tools are links to this checkout's (built by `make venv tools`), as in
tests/delivery/test_workshop.py: `make hooks` would only build the same venvs again. What `make hooks`
builds is checked separately, with `make -n` in a clone that has no venv at all.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import TOOLS_BIN, tool

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = ["-c", "user.name=hook-tests", "-c", "user.email=hook-tests@example.invalid"]
pytestmark = pytest.mark.slow


def _git(clone: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *IDENTITY, "-c", "commit.gpgsign=false", *args],
        cwd=clone,
        env=_environment(clone),
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def _environment(clone: Path) -> dict[str, str]:
    # pre-commit keeps its own state under PRE_COMMIT_HOME; the hooks need nothing else from it.
    scrubbed = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "VIRTUAL_ENV", "SEMGREP_ENABLE_VERSION_CHECK"}
    env = {key: value for key, value in os.environ.items() if key not in scrubbed}
    env["PRE_COMMIT_HOME"] = str(clone.parent / "pre-commit-home")
    return env


def _clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, timeout=120)
    return dest


def _commit(clone: Path, message: str) -> tuple[int, str]:
    """git commit's status and output (git sends a hook's output to stderr)."""
    _git(clone, "add", "-A")
    done = _git(clone, "commit", "-m", message, check=False)
    return done.returncode, done.stdout + done.stderr


def _head(clone: Path) -> str:
    return _git(clone, "rev-parse", "HEAD").stdout.strip()


def _hook_result(output: str, hook_name: str) -> str:
    """Passed, Failed or Skipped, from pre-commit's line for the hook."""
    match = re.search(
        rf"^{re.escape(hook_name)}\.*(?:\(no files to check\))?(Passed|Failed|Skipped)$", output, re.M
    )
    assert match, f"no line for {hook_name!r} in:\n{output}"
    return match[1]


def _insert_line(path: Path, after: int, line: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(after, line + "\n")
    path.write_text("".join(lines))


@pytest.fixture(scope="module")
def installed_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tool("pre-commit")  # fails, not skips, without `make tools`
    repo = _clone(tmp_path_factory.mktemp("fresh") / "repo")
    for venv in (".venv", ".venv-tools"):
        (repo / venv).symlink_to(ROOT / venv)
    # .gitignore's `.venv*/` matches directories, not the links.
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/.venv\n/.venv-tools\n")
    installed = subprocess.run(
        [str(TOOLS_BIN / "pre-commit"), "install"],
        cwd=repo,
        env=_environment(repo),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return repo


@pytest.fixture
def clone(installed_clone: Path) -> Path:
    """The clone with a clean work tree: whatever a test left uncommitted is gone."""
    _git(installed_clone, "reset", "--quiet", "--hard")
    _git(installed_clone, "clean", "-fdq")
    return installed_clone


def test_a_harmless_edit_to_the_readme_commits_and_leaves_the_baseline_alone(clone: Path) -> None:
    before = _head(clone)
    # Above every audited line, so that all of them move: what the hook used to trip on.
    _insert_line(clone / "README.md", 2, "A line a newcomer adds near the top.")

    status, output = _commit(clone, "docs: a harmless edit")

    assert status == 0, output
    assert _hook_result(output, "detect-secrets (against .secrets.baseline)") == "Passed"
    assert _head(clone) != before
    assert _git(clone, "status", "--porcelain").stdout == ""  # the baseline was not rewritten


def test_a_harmless_edit_to_the_template_commits_and_leaves_the_baseline_alone(clone: Path) -> None:
    before = _head(clone)
    _insert_line(clone / "infra" / "template.yaml", 1, "# A comment a newcomer adds near the top.")

    status, output = _commit(clone, "infra: a harmless edit")

    assert status == 0, output
    assert _hook_result(output, "detect-secrets (against .secrets.baseline)") == "Passed"
    assert _head(clone) != before
    assert _git(clone, "status", "--porcelain").stdout == ""


@pytest.mark.threat("T-15")
def test_a_hardcoded_key_is_refused(clone: Path) -> None:
    before = _head(clone)
    # Made at run time, so that this file holds nothing a secret scanner would flag.
    alphabet = string.ascii_letters + string.digits + "+/"
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    key = "".join(secrets.choice(alphabet) for _ in range(40))
    (clone / "backend" / "app" / "aws_credentials.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{key}"\n'
    )

    status, output = _commit(clone, "feat: a key in the code")

    assert status != 0, output
    assert _hook_result(output, "detect-secrets (against .secrets.baseline)") == "Failed"
    assert "Secret Type: AWS Access Key" in output
    assert "Location:    backend/app/aws_credentials.py:1" in output
    assert _head(clone) == before


@pytest.mark.parametrize(
    ("path", "content", "hook_name", "expected"),
    [
        ("ci/unquoted.sh", "#!/usr/bin/env bash\nrm -rf $1/build\n", "shellcheck", "SC2086"),
        ("Dockerfile", "FROM python:3.12-slim\nMAINTAINER someone\n", "hadolint (Dockerfile)", "DL4000"),
        (
            ".gitlab-ci.yml",
            "stages: build\n",
            "GitLab CI schema (.gitlab-ci.yml)",
            "$.stages: 'build' is not of type 'array'",
        ),
    ],
    ids=["shellcheck", "hadolint", "gitlab-ci-schema"],
)
def test_each_linter_hook_refuses_what_it_guards(
    clone: Path, path: str, content: str, hook_name: str, expected: str
) -> None:
    target = clone / path
    target.write_text(content)
    target.chmod(0o755 if path.endswith(".sh") else 0o644)

    status, output = _commit(clone, f"a broken {path}")

    assert status != 0, output
    assert _hook_result(output, hook_name) == "Failed"
    assert expected in output


def test_every_hook_passes_on_the_tree_as_committed(clone: Path) -> None:
    done = subprocess.run(
        [str(TOOLS_BIN / "pre-commit"), "run", "--all-files"],
        cwd=clone,
        env=_environment(clone),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for hook_name in ("shellcheck", "hadolint (Dockerfile)", "GitLab CI schema (.gitlab-ci.yml)"):
        assert _hook_result(done.stdout, hook_name) == "Passed"


def test_make_hooks_builds_every_venv_the_hooks_use(tmp_path: Path) -> None:
    repo = _clone(tmp_path / "repo")  # no venv at all, as after a fresh clone
    planned = subprocess.run(
        # --no-print-directory: under a parent make (`make test`) make would add "Entering directory".
        ["make", "-n", "--no-print-directory", "hooks"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    config = (repo / ".pre-commit-config.yaml").read_text()
    used = set(re.findall(r"(\.venv[\w-]*)/bin/", config))
    assert used == {".venv", ".venv-tools"}
    for venv in used:
        assert re.search(rf"-m venv --clear {re.escape(venv)}$", planned, re.M), planned
    assert planned.rstrip().endswith(".venv-tools/bin/pre-commit install"), planned
