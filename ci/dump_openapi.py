"""Prints the OpenAPI schema of the app at this commit (for DAST: production does not serve it)."""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from app.config import Settings
from app.factory import create_app


def main() -> None:
    # A throwaway local-mode app: the schema depends on the routes, not on the store or the key.
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            app_mode="local",
            environment="development",
            data_dir=Path(data_dir),
            jwt_secret=secrets.token_urlsafe(48),
        )
        json.dump(create_app(settings).openapi(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
