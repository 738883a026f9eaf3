"""Write the reports GitLab ingests from what the scanners and the gates wrote.

GitLab shows a security report only if it validates against the published schema of the version the
report declares (https://gitlab.com/gitlab-org/security-products/security-report-schemas), and it
drops the whole report otherwise. Semgrep and checkov write their SAST reports themselves; this module
writes the ones the tools here cannot:

    secret-detection     the secrets gate's findings (detect-secrets or gitleaks), never the secrets
    dependency-scanning  pip-audit JSON or Trivy fs JSON, plus every package of the lock file
    container-scanning   Trivy image JSON (vulnerabilities of OS and language packages)
    codequality          every finding of every gate, for GitLab's Code Quality widget (all tiers)
    sbom                 a CycloneDX 1.5 SBOM of the hash-locked requirements file

Stdlib only, like security_report.py: it runs on the tools venv's interpreter, the CI job images'
python3 or any Python 3.11.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "15.0.4"
SCHEMA_URL = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/{{kind}}-report-format.json"
)
# Stable ids: the same finding gets the same id in every pipeline.
ID_NAMESPACE = uuid.UUID("6f0d3c1e-0f4b-4c1e-9a55-1f1b6a1c0d2e")

TRIVY_SEVERITY = {
    "CRITICAL": "Critical",
    "HIGH": "High",
    "MEDIUM": "Medium",
    "LOW": "Low",
    "UNKNOWN": "Unknown",
}
# GitLab Code Quality severities: info, minor, major, critical, blocker.
CODEQUALITY_SEVERITY = {
    "critical": "critical",
    "error": "critical",
    "high": "critical",
    "warning": "major",
    "medium": "major",
    "low": "minor",
    "info": "info",
    "style": "info",
    "unknown": "info",
}
TOOLS: dict[str, tuple[str, str, str]] = {
    # id: (name, url, vendor)
    "detect-secrets": ("detect-secrets", "https://github.com/Yelp/detect-secrets", "Yelp"),
    "gitleaks": ("Gitleaks", "https://github.com/gitleaks/gitleaks", "Gitleaks"),
    "pip-audit": ("pip-audit", "https://github.com/pypa/pip-audit", "PyPA"),
    "trivy": ("Trivy", "https://github.com/aquasecurity/trivy", "Aqua Security"),
}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


class ConversionError(Exception):
    """An input is missing or not in the shape its tool documents."""


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) and value else default


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConversionError(f"{path} was not written") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{path} is not valid JSON: {exc}") from exc


def _stable_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _scan(kind: str, tool: str, version: str, started: str) -> dict[str, Any]:
    name, url, vendor = TOOLS[tool]
    component = {"id": tool, "name": name, "url": url, "vendor": {"name": vendor}, "version": version}
    return {
        "analyzer": {**component, "id": f"fastapi-lambda-{tool}", "name": f"{name} (security-test.sh)"},
        "scanner": component,
        "type": kind,
        "start_time": started,
        "end_time": _now(),
        "status": "success",
    }


def _report(kind: str, scan: dict[str, Any], vulnerabilities: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_URL.format(kind=kind.replace("_", "-")),
        "version": SCHEMA_VERSION,
        "scan": scan,
        "vulnerabilities": vulnerabilities,
    }


def _advisory_url(advisory: str) -> str:
    if advisory.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{advisory}"
    return f"https://osv.dev/vulnerability/{advisory}"


def _identifier(advisory: str) -> dict[str, str]:
    kind = advisory.split("-", 1)[0].lower() or "advisory"
    return {"type": kind, "name": advisory, "value": advisory, "url": _advisory_url(advisory)}


# ------------------------------------------------------------------------------------------ secrets


def secret_detection(gate: Any, *, commit: str, version: str, started: str) -> dict[str, Any]:
    """From the secrets gate's record (reports/gates/secrets.json): what blocks, never the value."""
    if not isinstance(gate, dict) or not isinstance(gate.get("findings"), list):
        raise ConversionError("not a gate record: no findings list")
    tools = {f.get("tool") for f in gate["findings"]} or {"detect-secrets"}
    tool = "gitleaks" if "gitleaks" in tools else "detect-secrets"
    vulnerabilities = []
    for finding in gate["findings"]:
        rule = _str(finding.get("rule"), "secret")
        file = _str(finding.get("file"), "unknown")
        line = finding.get("line") or 1
        identifier_type = "gitleaks_rule_id" if finding.get("tool") == "gitleaks" else "detect_secrets_type"
        vulnerabilities.append(
            {
                "id": _stable_id("secret", rule, file, line),
                "name": rule[:255],
                "description": f"{rule}: {_str(finding.get('message'), 'a secret')}",
                "severity": "Critical",
                "solution": "Revoke and rotate the secret, then remove it from the code and its history.",
                "identifiers": [{"type": identifier_type, "name": rule, "value": rule}],
                "location": {"file": file, "start_line": line, "end_line": line, "commit": {"sha": commit}},
            }
        )
    return _report("secret_detection", _scan("secret_detection", tool, version, started), vulnerabilities)


