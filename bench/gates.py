"""Wall time of ./security-test.sh per gate, read from its reports/summary.json."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(*, target: float) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="bench-gates-") as reports:
        started = time.perf_counter()
        subprocess.run(
            [str(REPO / "security-test.sh")],
            cwd=REPO,
            env={**os.environ, "REPORTS_DIR": reports},
            capture_output=True,
            check=False,
            timeout=600,
        )
        wall = time.perf_counter() - started
        summary = json.loads((Path(reports) / "summary.json").read_text())
    figures: list[dict[str, object]] = [
        {
            "name": f"gates, {gate['gate']} ({gate['status']})",
            "value": float(gate["seconds"]),
            "baseline": wall,
            "unit": "s",
            "ratio": round(float(gate["seconds"]) / wall, 3) if wall else None,
            "target": None,
            "met": None,
            "samples": 1,
        }
        for gate in summary["gates"]
    ]
    figures.append(
        {
            # The bare verdict: the headline (result) also lists each skipped gate and why.
            "name": f"gates, whole ./security-test.sh ({summary.get('status', summary['result'])})",
            "value": wall,
            "baseline": target,
            "unit": "s",
            "ratio": round(wall / target, 3),
            "target": target,
            "met": wall <= target,
            "samples": 1,
        }
    )
    return figures
