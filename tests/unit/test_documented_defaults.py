"""What .env.example documents is what the app does when a variable is unset (T-13, T-18).

The defaults are security settings: the per-user quotas, the upload limit, the token lifetime, the
environment (production: no docs), CORS (off). An operator reads .env.example to decide what to set, so
a default loosened in config.py and not in the documentation (or the other way round) is a silent
change of the deployment's limits.
"""

from __future__ import annotations

import re

import pytest

from app.config import Settings
from tests.support.paths import REPO_ROOT

_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def documented() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := _ASSIGNMENT.match(line))}


def _as_env(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


@pytest.mark.threat("T-13")
@pytest.mark.threat("T-18")
def test_every_documented_value_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    defaults = Settings()
    values = documented()
    # The security-relevant ones at least are documented.
    assert {"ENVIRONMENT", "MAX_UPLOAD_BYTES", "USER_QUOTA_BYTES", "USER_QUOTA_FILES"} <= values.keys()
    assert {"ACCESS_TOKEN_TTL_SECONDS", "CORS_ALLOW_ORIGINS", "ALLOWED_CONTENT_TYPES"} <= values.keys()
    differing = {
        name: (value, _as_env(getattr(defaults, name.lower())))
        for name, value in values.items()
        if name.lower() in Settings.model_fields and _as_env(getattr(defaults, name.lower())) != value
    }
    assert differing == {}
