"""`pytest --base-url URL`: the URL is checked once, before any test runs, so that a typo or a server
that is not running ends in one line that says what to do, not in a thousand lines of failed tests."""

from __future__ import annotations

import socket
import urllib.error
import urllib.parse
import urllib.request

_TIMEOUT_SECONDS = 5


def base_url_problem(url: str) -> str | None:
    """None when `url` answers GET /health with 200; otherwise the one line to stop with."""
    parts = urllib.parse.urlsplit(url)
    if "://" not in url:
        return f"--base-url {url}: add http:// (or https://) in front, e.g. --base-url http://{url}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--base-url {url}: expected http://HOST[:PORT] or https://HOST[:PORT]"
    health = f"{url.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(health, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only, checked above
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except urllib.error.URLError as error:
        return f"cannot reach {url}: {_why(error.reason, parts.hostname)}"
    except OSError as error:  # a timeout while reading, or a connection reset
        return f"cannot reach {url}: {_why(error, parts.hostname)}"
    if status != 200:
        return f"{health} answered {status}, not 200: is this the fastapi-lambda API, at its root?"
    return None


def _why(reason: object, host: str) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused; is the server running?"
    if isinstance(reason, socket.gaierror):
        return f"no such host {host!r}"
    if isinstance(reason, TimeoutError):
        return f"no answer within {_TIMEOUT_SECONDS} s"
    return str(reason)
