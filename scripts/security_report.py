"""Turn the scanners' reports into gate verdicts, reports/summary.json and an HTML page.

security-test.sh runs the scanners; this module only reads what they wrote. It is stdlib-only so
that it runs on the tools venv's interpreter or any Python 3.11, without the app's dependencies.

    security_report.py gate NAME --started T [--input KIND=PATH ...] [--new-only KIND=PATH]
                                  [--skip WHY] [--error WHY]
    security_report.py render [--strict] [--threat-model PATH] [--junit PATH] [--mutants PATH]

`render` also writes the threat-model view (threat_view.py): each threat of docs/threat-model.md with
the last pytest run's results (junit XML), this run's rule findings and the last mutant run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import html
import json
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# The repository root, for its sibling module, also under `python -I` (no script directory on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts import threat_view

GATES = ("sast", "secrets", "dependencies", "config", "container")
PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"
BLOCKING_TRIVY = frozenset({"HIGH", "CRITICAL"})
# Severities below the threshold: a finding with one of these is reported and does not block.
BELOW_THRESHOLD = frozenset({"LOW", "MEDIUM", "MODERATE", "NEGLIGIBLE", "INFO", "NONE"})
BLOCKING_HADOLINT = frozenset({"error", "warning"})
NO_REASON = "No comment provided"  # what checkov records for `checkov:skip=ID` without a reason
MAX_PRINTED = 30


@dataclasses.dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    severity: str
    file: str
    line: int
    message: str
    blocking: bool

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclasses.dataclass
class Parsed:
    findings: list[Finding] = dataclasses.field(default_factory=list)
    # Set when the tool ran but could not do its job (e.g. no advisory data): the gate is SKIPPED.
    incomplete: str | None = None
    # What the tool itself reported as fatal, to explain a failed run.
    errors: list[str] = dataclasses.field(default_factory=list)


class ReportError(Exception):
    """A report is missing or not in the shape its tool documents."""


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _relative(path: str) -> str:
    # checkov prefixes repo-relative paths with "/" ("/infra/template.yaml").
    if os.path.isabs(path):
        cwd = os.getcwd()
        if path.startswith(cwd + os.sep):
            return os.path.relpath(path, cwd)
        if not os.path.exists(path):
            return path.lstrip("/")
    return path


def parse_semgrep(data: Any) -> Parsed:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ReportError("semgrep JSON has no results list")
    findings = [
        Finding(
            tool="semgrep",
            rule=_str(result.get("check_id")).rsplit(".", 1)[-1],
            severity=_str(result.get("extra", {}).get("severity"), "UNKNOWN"),
            file=_str(result.get("path")),
            line=_int(result.get("start", {}).get("line")),
            message=" ".join(_str(result.get("extra", {}).get("message")).split()),
            blocking=result.get("extra", {}).get("severity") == "ERROR",
        )
        for result in data["results"]
    ]
    # A file semgrep could not parse was not checked: report it, but it is not a finding in itself.
    findings += [
        Finding(
            tool="semgrep",
            rule="scan-error",
            severity="INFO",
            file=_str(error.get("path")),
            line=0,
            message=" ".join(_str(error.get("message")).split())[:300],
            blocking=False,
        )
        for error in data.get("errors", [])
        if isinstance(error, dict)
    ]
    fatal = [
        " ".join(_str(error.get("message")).split())
        for error in data.get("errors", [])
        if isinstance(error, dict) and error.get("level") == "error"
    ]
    return Parsed(findings, errors=fatal)


def _secret_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (_str(entry.get("filename")), _str(entry.get("hashed_secret")), _str(entry.get("type")))


def parse_detect_secrets(data: Any, baseline: Any = None) -> Parsed:
    """Secrets in `data` (a fresh scan) that the committed, audited baseline does not accept."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ReportError("detect-secrets JSON has no results mapping")
    accepted: dict[tuple[str, str, str], dict[str, Any]] = {}
    if baseline is not None:
        if not isinstance(baseline, dict) or not isinstance(baseline.get("results"), dict):
            raise ReportError("the detect-secrets baseline has no results mapping")
        for entries in baseline["results"].values():
            for entry in entries:
                accepted[_secret_key(entry)] = entry
    findings = []
    for entries in data["results"].values():
        for entry in entries:
            known = accepted.get(_secret_key(entry))
            if known is None:
                why = "new secret, not in the baseline"
            elif known.get("is_secret") is True:
                why = "audited as a real secret in the baseline"
            elif known.get("is_secret") is not False:
                why = "in the baseline but never audited (detect-secrets audit .secrets.baseline)"
            else:
                continue
            findings.append(
                Finding(
                    tool="detect-secrets",
                    rule=_str(entry.get("type"), "secret"),
                    severity="ERROR",
                    file=_str(entry.get("filename")),
                    line=_int(entry.get("line_number")),
                    message=why,
                    blocking=True,
                )
            )
    return Parsed(findings)


