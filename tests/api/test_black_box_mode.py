"""The authn/authz suite run black-box: the real app under uvicorn in a subprocess (as `make run` serves
it, with production settings), and the tests aimed at it over HTTP with --base-url, exactly as the
pipeline verifies a deployment. In-process-only tests must skip there, and the rest must pass."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import PASSWORD
from tests.support.live_server import clean_env, serve
from tests.support.paths import REPO_ROOT

BLACK_BOX_TESTS = ("tests/api/test_threat_examples.py", "tests/api/test_authorization.py")
_JWT = re.compile(r"ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path / "server.log"
    settings = {
        "APP_MODE": "local",
        "ENVIRONMENT": "production",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    with serve(settings, log_path) as url:
        yield url, log_path


@pytest.mark.slow
@pytest.mark.inprocess
@pytest.mark.threat("T-07")
@pytest.mark.threat("T-08")
def test_the_authz_suite_passes_black_box_against_a_live_server(
    live_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, log_path = live_server
    report = tmp_path / "black-box.xml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *BLACK_BOX_TESTS,
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "--base-url",
            url,
            f"--junitxml={report}",
        ],
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

    suite = ET.parse(report).getroot().find("testsuite")  # noqa: S314 - our own report
    assert suite is not None
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
    assert total - skipped > 20, f"only {total - skipped} tests ran black-box"
    skips = [case.find("skipped") for case in suite.iter("testcase")]
    reasons = {skip.get("message", "") for skip in skips if skip is not None}
    assert skipped > 0
    assert all("needs the app in process" in reason for reason in reasons), reasons

    # The server saw real traffic, answered none of it with a 500, and logged no credential.
    server_log = log_path.read_text()
    assert server_log.count('"message": "request"') >= total - skipped
    assert '"status": 500' not in server_log
    assert "unhandled error" not in server_log
    assert PASSWORD not in server_log
    assert not _JWT.search(server_log)
