"""Headless Chromium, Debian's package (`make browser` installs it; `.ci/run` does so before the suite).

`load` opens one page the way a browser on an offline machine would (every host name but loopback fails to
resolve), lets it settle, and returns what a test needs: the rendered DOM, the console messages (CSP
violations and uncaught errors are among them) and every request the page itself made (from Chromium's
NetLog; the browser's own background requests are left out, and cannot resolve anyway).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# `[pid:tid:date:INFO:CONSOLE:16] "message", source: url (16)`; older releases wrote CONSOLE(16).
_CONSOLE = re.compile(r"^\[[^\]]*:CONSOLE\b[^\]]*\] (.*)$", re.MULTILINE)
# The page settles in virtual time: timers run without waiting, and network waits do not count.
_VIRTUAL_TIME_BUDGET_MS = 10_000


@dataclass(frozen=True)
class LoadedPage:
    dom: str
    console: list[str]
    requests: list[str]


def chromium() -> str:
    """A missing browser is a broken set-up, never a skip (as for the scanners in tools.py)."""
    wanted = os.environ.get("CHROMIUM", "chromium")
    path = shutil.which(wanted)
    if path is None:
        pytest.fail(
            f"install chromium: make browser ({wanted} not found; make browser installs Debian's chromium"
            " package, elsewhere install Chromium and set CHROMIUM=/path/to/it)"
        )
    return path


def load(url: str, workdir: Path) -> LoadedPage:
    profile = workdir / "chromium-profile"
    net_log = workdir / "chromium-netlog.json"
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={net_log}",
            "--dump-dom",
            f"--virtual-time-budget={_VIRTUAL_TIME_BUDGET_MS}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return LoadedPage(
        dom=done.stdout,
        console=_CONSOLE.findall(done.stderr),
        requests=_page_requests(net_log),
    )


def _page_requests(net_log: Path) -> list[str]:
    """URLs of the requests a page initiated. The browser's own (updates, time, sign-in) and the
    navigation typed on the command line have no initiating origin."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        params["url"]
        for event in log["events"]
        if event["type"] == start_job
        and "url" in (params := event.get("params", {}))
        and params.get("initiator") != "not an origin"
    ]