def parse_gitleaks(data: Any) -> Parsed:
    if data is None:  # gitleaks writes "null" when it finds nothing
        return Parsed()
    if not isinstance(data, list):
        raise ReportError("gitleaks JSON is not a list")
    return Parsed(
        [
            Finding(
                tool="gitleaks",
                rule=_str(leak.get("RuleID"), "secret"),
                severity="ERROR",
                file=_str(leak.get("File")),
                line=_int(leak.get("StartLine")),
                message=_str(leak.get("Description")),
                blocking=True,
            )
            for leak in data
        ]
    )


def parse_checkov(data: Any) -> Parsed:
    """Failed checks, parse errors and inline skips without a written reason all block."""
    reports = data if isinstance(data, list) else [data]
    findings = []
    for report in reports:
        if not isinstance(report, dict):
            raise ReportError("checkov JSON is neither a report nor a list of reports")
        results = report.get("results")
        if results is None:  # a framework with nothing to scan reports only a summary
            if "summary" not in report and "passed" not in report:
                raise ReportError("checkov JSON report has neither results nor a summary")
            continue
        for check in results.get("failed_checks", []):
            findings.append(_checkov_finding(check, check.get("check_name"), blocking=True))
        for check in results.get("skipped_checks", []):
            reason = _str(check.get("check_result", {}).get("suppress_comment")).strip()
            if not reason or reason == NO_REASON:
                message = f"skipped inline without a written reason: {check.get('check_name')}"
                findings.append(_checkov_finding(check, message, blocking=True))
        for path in results.get("parsing_errors", []):
            message = "checkov could not parse this file"
            findings.append(
                Finding("checkov", "parse-error", "ERROR", _relative(_str(path)), 0, message, True)
            )
    return Parsed(findings)


def _checkov_finding(check: dict[str, Any], message: Any, *, blocking: bool) -> Finding:
    lines = check.get("file_line_range") or [0]
    path = _str(check.get("file_path")) or _str(check.get("file_abs_path"))
    resource = _str(check.get("resource"))
    return Finding(
        tool="checkov",
        rule=_str(check.get("check_id"), "checkov"),
        severity=_str(check.get("severity")) or "ERROR",
        file=_relative(path),
        line=_int(lines[0]),
        message=f"{message} ({resource})" if resource else _str(message),
        blocking=blocking,
    )


def parse_hadolint(data: Any) -> Parsed:
    if not isinstance(data, list):
        raise ReportError("hadolint JSON is not a list")
    return Parsed(
        [
            Finding(
                tool="hadolint",
                rule=_str(item.get("code")),
                severity=_str(item.get("level")),
                file=_str(item.get("file")),
                line=_int(item.get("line")),
                message=_str(item.get("message")),
                blocking=item.get("level") in BLOCKING_HADOLINT,
            )
            for item in data
        ]
    )


