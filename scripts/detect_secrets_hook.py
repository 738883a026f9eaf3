"""The pre-commit secret check: detect-secrets' own hook, run against a scratch copy of the baseline.

    .venv-tools/bin/python scripts/detect_secrets_hook.py --baseline .secrets.baseline FILE...

`detect-secrets-hook` keeps the line numbers in the baseline current: when a staged file moves an
audited line (any edit above it), it rewrites the baseline and fails the commit (exit 3), so a
harmless edit to README.md failed on every fresh clone. Findings are matched to the baseline by file,
type and secret hash, never by line, so the line numbers are only a hint for `detect-secrets audit`.
Here the hook updates a copy, which is thrown away: a commit is refused only for a secret the
baseline does not hold, and the committed baseline changes only when someone re-scans and audits.
Runs on .venv-tools' interpreter, which holds detect-secrets (make tools).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

from detect_secrets.pre_commit_hook import main as detect_secrets_hook

# detect-secrets-hook's exit statuses.
NEW_SECRETS = 1
BASELINE_UPDATED = 3


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("filenames", nargs="*")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="secrets-baseline-") as scratch:
        copy = Path(scratch) / args.baseline.name
        shutil.copyfile(args.baseline, copy)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            status: int = detect_secrets_hook(["--baseline", str(copy), *args.filenames])
    if status == BASELINE_UPDATED:
        # Only the copy's line numbers moved: nothing new was found.
        return 0
    sys.stdout.write(printed.getvalue())
    return status


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
