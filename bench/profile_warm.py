"""Where a warm authenticated invoke spends its time: many `GET /users/me` (or another path) through
Mangum in local mode under cProfile, with each
function's own time given to the step that function belongs to. A function no rule names (json.loads,
sqlite3's execute, builtins) counts for the steps of its callers, in proportion to its time under each,
as gprof does; so the steps add up to the whole invoke. cProfile inflates many small calls: read the
shares, not the absolute figures; the app's own steps are also timed directly, without a profiler.

PYTHONPATH=backend python -m bench.profile_warm [--path /users/me] [--calls 3000] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

# (step, file path suffix, function or "" for any): the innermost frame that matches names the step.
RULES: tuple[tuple[str, str, str], ...] = (
    ("token verification", "app/security/tokens.py", ""),
    ("token verification", "app/security/keys.py", ""),
    ("token verification", "jwt/", ""),
    ("user + revocation lookup (one query)", "app/store/local.py", "caller"),
    ("user + revocation lookup (one query)", "app/store/local.py", "_user"),
    ("user + revocation lookup (one query)", "app/store/local.py", "reading"),
    ("route handler + response mapping", "app/api/users.py", ""),
    ("route handler + response mapping", "app/api/files.py", ""),
    ("route handler + response mapping", "app/api/schemas.py", ""),
    ("auth dependency (identify)", "app/api/deps.py", ""),
    ("auth dependency (identify)", "app/services/accounts.py", ""),
    ("FastAPI dependency resolution", "fastapi/dependencies/", ""),
    ("response serialisation", "fastapi/routing.py", "serialize_response"),
    ("response serialisation", "fastapi/encoders.py", ""),
    ("response serialisation", "starlette/responses.py", ""),
    ("response serialisation", "fastapi/responses.py", ""),
    ("response serialisation", "pydantic/", ""),
    ("middleware (ours)", "app/api/middleware.py", ""),
    ("logging (access log)", "logging/", ""),
    ("logging (access log)", "app/logs.py", ""),
    ("FastAPI/Starlette routing, request, exceptions", "fastapi/", ""),
    ("FastAPI/Starlette routing, request, exceptions", "starlette/", ""),
    ("Mangum (event -> ASGI -> response)", "mangum/", ""),
    ("asyncio (Mangum's loop per invoke)", "asyncio/", ""),
)


Key = tuple[str, int, str]
OTHER = "other (bench harness, interpreter)"


def _step(key: Key) -> str | None:
    path, _, function = key
    path = path.replace("\\", "/")
    for step, suffix, name in RULES:
        if suffix in path and (not name or function == name):
            return step
    return None


def breakdown(stats: pstats.Stats, calls: int) -> dict[str, float]:
    """CPU seconds per call of each step."""
    raw: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Key, dict[str, float]] = {}

    def shares(key: Key, visiting: frozenset[Key]) -> dict[str, float]:
        """How the time of `key` divides among steps (fractions summing to 1)."""
        if key in memo:
            return memo[key]
        step = _step(key)
        if step is not None:
            return {step: 1.0}
        callers: dict[Key, tuple[int, int, float, float]] = raw[key][4] if key in raw else {}
        weights = {caller: edge[2] for caller, edge in callers.items() if caller not in visiting}
        total = sum(weights.values())
        if not total:
            return {OTHER: 1.0}
        result: dict[str, float] = defaultdict(float)
        for caller, weight in weights.items():
            for caller_step, fraction in shares(caller, visiting | {key}).items():
                result[caller_step] += fraction * weight / total
        memo[key] = dict(result)
        return memo[key]

    totals: dict[str, float] = defaultdict(float)
    for key, (_, _, own, _, _) in raw.items():
        for step, fraction in shares(key, frozenset()).items():
            totals[step] += own * fraction
    return {step: seconds / calls for step, seconds in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_warm")
    parser.add_argument("--path", default="/users/me")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's top functions by own time")
    args = parser.parse_args(argv)

    from mangum import Mangum

    from bench.__main__ import _local_app
    from bench.warm import _expect, _invoker

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        app, token = _local_app(Path(tmp), secrets.token_urlsafe(48))
        call = _invoker(Mangum(app, lifespan="off"))  # type: ignore[arg-type]

        def invoke() -> object:
            return _expect(call("GET", args.path, token=token), 200)

        for _ in range(100):  # warm every path first
            invoke()
        profiler = cProfile.Profile()
        for _ in range(args.calls):
            profiler.runcall(invoke)
        direct = _direct(app, token, invoke)
    stats = pstats.Stats(profiler)
    shares = breakdown(stats, args.calls)
    total = sum(shares.values())
    print(f"GET {args.path}: {total * 1e6:.0f} us per call under cProfile ({args.calls} calls)")
    for step, share in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {step:<48} {share * 1e6:7.1f} us  {share / total:6.1%}")
    print("timed directly (CPU time), median of 15 batches (us per call):")
    for name, seconds in direct.items():
        print(f"  {name:<48} {seconds * 1e6:7.1f} us")
    if args.top:
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


def _direct(app: Any, token: str, invoke: Callable[[], object]) -> dict[str, float]:
    """The app's own steps on their own, and the whole invoke against the hello world's."""
    from app.api.deps import app_context
    from bench import baselines
    from bench.stats import interleaved, median
    from bench.warm import _expect, _invoker

    context = app_context(app)
    claims = context.tokens.verify(token)
    hello = _invoker(baselines.handler)
    cases: dict[str, Callable[[], object]] = {
        "whole invoke": invoke,
        "hello invoke": lambda: _expect(hello("GET", "/hello"), 200),
        "token verification (TokenService.verify)": lambda: context.tokens.verify(token),
        "user + revocation lookup (store.callers.caller)": lambda: context.store.callers.caller(
            claims.user_id, claims.token_id
        ),
    }
    batch = 200

    def timed(case: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            started = time.process_time()
            for _ in range(batch):
                case()
            return (time.process_time() - started) / batch

        return run

    samples = interleaved({name: timed(case) for name, case in cases.items()}, repeats=15)
    return {name: median(values) for name, values in samples.items()}


if __name__ == "__main__":
    sys.exit(main())