def parse_trivy(data: Any) -> Parsed:
    """Trivy's JSON (SchemaVersion 2) for `trivy fs` and `trivy image` alike."""
    if not isinstance(data, dict) or not isinstance(data.get("SchemaVersion"), int):
        raise ReportError("not a Trivy JSON report (no SchemaVersion)")
    findings = []
    for result in data.get("Results") or []:
        target = _str(result.get("Target"))
        for vuln in result.get("Vulnerabilities") or []:
            severity = _str(vuln.get("Severity"), "UNKNOWN")
            fixed = _str(vuln.get("FixedVersion")) or "no fix yet"
            title = _str(vuln.get("Title")) or _str(vuln.get("Description"))[:160]
            findings.append(
                Finding(
                    tool="trivy",
                    rule=_str(vuln.get("VulnerabilityID")),
                    severity=severity,
                    file=target,
                    line=0,
                    message=f"{vuln.get('PkgName')} {vuln.get('InstalledVersion')} "
                    f"(fixed in {fixed}): {title}",
                    blocking=severity in BLOCKING_TRIVY,
                )
            )
        for misconf in result.get("Misconfigurations") or []:
            if misconf.get("Status", "FAIL") != "FAIL":
                continue
            severity = _str(misconf.get("Severity"), "UNKNOWN")
            cause = misconf.get("CauseMetadata") or {}
            findings.append(
                Finding(
                    tool="trivy",
                    rule=_str(misconf.get("AVDID")) or _str(misconf.get("ID")),
                    severity=severity,
                    file=target,
                    line=_int(cause.get("StartLine")),
                    message=_str(misconf.get("Title")) or _str(misconf.get("Message")),
                    blocking=severity in BLOCKING_TRIVY,
                )
            )
        for secret in result.get("Secrets") or []:
            findings.append(
                Finding(
                    tool="trivy",
                    rule=_str(secret.get("RuleID"), "secret"),
                    severity=_str(secret.get("Severity"), "UNKNOWN"),
                    file=target,
                    line=_int(secret.get("StartLine")),
                    message=_str(secret.get("Title"), "secret"),
                    blocking=True,
                )
            )
    return Parsed(findings)


def blocks_at_threshold(severity: str) -> bool:
    """The dependency threshold: HIGH and CRITICAL block, a known lower severity is reported only,
    and an unknown one blocks (fail closed: nobody has shown it is below the threshold)."""
    return severity.upper() not in BELOW_THRESHOLD


def parse_pip_audit(data: Any) -> Parsed:
    """pip-audit's JSON (2.x) carries no severity, so its findings are UNKNOWN and block: fail
    closed. A record that does carry one is judged like Trivy's (HIGH and CRITICAL block)."""
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        raise ReportError("pip-audit JSON has no dependencies list")
    findings = []
    skipped = []
    for dep in data["dependencies"]:
        if "skip_reason" in dep:
            skipped.append(dep)
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            severity = _str(vuln.get("severity")).upper() or "UNKNOWN"
            findings.append(
                Finding(
                    tool="pip-audit",
                    rule=_str(vuln.get("id")),
                    severity=severity,
                    file="requirements/app.txt",
                    line=0,
                    message=f"{dep.get('name')} {dep.get('version')} (fixed in {fixes}): "
                    + " ".join(_str(vuln.get("description")).split())[:200],
                    blocking=blocks_at_threshold(severity),
                )
            )
    incomplete = None
    if skipped:
        # pip-audit exits 0 and says "No known vulnerabilities" when it could not look anything up.
        incomplete = (
            f"pip-audit could not audit {len(skipped)} of {len(data['dependencies'])} "
            f"dependencies: {skipped[0]['skip_reason']}"
        )
    return Parsed(findings, incomplete)


PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "semgrep": parse_semgrep,
    "detect-secrets": parse_detect_secrets,
    "gitleaks": parse_gitleaks,
    "checkov": parse_checkov,
    "hadolint": parse_hadolint,
    "trivy": parse_trivy,
    "pip-audit": parse_pip_audit,
}


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"{path} was not written") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path} is not valid JSON: {exc}") from exc


