"""What the Lambda init phase imports in local production mode: the app and the parts every request
needs, not what only some routes or the other mode use (each is paid for on every cold start)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

# Only registration, login and password changes hash; only AWS mode talks to AWS; only docs mode
# serves docs; the settings need no settings library.
NOT_AT_INIT = (
    "argon2",
    "_argon2_cffi_bindings",
    "boto3",
    "botocore",
    "pydantic_settings",
    "dotenv",
    "app.api.docs",
    "fastapi_swagger",
)

_PROBE = f"""
import json, sys
import app.main
print(json.dumps(sorted(name for name in {NOT_AT_INIT!r} if name in sys.modules)))
"""


def test_local_mode_init_imports_no_password_hasher_aws_sdk_settings_library_or_docs(tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("APP_", "AWS_", "PYTHON"))
    }
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        env={
            **environment,
            "PYTHONPATH": str(REPO_ROOT / "backend"),
            "APP_MODE": "local",
            "ENVIRONMENT": "production",
            "DATA_DIR": str(tmp_path),
            "JWT_SECRET": secrets.token_urlsafe(48),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