# ------------------------------------------------------------------------------------- dependencies


def lock_packages(lock: Path) -> list[tuple[str, str, list[str]]]:
    """(name, version, sha256 hashes) of every `name==version` pinned in a pip requirements file."""
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConversionError(f"cannot read {lock}: {exc}") from exc
    packages: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        match = REQUIREMENT.match(stripped)
        if match:
            packages.append((match.group(1), match.group(3), []))
        if packages and stripped.startswith("--hash="):
            packages[-1][2].extend(HASH.findall(stripped))
    return packages


def _dependency_files(lock: Path, lock_name: str) -> list[dict[str, Any]]:
    dependencies = [
        {"package": {"name": name}, "version": version} for name, version, _ in lock_packages(lock)
    ]
    return [{"path": lock_name, "package_manager": "pip", "dependencies": dependencies}]


def _pip_audit_vulnerabilities(data: Any, lock_name: str) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        raise ConversionError("pip-audit JSON has no dependencies list")
    for dep in data["dependencies"]:
        name, version = _str(dep.get("name"), "unknown"), _str(dep.get("version"), "unknown")
        for vuln in dep.get("vulns") or []:
            advisory = _str(vuln.get("id"), "unknown")
            aliases = [a for a in vuln.get("aliases") or [] if isinstance(a, str) and a != advisory]
            fixes = ", ".join(vuln.get("fix_versions") or [])
            yield {
                "id": _stable_id("dependency", lock_name, name, version, advisory),
                "name": f"{advisory} in {name}"[:255],
                "description": _str(vuln.get("description"), advisory)[:1048576],
                # pip-audit reports no severity.
                "severity": "Unknown",
                "solution": f"Upgrade {name} to {fixes}" if fixes else "No fixed version yet.",
                "identifiers": [_identifier(a) for a in [advisory, *aliases]],
                "links": [{"url": _advisory_url(advisory)}],
                "location": {
                    "file": lock_name,
                    "dependency": {"package": {"name": name}, "version": version},
                },
            }


def _trivy_vulnerabilities(data: Any, *, kind: str, location: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("SchemaVersion"), int):
        raise ConversionError("not a Trivy JSON report (no SchemaVersion)")
    for result in data.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            advisory = _str(vuln.get("VulnerabilityID"), "unknown")
            name, version = (
                _str(vuln.get("PkgName"), "unknown"),
                _str(vuln.get("InstalledVersion"), "unknown"),
            )
            fixed = _str(vuln.get("FixedVersion"))
            links = [_str(vuln.get("PrimaryURL")), *(vuln.get("References") or [])]
            yield {
                "id": _stable_id(kind, _str(result.get("Target")), name, version, advisory),
                "name": (_str(vuln.get("Title")) or f"{advisory} in {name}")[:255],
                "description": (_str(vuln.get("Description")) or _str(vuln.get("Title")) or advisory)[
                    :1048576
                ],
                "severity": TRIVY_SEVERITY.get(_str(vuln.get("Severity")), "Unknown"),
                "solution": f"Upgrade {name} to {fixed}" if fixed else "No fixed version yet.",
                "identifiers": [_identifier(advisory)],
                "links": [{"url": url} for url in dict.fromkeys(links) if re.match(r"^https?://.+", url)],
                "location": {**location, "dependency": {"package": {"name": name}, "version": version}},
            }


