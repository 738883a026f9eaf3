"""`make mutants`: apply each security mutant (catalogue.toml) to a throw-away copy of the tree and run
the project's own detectors against it, stopping at the first that goes red:

1. the tests marked `@pytest.mark.threat("<the mutant's threat>")`, with -x;
2. the gates the mutant names (lint: ruff and mypy; sast, secrets, config: security-test.sh --only);
3. the rest of the suite, with -x.

A mutant nothing catches has survived: a missing test or rule. Prints one line per mutant and per
threat, ends with `K/N killed`, writes reports/mutants.json, and exits 1 if any mutant survived (or
could not be run).

    python -m tests.mutants.run [-j 2] [--only ID[,ID...]] [--threat T-07] [--no-suite] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.mutants.catalogue import CatalogueError, Mutant, load

REPO_ROOT = Path(__file__).resolve().parents[2]
# Shared with the copies by symlink, never copied: the venvs and the pipeline emulator's packages.
NODE_MODULES = "tools/gitlab-ci-local/node_modules"
SHARED = (".venv", ".venv-tools", ".venv-checkov", ".venv-uv", NODE_MODULES)
STAGE_TIMEOUT_SECONDS = 40 * 60
LINT_TARGETS = ("backend", "tests", "bench", "ci", "scripts")


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | error
    killed_by: str | None
    seconds: float
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.mutant.id,
            "threat": self.mutant.threat,
            "file": self.mutant.file,
            "description": self.mutant.description,
            "status": self.status,
            "killed_by": self.killed_by,
            "seconds": round(self.seconds, 1),
            # What exactly went red (a gate's blocking findings, a lint message), or why it could not run.
            "detail": self.detail[:400],
        }


class _KilledError(Exception):
    def __init__(self, by: str, detail: str = "") -> None:
        super().__init__(by)
        self.by, self.detail = by, detail


def _run(args: Sequence[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=cwd,
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", **env},
        capture_output=True,
        text=True,
        timeout=STAGE_TIMEOUT_SECONDS,
        check=False,
    )


def _git(cwd: Path, *args: str) -> None:
    identity = (
        "-c",
        "user.name=mutants",
        "-c",
        "user.email=mutants@invalid",
        "-c",
        "core.hooksPath=/dev/null",
    )
    _run(["git", *identity, *args], cwd).check_returncode()


def make_copy(root: Path, into: Path) -> None:
    """The working tree as git would commit it (tracked and untracked-but-not-ignored files), committed
    in a fresh repository so that it is clean as a fork's checkout would be; shared parts by symlink."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], root)
    listed.check_returncode()
    for name in filter(None, listed.stdout.split("\0")):
        source = root / name
        if source.is_file() and not any(name == s or name.startswith(s + "/") for s in SHARED):
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    for name in SHARED:
        if (root / name).exists() and (name != NODE_MODULES or _installed_from_the_lock(root)):
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            (into / name).symlink_to((root / name).resolve())
    _git(into, "init", "-q", "-b", "main")
    # The symlinks are not directories, so .gitignore's `.venv*/` does not cover them.
    (into / ".git" / "info" / "exclude").write_text("".join(f"/{name}\n" for name in SHARED))
    _git(into, "add", "-A")
    _git(into, "commit", "-q", "-m", "base")


def _installed_from_the_lock(root: Path) -> bool:
    """The suite runs `npm ci` when node_modules is older than its lock; through a symlink that would
    empty the source tree's node_modules under every copy at once. So it is shared only when current,
    and a copy installs its own otherwise."""
    installed = root / NODE_MODULES / ".package-lock.json"
    lock = root / "tools" / "gitlab-ci-local" / "package-lock.json"
    return installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime


def _pytest(tree: Path, *selection: str) -> None:
    """Raises _KilledError with the first failing test's node id."""
    marker = tree / ".first-failure"
    marker.unlink(missing_ok=True)
    done = _run(
        [
            str(tree / ".venv/bin/python"),
            "-m",
            "pytest",
            "-p",
            "tests.mutants.pytest_plugin",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-x",
            "-q",
            "--first-failure-file",
            str(marker),
            *selection,
        ],
        tree,
    )
    if done.returncode in (0, 5):  # passed, or nothing selected
        return
    first = marker.read_text().strip() if marker.exists() else ""
    if first:
        raise _KilledError(first)
    raise RuntimeError(f"pytest exited {done.returncode} without a failing test: {done.stdout[-600:]}")


