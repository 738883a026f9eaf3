"""The project's own tree passes the secrets gate: a new credential-shaped string anywhere fails
`make test`, not only the pipeline. (SAST and config cleanliness are checked by
test_semgrep_rules.py, test_delivery.py and test_infra_template.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT


@pytest.mark.threat("T-15")
def test_repository_has_no_secret_outside_the_audited_baseline(tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(REPO_ROOT / "security-test.sh"), "--only", "secrets"],
        cwd=REPO_ROOT,
        env={**os.environ, "REPORTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    [gate] = summary["gates"]
    assert gate["status"] == "PASS", (gate["findings"], completed.stdout[-2000:])
    assert completed.returncode == 0