def dependency_scanning(
    kind: str, data: Any, *, lock: Path, lock_name: str, version: str, started: str
) -> dict[str, Any]:
    if kind == "pip-audit":
        vulnerabilities = list(_pip_audit_vulnerabilities(data, lock_name))
    elif kind == "trivy":
        location = {"file": lock_name}
        vulnerabilities = list(_trivy_vulnerabilities(data, kind="dependency", location=location))
    else:
        raise ConversionError(f"no dependency-scanning converter for {kind}")
    report = _report(
        "dependency_scanning", _scan("dependency_scanning", kind, version, started), vulnerabilities
    )
    report["dependency_files"] = _dependency_files(lock, lock_name)
    if kind == "pip-audit":
        _note_unaudited(report["scan"], data["dependencies"])
    return report


def _note_unaudited(scan: dict[str, Any], dependencies: list[Any]) -> None:
    """pip-audit lists what it could not look up (no advisory data) as skipped: an empty report then
    means "not checked", and GitLab must say so rather than show a clean result."""
    skipped = [dep for dep in dependencies if isinstance(dep, dict) and "skip_reason" in dep]
    if not skipped:
        return
    audited_none = len(skipped) == len(dependencies)
    message = (
        f"pip-audit could not audit {len(skipped)} of {len(dependencies)} dependencies: "
        f"{_str(skipped[0].get('skip_reason'), 'no reason given')}"
    )
    scan["messages"] = [{"level": "fatal" if audited_none else "warn", "value": message}]
    if audited_none:
        scan["status"] = "failure"


def container_scanning(data: Any, *, image: str, version: str, started: str) -> dict[str, Any]:
    """Trivy image JSON to GitLab's container scanning report: what Trivy's contrib/gitlab.tpl writes,
    built as JSON rather than by text templating (no trailing commas or unescaped strings)."""
    if not isinstance(data, dict):
        raise ConversionError("not a Trivy JSON report")
    os_info = (data.get("Metadata") or {}).get("OS") or {}
    operating_system = " ".join(_str(os_info.get(k)) for k in ("Family", "Name")).strip() or "Unknown"
    location = {
        "image": image or _str(data.get("ArtifactName"), "unknown"),
        "operating_system": operating_system,
    }
    vulnerabilities = list(_trivy_vulnerabilities(data, kind="container", location=location))
    return _report(
        "container_scanning", _scan("container_scanning", "trivy", version, started), vulnerabilities
    )


# -------------------------------------------------------------------------------------- code quality


def codequality(gates: Iterable[Any]) -> list[dict[str, Any]]:
    """Every gate's findings as GitLab Code Quality issues (the MR widget exists on every tier)."""
    issues = []
    for gate in gates:
        if not isinstance(gate, dict) or not isinstance(gate.get("findings"), list):
            raise ConversionError("not a gate record: no findings list")
        for finding in gate["findings"]:
            tool, rule = _str(finding.get("tool"), "scanner"), _str(finding.get("rule"), "finding")
            path, line = _str(finding.get("file"), "."), finding.get("line") or 1
            message = _str(finding.get("message"), rule)
            blocking = finding.get("blocking") is True
            severity = (
                "blocker"
                if blocking
                else CODEQUALITY_SEVERITY.get(_str(finding.get("severity")).lower(), "minor")
            )
            fingerprint = hashlib.sha256(
                "\x1f".join([tool, rule, path, str(line), message]).encode()
            ).hexdigest()
            issues.append(
                {
                    "type": "issue",
                    "description": f"[{gate.get('gate')}] {rule}: {message}",
                    "check_name": f"{tool}/{rule}",
                    "fingerprint": fingerprint,
                    "severity": severity,
                    "location": {"path": path, "lines": {"begin": line}},
                }
            )
    return issues