def _lint(tree: Path) -> None:
    venv = tree / ".venv/bin"
    checks = {
        "lint:ruff": [str(venv / "ruff"), "check", *LINT_TARGETS],
        "lint:ruff-format": [str(venv / "ruff"), "format", "--check", *LINT_TARGETS],
        "lint:mypy": [str(venv / "mypy")],
    }
    for name, command in checks.items():
        done = _run(command, tree)
        if done.returncode != 0:
            raise _KilledError(name, done.stdout[-400:])


def _gate(tree: Path, gate: str) -> None:
    reports = tree / ".mutant-reports"
    done = _run([str(tree / "security-test.sh"), "--only", gate], tree, REPORTS_DIR=str(reports))
    if done.returncode == 0:
        return
    if done.returncode != 1:
        raise RuntimeError(f"security-test.sh --only {gate} exited {done.returncode}: {done.stderr[-600:]}")
    verdict = json.loads((reports / "gates" / f"{gate}.json").read_text())
    blocking = [f for f in verdict.get("findings", []) if f.get("blocking")]
    if gate == "sast" and blocking:
        raise _KilledError(f"rule:{blocking[0].get('rule', '?')}", str(blocking[0]))
    raise _KilledError(f"gate:{gate}", json.dumps(blocking[:3] or verdict.get("errors", []))[:400])


def run_mutant(mutant: Mutant, *, suite: bool, keep: bool) -> Outcome:
    started = time.monotonic()
    tree = Path(tempfile.mkdtemp(prefix=f"mutant-{mutant.id}-"))
    try:
        make_copy(REPO_ROOT, tree)
        mutant.apply(tree)
        _git(tree, "commit", "-q", "-am", f"mutant {mutant.id}")
        _pytest(tree, "--threat", mutant.threat)
        for gate in mutant.gates:
            _lint(tree) if gate == "lint" else _gate(tree, gate)
        if suite:
            _pytest(tree, "--not-threat", mutant.threat)
        return Outcome(mutant, "survived", None, time.monotonic() - started)
    except _KilledError as killed:
        return Outcome(mutant, "killed", killed.by, time.monotonic() - started, killed.detail)
    except (CatalogueError, RuntimeError, OSError, subprocess.SubprocessError) as error:
        return Outcome(mutant, "error", None, time.monotonic() - started, f"{type(error).__name__}: {error}")
    finally:
        if keep:
            print(f"  kept {tree}", flush=True)
        else:
            shutil.rmtree(tree, ignore_errors=True)


def _line(outcome: Outcome) -> str:
    what = outcome.killed_by or outcome.detail or "nothing went red"
    return (
        f"{outcome.status:<9}{outcome.mutant.threat}  {outcome.mutant.id:<44}{outcome.seconds:7.1f}s  {what}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants run in parallel (default 2)")
    parser.add_argument("--only", default="", help="comma-separated mutant ids")
    parser.add_argument("--threat", default="", help="only the mutants of this threat id")
    parser.add_argument("--no-suite", action="store_true", help="skip step 3 (the rest of the suite)")
    parser.add_argument("--keep", action="store_true", help="keep each mutated copy and print its path")
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "reports" / "mutants.json")
    args = parser.parse_args(argv)

    mutants = load()
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.id for m in mutants}
        if unknown:
            parser.error(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.id in wanted]
    if args.threat:
        mutants = [m for m in mutants if m.threat == args.threat]
    print(f"{len(mutants)} mutants, {args.jobs} at a time", flush=True)

    started = time.monotonic()
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_mutant, m, suite=not args.no_suite, keep=args.keep) for m in mutants]
        for future in as_completed(futures):
            outcomes.append(future.result())
            print(_line(outcomes[-1]), flush=True)
    wall = time.monotonic() - started
    order = {m.id: i for i, m in enumerate(mutants)}
    outcomes.sort(key=lambda o: order[o.mutant.id])

    by_threat: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_threat[outcome.mutant.threat].append(outcome)
    print("\nper threat:")
    for threat in sorted(by_threat):
        group = by_threat[threat]
        dead = sum(o.status == "killed" for o in group)
        print(f"  {threat}  {dead}/{len(group)} killed")
    killed = sum(o.status == "killed" for o in outcomes)
    not_killed = [o for o in outcomes if o.status != "killed"]
    for outcome in not_killed:
        print(f"  {outcome.status.upper()}: {outcome.mutant.id} ({outcome.mutant.file}) {outcome.detail}")

    args.report.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "total": len(outcomes),
        "killed": killed,
        "wall_seconds": round(wall, 1),
        "mutants": [o.as_json() for o in outcomes],
    }
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwall time {wall:.0f} s; report {args.report}")
    print(f"{killed}/{len(outcomes)} killed")
    return 0 if not not_killed else 1


if __name__ == "__main__":
    sys.exit(main())