def evaluate(
    gate: str,
    inputs: Iterable[tuple[str, Path]],
    *,
    seconds: float,
    skips: Iterable[str] = (),
    errors: Iterable[str] = (),
    notes: Iterable[str] = (),
    secrets_baseline: Path | None = None,
    artifacts: Iterable[Path] = (),
    new_only: Iterable[tuple[str, Path]] = (),
) -> dict[str, Any]:
    """The verdict for one gate: FAIL beats SKIPPED beats PASS.

    `new_only` holds the same tool's report restricted to what a merge request adds (semgrep
    --baseline-commit): every finding stays in the record, only those in it block.
    """
    findings: list[Finding] = []
    problems = list(errors)
    skipped = list(skips)
    reports = []
    new: dict[str, set[tuple[str, str, int]]] = {}
    for kind, path in new_only:
        try:
            parsed_new = PARSERS[kind](load_json(path))
        except ReportError as exc:
            problems.append(str(exc))
            continue
        new.setdefault(kind, set()).update((f.rule, f.file, f.line) for f in parsed_new.findings)
    for kind, path in inputs:
        reports.append(str(path))
        try:
            data = load_json(path)
            if kind == "detect-secrets":
                baseline = load_json(secrets_baseline) if secrets_baseline else None
                parsed = parse_detect_secrets(data, baseline)
            else:
                parsed = PARSERS[kind](data)
        except ReportError as exc:
            problems.append(str(exc))
            continue
        if kind in new:
            parsed.findings = [
                f if (f.rule, f.file, f.line) in new[kind] else dataclasses.replace(f, blocking=False)
                for f in parsed.findings
            ]
        findings += parsed.findings
        if parsed.incomplete:
            skipped.append(parsed.incomplete)
        if errors and parsed.errors:
            problems.append(parsed.errors[0][:300])
    blocking = [f for f in findings if f.blocking]
    if blocking or problems:
        status = FAIL
    elif skipped:
        status = SKIPPED
    else:
        status = PASS
    return {
        "gate": gate,
        "status": status,
        "finding_count": len(findings),
        "blocking_count": len(blocking),
        "seconds": round(seconds, 1),
        "note": "; ".join([*problems, *skipped, *notes]),
        # Why (part of) the gate did not run: the page says "not run" rather than "no findings".
        "skipped": skipped,
        "reports": reports + [str(path) for path in artifacts if path.exists()],
        "findings": [dataclasses.asdict(f) for f in findings],
    }


def live_line(record: dict[str, Any]) -> str:
    count = f"{record['finding_count']} findings"
    if record["blocking_count"]:
        count += f" ({record['blocking_count']} blocking)"
    if record["status"] == SKIPPED and not record["finding_count"]:
        count = "-"
    line = f"{record['gate']:<13} {record['status']:<8} {count:<26} {record['seconds']:>6.1f}s"
    return f"{line}  {record['note']}" if record["note"] else line


def load_gates(reports_dir: Path) -> list[dict[str, Any]]:
    records = []
    for gate in GATES:
        path = reports_dir / "gates" / f"{gate}.json"
        if path.exists():
            records.append(json.loads(path.read_text(encoding="utf-8")))
    return records


def overall(records: list[dict[str, Any]], *, strict: bool) -> tuple[str, int]:
    """The headline and exit code. It never reads a bare PASS while a gate was skipped: it says how
    many were, and why ("PASS with 2 gates skipped (dependencies: ...; container: ...)")."""
    statuses = {r["status"] for r in records}
    skipped = [r for r in records if r["status"] == SKIPPED]
    count = f"{len(skipped)} gate{'' if len(skipped) == 1 else 's'} skipped"
    why = "; ".join(f"{r['gate']}: {skip_reason(r)}" for r in skipped)
    if FAIL in statuses:
        failed = ", ".join(r["gate"] for r in records if r["status"] == FAIL)
        return (f"{FAIL} ({failed}) with {count} ({why})" if skipped else f"{FAIL} ({failed})"), 1
    if skipped and strict:
        return f"{FAIL} (--strict: {count}: {why})", 1
    if skipped:
        return f"{PASS} with {count} ({why})", 0
    return PASS, 0


def summary_table(records: list[dict[str, Any]]) -> str:
    rows = [f"{'GATE':<13} {'STATUS':<8} {'FINDINGS':>8} {'BLOCKING':>8} {'SECONDS':>8}  NOTE"]
    for r in records:
        rows.append(
            f"{r['gate']:<13} {r['status']:<8} {r['finding_count']:>8} {r['blocking_count']:>8} "
            f"{r['seconds']:>8.1f}  {r['note']}"
        )
    total = sum(r["seconds"] for r in records)
    rows.append(f"{'total':<13} {'':<8} {'':>8} {'':>8} {total:>8.1f}")
    return "\n".join(rows)


