"""Fails on HIGH or CRITICAL findings in ECR's scan of an image (basic or enhanced scanning), except
those that .trivyignore.yaml accepts: the same accepted risks, with the same expiry, as Trivy.

Usage: python3 ci/ecr_findings.py FINDINGS_JSON [--ignorefile .trivyignore.yaml] [--today YYYY-MM-DD]
FINDINGS_JSON is the output of `aws ecr describe-image-scan-findings --output json`.
Exit status: 0 nothing blocking, 1 blocking findings or a failed scan, 2 unusable input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

BLOCKING = {"HIGH", "CRITICAL"}


def accepted_ids(ignorefile: Path, today: dt.date) -> set[str]:
    """Vulnerability ids accepted in the Trivy ignore file and not yet expired."""
    if not ignorefile.exists():
        return set()
    import yaml  # only needed when there is something to read

    document = yaml.safe_load(ignorefile.read_text()) or {}
    accepted: set[str] = set()
    for entry in document.get("vulnerabilities") or []:
        expiry = entry.get("expired_at")
        if isinstance(expiry, str):
            expiry = dt.date.fromisoformat(expiry)
        # An acceptance without a reason or an end date is a blanket ignore: it accepts nothing.
        if entry.get("id") and entry.get("statement") and isinstance(expiry, dt.date) and expiry >= today:
            accepted.add(str(entry["id"]))
    return accepted


def findings(scan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(id, severity, package) for every finding, from basic or enhanced (Inspector) scanning."""
    results = scan.get("imageScanFindings") or {}
    found: list[tuple[str, str, str]] = []
    for item in results.get("findings") or []:
        attributes = {a.get("key"): a.get("value") for a in item.get("attributes") or []}
        found.append(
            (str(item.get("name")), str(item.get("severity")), str(attributes.get("package_name", "?")))
        )
    for item in results.get("enhancedFindings") or []:
        details = item.get("packageVulnerabilityDetails") or {}
        packages = details.get("vulnerablePackages") or [{}]
        found.append(
            (
                str(details.get("vulnerabilityId") or item.get("title")),
                str(item.get("severity")),
                str(packages[0].get("name", "?")),
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("findings", type=Path)
    parser.add_argument("--ignorefile", type=Path, default=Path(".trivyignore.yaml"))
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    try:
        scan = json.loads(args.findings.read_text())
    except (OSError, ValueError) as error:
        print(f"ecr_findings: cannot read {args.findings}: {error}", file=sys.stderr)
        return 2

    status = (scan.get("imageScanStatus") or {}).get("status")
    if status not in {"COMPLETE", "ACTIVE"}:
        detail = (scan.get("imageScanStatus") or {}).get("description", "")
        print(f"ecr_findings: ECR scan status is {status}: {detail}", file=sys.stderr)
        return 1

    accepted = accepted_ids(args.ignorefile, args.today)
    blocking = sorted(f for f in findings(scan) if f[1] in BLOCKING and f[0] not in accepted)
    waived = sorted(f for f in findings(scan) if f[1] in BLOCKING and f[0] in accepted)
    for vuln_id, severity, package in waived:
        print(f"accepted  {severity:<8} {vuln_id} ({package}): see .trivyignore.yaml")
    for vuln_id, severity, package in blocking:
        print(f"BLOCKING  {severity:<8} {vuln_id} ({package})")
    counts = (scan.get("imageScanFindings") or {}).get("findingSeverityCounts") or {}
    print(f"ECR scan {status}: severity counts {json.dumps(counts, sort_keys=True)}")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