# ---------------------------------------------------------------------------------------------- sbom


def sbom(lock: Path, *, lock_name: str, project: str) -> dict[str, Any]:
    """CycloneDX 1.5 of the lock file: what the image installs, with the hashes pip enforces."""
    components = []
    for name, version, hashes in lock_packages(lock):
        purl = f"pkg:pypi/{name.lower().replace('_', '-')}@{version}"
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": purl,
            "name": name,
            "version": version,
            "purl": purl,
        }
        if hashes:
            # One hash per artifact pip may install; CycloneDX names no artifact, so keep the first.
            component["hashes"] = [{"alg": "SHA-256", "content": hashes[0]}]
        components.append(component)
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "gitlab_reports.py"}]},
            "component": {"type": "application", "bom-ref": project, "name": project},
            # GitLab's CycloneDX property taxonomy: how its dependency list reads the file.
            "properties": [
                {"name": "gitlab:meta:schema_version", "value": "1"},
                {"name": "gitlab:dependency_scanning:input_file:path", "value": lock_name},
                {"name": "gitlab:dependency_scanning:package_manager:name", "value": "pip"},
                {"name": "gitlab:dependency_scanning:language:name", "value": "python"},
            ],
        },
        "components": components,
    }


# ---------------------------------------------------------------------------------------------- cli


def _write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    secrets = sub.add_parser("secret-detection", help="from reports/gates/secrets.json")
    secrets.add_argument("--gate", type=Path, required=True)
    secrets.add_argument("--commit", default="0000000", help="the scanned commit (GitLab requires one)")
    deps = sub.add_parser("dependency-scanning", help="from pip-audit or Trivy fs JSON")
    deps.add_argument("--input", required=True, help="pip-audit=PATH or trivy=PATH")
    deps.add_argument("--lock", type=Path, required=True)
    container = sub.add_parser("container-scanning", help="from Trivy image JSON")
    container.add_argument("--input", type=Path, required=True)
    container.add_argument("--image", default="")
    for scanner in (secrets, deps, container):
        scanner.add_argument("--scanner-version", default="unknown")
        scanner.add_argument("--started", default="", help="scan start, yyyy-mm-ddThh:mm:ss (UTC)")
    quality = sub.add_parser("codequality", help="from the gate records in reports/gates/")
    quality.add_argument("--gates", type=Path, required=True, help="the gates/ folder")
    bom = sub.add_parser("sbom", help="CycloneDX from a hash-locked requirements file")
    bom.add_argument("--lock", type=Path, required=True)
    bom.add_argument("--project", default="fastapi-lambda")
    for command in (secrets, deps, container, quality, bom):
        command.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    started = getattr(args, "started", "") or _now()
    version = getattr(args, "scanner_version", "") or "unknown"
    try:
        document: Any
        if args.command == "secret-detection":
            document = secret_detection(
                _load(args.gate), commit=args.commit, version=version, started=started
            )
        elif args.command == "dependency-scanning":
            kind, _, path = args.input.partition("=")
            document = dependency_scanning(
                kind,
                _load(Path(path)),
                lock=args.lock,
                lock_name=str(args.lock),
                version=version,
                started=started,
            )
        elif args.command == "container-scanning":
            document = container_scanning(
                _load(args.input), image=args.image, version=version, started=started
            )
        elif args.command == "codequality":
            document = codequality(_load(path) for path in sorted(args.gates.glob("*.json")))
        else:
            document = sbom(args.lock, lock_name=str(args.lock), project=args.project)
    except ConversionError as exc:
        print(f"gitlab_reports.py {args.command}: {exc}", file=sys.stderr)
        return 1
    _write(args.output, document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