def blocking_lines(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in records:
        for f in r["findings"]:
            if f["blocking"]:
                loc = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
                text = f"  [{r['gate']}] {f['severity']} {f['rule']} {loc}  {f['message']}"
                lines.append(text.rstrip())
    if len(lines) > MAX_PRINTED:
        lines = [*lines[:MAX_PRINTED], f"  ... {len(lines) - MAX_PRINTED} more in the reports"]
    return lines


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right} code{font-size:13px}
.PASS{color:#176f2c;font-weight:bold} .FAIL{color:#b00020;font-weight:bold}
.SKIPPED{color:#8a6d00;font-weight:bold} tr.blocking td{background:#fff0f0}
"""


def did_not_run(record: dict[str, Any]) -> bool:
    """A skipped gate with nothing found: its tools did not run (or could not look anything up),
    which is not the same as finding nothing."""
    return record["status"] == SKIPPED and not record["finding_count"]


def skip_reason(record: dict[str, Any]) -> str:
    # Records written before the "skipped" field: the note holds the reason.
    return "; ".join(record.get("skipped") or []) or record["note"] or "no reason recorded"


def report_link(path: str, reports_dir: Path) -> str:
    """A link to a report, relative to the page (which is written into reports_dir)."""
    target = os.path.relpath(Path(path).resolve(), reports_dir.resolve())
    href = urllib.parse.quote(Path(target).as_posix())
    return f'<a href="{html.escape(href)}"><code>{html.escape(path)}</code></a>'


def headline_class(result: str) -> str:
    """PASS with skipped gates is not shown as a pass."""
    word = result.split()[0]
    return SKIPPED if word == PASS and result != PASS else word


def render_html(
    records: list[dict[str, Any]],
    result: str,
    generated_at: str,
    reports_dir: Path = Path("reports"),
    threats: dict[str, Any] | None = None,
) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Security gates report</title>",
        f"<style>{CSS}{threat_view.CSS}</style></head><body>",
        "<h1>Security gates report</h1>",
        f"<p>Generated {e(generated_at)}. Result: "
        f'<span class="{e(headline_class(result))}">{e(result)}</span></p>',
        "<table><tr><th>Gate</th><th>Status</th><th>Findings</th><th>Blocking</th>"
        "<th>Seconds</th><th>Note</th></tr>",
    ]
    for r in records:
        if did_not_run(r):
            counts = '<td class="num">not run</td><td class="num">-</td>'
        else:
            counts = f'<td class="num">{r["finding_count"]}</td><td class="num">{r["blocking_count"]}</td>'
        out.append(
            f'<tr><td><a href="#{e(r["gate"])}">{e(r["gate"])}</a></td>'
            f'<td class="{e(r["status"])}">{e(r["status"])}</td>{counts}'
            f'<td class="num">{r["seconds"]:.1f}</td><td>{e(r["note"])}</td></tr>'
        )
    out.append("</table>")
    if threats is not None:
        out.append(threat_view.render(threats))
    for r in records:
        out.append(f'<h2 id="{e(r["gate"])}">{e(r["gate"])}: ')
        out.append(f'<span class="{e(r["status"])}">{e(r["status"])}</span></h2>')
        if did_not_run(r):
            out.append(f"<p><strong>Not run:</strong> {e(skip_reason(r))}</p>")
        elif r["note"]:
            out.append(f"<p>{e(r['note'])}</p>")
        if r["reports"]:
            names = ", ".join(report_link(p, reports_dir) for p in r["reports"])
            out.append(f"<p>Reports: {names}</p>")
        if not r["findings"]:
            if not did_not_run(r):
                out.append("<p>No findings.</p>")
            continue
        out.append(
            "<table><tr><th>Location</th><th>Severity</th><th>Rule</th><th>Message</th>"
            "<th>Tool</th><th>Blocks</th></tr>"
        )
        for f in sorted(r["findings"], key=lambda f: (not f["blocking"], f["file"], f["line"])):
            loc = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
            out.append(
                f'<tr class="{"blocking" if f["blocking"] else ""}"><td><code>{e(loc)}</code></td>'
                f"<td>{e(f['severity'])}</td><td><code>{e(f['rule'])}</code></td>"
                f"<td>{e(f['message'])}</td><td>{e(f['tool'])}</td>"
                f"<td>{'yes' if f['blocking'] else 'no'}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def render(
    reports_dir: Path,
    *,
    strict: bool,
    threat_model: Path = Path("docs/threat-model.md"),
    junit: Path | None = None,
    mutants: Path | None = None,
) -> int:
    """summary.json and the page. The threat view informs; only the gates decide the exit code."""
    records = load_gates(reports_dir)
    result, code = overall(records, strict=strict)
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    threats = threat_view.build(
        threat_model,
        junit_path=junit or reports_dir / "junit.xml",
        mutants_path=mutants or reports_dir / "mutants.json",
        sast=next((r for r in records if r["gate"] == "sast"), None),
    )
    summary = {
        "schema_version": 2,
        "generated_at": generated_at,
        "strict": strict,
        # The headline, as printed; `status` is the bare verdict for scripts.
        "result": result,
        "status": result.split()[0],
        "exit_code": code,
        "skipped_gates": [
            {"gate": r["gate"], "reason": skip_reason(r)} for r in records if r["status"] == SKIPPED
        ],
        "gates": records,
        "threats": threats,
    }
    (reports_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    page = render_html(records, result, generated_at, reports_dir, threats)
    (reports_dir / "security-report.html").write_text(page, encoding="utf-8")
    print("\nSummary")
    print(summary_table(records))
    blocking = blocking_lines(records)
    if blocking:
        print("\nBlocking findings:")
        print("\n".join(blocking))
    print(f"\nThreats: {threat_view.headline(threats)} (see the page)")
    print(f"\nReports: {reports_dir}/summary.json, {reports_dir}/security-report.html")
    print(f"Result: {result}")
    return code


def _input(spec: str) -> tuple[str, Path]:
    kind, sep, path = spec.partition("=")
    if not sep or kind not in PARSERS:
        raise argparse.ArgumentTypeError(f"expected KIND=PATH with KIND in {sorted(PARSERS)}")
    return kind, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=Path(os.environ.get("REPORTS_DIR", "reports")))
    sub = parser.add_subparsers(dest="command", required=True)
    gate = sub.add_parser("gate", help="evaluate one gate, record it and print its live line")
    gate.add_argument("name", choices=GATES)
    gate.add_argument("--started", required=True, help="$EPOCHREALTIME when the gate started")
    gate.add_argument("--input", type=_input, action="append", default=[])
    gate.add_argument(
        "--new-only", type=_input, action="append", default=[], help="KIND=PATH: only these findings block"
    )
    gate.add_argument("--secrets-baseline", type=Path)
    gate.add_argument("--skip", action="append", default=[], help="why (part of) the gate did not run")
    gate.add_argument("--error", action="append", default=[], help="a tool failure: the gate fails")
    gate.add_argument("--note", action="append", default=[])
    gate.add_argument("--artifact", type=Path, action="append", default=[], help="another report")
    rend = sub.add_parser("render", help="write summary.json and security-report.html")
    rend.add_argument("--strict", action="store_true")
    rend.add_argument("--threat-model", type=Path, default=Path("docs/threat-model.md"))
    rend.add_argument("--junit", type=Path, help="pytest's junit XML (default: REPORTS/junit.xml)")
    rend.add_argument("--mutants", type=Path, help="make mutants' report (default: REPORTS/mutants.json)")
    args = parser.parse_args(argv)
    # `./security-test.sh | head` should stop quietly, not with a BrokenPipeError traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    if args.command == "render":
        return render(
            args.reports,
            strict=args.strict,
            threat_model=args.threat_model,
            junit=args.junit,
            mutants=args.mutants,
        )
    # bash formats $EPOCHREALTIME with the locale's decimal separator.
    seconds = time.time() - float(args.started.replace(",", "."))
    record = evaluate(
        args.name,
        args.input,
        seconds=seconds,
        skips=args.skip,
        errors=args.error,
        notes=args.note,
        secrets_baseline=args.secrets_baseline,
        artifacts=args.artifact,
        new_only=args.new_only,
    )
    gates_dir = args.reports / "gates"
    gates_dir.mkdir(parents=True, exist_ok=True)
    (gates_dir / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    print(live_line(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
