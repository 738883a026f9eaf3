"""Registers a throwaway DAST user on the API at URL and prints an access token for it, so the
scheduled DAST run reaches the authenticated routes, not just their 401s.

Usage: .venv/bin/python ci/dast_login.py URL   (the token goes to stdout, nothing else does)
"""

from __future__ import annotations

import secrets
import sys

import httpx


def main() -> None:
    base = sys.argv[1].rstrip("/")
    if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SystemExit(f"dast_login: refusing to send credentials over plain HTTP: {base}")
    credentials = {"username": f"dast-{secrets.token_hex(6)}", "password": secrets.token_urlsafe(24)}
    with httpx.Client(base_url=base, timeout=20) as client:
        client.post("/auth/register", json=credentials).raise_for_status()
        response = client.post("/auth/token", data=credentials)
        response.raise_for_status()
    print(response.json()["access_token"])


if __name__ == "__main__":
    main()
