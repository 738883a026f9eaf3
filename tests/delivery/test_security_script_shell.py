"""security-test.sh needs bash >= 5 and says so, in one line, in whatever shell starts it.

No bash older than 5 can be installed here, and BASH_VERSINFO is read-only in bash, so the check is
exercised two real ways: the whole script under dash (Debian's /bin/sh: not bash at all, as in
`sh security-test.sh`), and the script's own check function, cut out of the file, called with the
versions an older bash reports (macOS ships 3.2) under both dash and bash.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "security-test.sh"


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing (Debian: essential package {name})")
    return found


def _check_function() -> str:
    match = re.search(r"^require_bash5\(\) \{\n.*?^\}\n", SCRIPT.read_text(), re.M | re.S)
    assert match, "security-test.sh: no require_bash5() function"
    return match[0]


def _call_check(shell: str, *args: str) -> subprocess.CompletedProcess[str]:
    quoted = " ".join(f"'{arg}'" for arg in args)
    return subprocess.run(
        [_shell(shell), "-c", f"{_check_function()}require_bash5 {quoted}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _is_the_one_line_message(stderr: str, running: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("security-test.sh needs bash >= 5"), stderr
    assert f"this is {running}." in lines[0], stderr
    assert "brew install bash" in lines[0], stderr


def test_run_by_a_shell_that_is_not_bash_it_says_what_it_needs_and_exits_2(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [_shell("dash"), str(SCRIPT), "--only", "sast"],
        env={"PATH": "/usr/bin:/bin", "REPORTS_DIR": str(reports)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    _is_the_one_line_message(done.stderr, "not bash")
    assert not reports.exists()  # it stopped before doing anything


@pytest.mark.parametrize("shell", ["dash", "bash"])
@pytest.mark.parametrize(
    ("major", "version"), [("3", "3.2.57(1)-release"), ("4", "4.4.23(1)-release"), ("", "")]
)
def test_an_older_bash_is_refused(shell: str, major: str, version: str) -> None:
    running = f"bash {version}" if version else ""
    done = _call_check(shell, major, running)
    assert done.returncode == 1
    _is_the_one_line_message(done.stderr, running or "not bash")


@pytest.mark.parametrize("major", ["5", "6", "10"])
def test_bash_5_and_later_pass_the_check(major: str) -> None:
    done = _call_check("dash", major, f"bash {major}.0.0(1)-release")
    assert done.returncode == 0
    assert done.stderr == ""


def test_this_bash_runs_the_script() -> None:
    done = subprocess.run(
        [_shell("bash"), str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: ./security-test.sh")
