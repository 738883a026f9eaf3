"""The security report's threat-model view: "did we do a good job?", one row per threat.

For each threat of docs/threat-model.md: its mitigation, the tests its Verification cell names and how
they did in the last pytest run (pytest's junit XML), the Semgrep rules it names and their findings in
this run (the SAST gate's record), and its security mutants (reports/mutants.json, `make mutants`)
with whether each was killed. A threat is

- proven: every test it names passed, every rule it names ran without a finding, and every mutant of
  it was killed (so the tests would go red if the mitigation broke);
- not proven: something failed (a test, a rule finding, a surviving mutant), or part of its evidence
  is missing from this run (a test not run, no mutant run);
- not run: none of its tests, rules or mutants ran.

Stdlib only, like security_report.py, which renders it; the gates' verdict does not depend on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = ["Id", "Threat", "Mitigation", "Where", "Verification", "Residual risk"]
PROVEN, NOT_PROVEN, NOT_RUN = "proven", "not proven", "not run"
PASSED, FAILED, SKIPPED, MISSING = "passed", "failed", "skipped", "not run"
_CODE_SPAN = re.compile(r"`([^`]+)`")
_RULE_REF = re.compile(r"rule:([\w.-]+)")


class ThreatModelError(Exception):
    """The threat model, the junit XML or the mutant report is not in the expected shape."""


@dataclasses.dataclass(frozen=True)
class Threat:
    id: str
    threat: str
    mitigation: str
    tests: tuple[str, ...]
    rules: tuple[str, ...]

    @property
    def summary(self) -> str:
        """The mitigation's first sentence, for the table; the whole text sits under it."""
        first = re.split(r"(?<=[.;])\s", self.mitigation, maxsplit=1)[0]
        return first if len(first) <= 200 else first[:197] + "..."

    @property
    def title(self) -> str:
        """The threat's name: its cell up to the first colon ("Broken object level authorization")."""
        return self.threat.split(": ", 1)[0]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_threat_model(text: str) -> list[Threat]:
    """The one table whose header is COLUMNS (as tests/architecture/test_threat_model_traceability.py
    reads it)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("|") and _cells(line) == COLUMNS]
    if len(starts) != 1:
        raise ThreatModelError(f"expected exactly one threats table with the columns {COLUMNS}")
    threats = []
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        if len(cells) != len(COLUMNS):
            raise ThreatModelError(f"a threat row has {len(cells)} cells, not {len(COLUMNS)}: {line[:60]}")
        refs = _CODE_SPAN.findall(cells[4])
        rules = tuple(m[1] for ref in refs if (m := _RULE_REF.fullmatch(ref)))
        tests = tuple(ref for ref in refs if not _RULE_REF.fullmatch(ref))
        threats.append(Threat(cells[0], cells[1], cells[2], tests, rules))
    return threats


@dataclasses.dataclass(frozen=True)
class JUnit:
    """Outcome of each test case of one pytest run, keyed by (classname, name)."""

    path: str
    timestamp: str
    cases: dict[tuple[str, str], str]


def parse_junit(path: Path) -> JUnit:
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - pytest's own report of this run, not input
    except ET.ParseError as exc:
        raise ThreatModelError(f"{path} is not junit XML: {exc}") from exc
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in {"testsuite", "testsuites"}:
        raise ThreatModelError(f"{path} is not junit XML (root <{root.tag}>)")
    cases: dict[tuple[str, str], str] = {}
    for case in (case for suite in suites for case in suite.iter("testcase")):
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = FAILED
        elif case.find("skipped") is not None:
            outcome = SKIPPED
        else:
            outcome = PASSED
        key = (case.get("classname", ""), case.get("name", ""))
        # A test can appear twice (a teardown error after a pass): the worse outcome wins.
        if cases.get(key) != FAILED:
            cases[key] = outcome
    timestamp = next((s.get("timestamp", "") for s in suites if s.get("timestamp")), "")
    return JUnit(str(path), timestamp, cases)


def _junit_key(node_id: str) -> tuple[str, str]:
    """`tests/api/test_x.py::TestY::test_z` -> ("tests.api.test_x.TestY", "test_z"), as pytest
    names a case in its junit XML."""
    path, *parts = node_id.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), parts[-1] if parts else ""


def outcome_of(node_id: str, junit: JUnit | None) -> tuple[str, int]:
    """(outcome, number of cases) of one node id; without `[...]` it covers every parametrized case."""
    if junit is None:
        return MISSING, 0
    classname, name = _junit_key(node_id)
    exact = "[" in name
    outcomes = [
        outcome
        for (case_class, case_name), outcome in junit.cases.items()
        if case_class == classname and (case_name == name if exact else case_name.split("[", 1)[0] == name)
    ]
    if not outcomes:
        return MISSING, 0
    if FAILED in outcomes:
        return FAILED, len(outcomes)
    if all(outcome == SKIPPED for outcome in outcomes):
        return SKIPPED, len(outcomes)
    return PASSED, len(outcomes)


def load_mutants(path: Path) -> list[dict[str, Any]] | None:
    """The mutants of the last `make mutants` run, or None when there was none."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ThreatModelError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("mutants"), list):
        raise ThreatModelError(f"{path} has no mutants list")
    return [m for m in data["mutants"] if isinstance(m, dict)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def assess(
    threat: Threat,
    *,
    junit: JUnit | None,
    sast: dict[str, Any] | None,
    mutants: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """One row of the view: the evidence for `threat` in this run and its status."""
    tests: list[dict[str, Any]] = []
    for node in threat.tests:
        outcome, cases = outcome_of(node, junit)
        tests.append({"test": node, "outcome": outcome, "cases": cases})
    # The rules ran when the SAST gate did (a SKIPPED gate with nothing found did not run).
    sast_ran = sast is not None and not (sast["status"] == "SKIPPED" and not sast["finding_count"])
    rules: list[dict[str, Any]] = []
    for rule in threat.rules:
        found = [f for f in (sast or {}).get("findings", []) if f.get("rule") == rule]
        rules.append(
            {
                "rule": rule,
                "ran": sast_ran,
                "findings": len(found),
                "blocking": sum(bool(f.get("blocking")) for f in found),
                "locations": [f"{f.get('file')}:{f.get('line')}" for f in found][:10],
            }
        )
    own_mutants = [
        {
            "id": str(m.get("id")),
            "status": str(m.get("status")),
            "killed_by": m.get("killed_by") or "",
            "description": m.get("description") or "",
        }
        for m in mutants or []
        if m.get("threat") == threat.id
    ]
    failures = [f"{t['test']} {t['outcome']}" for t in tests if t["outcome"] == FAILED]
    failures += [
        f"rule {r['rule']}: {_count(r['findings'], 'finding')} ({r['blocking']} blocking)"
        for r in rules
        if r["findings"]
    ]
    failures += [f"mutant {m['id']} {m['status']}" for m in own_mutants if m["status"] != "killed"]
    gaps = []
    unrun = [t for t in tests if t["outcome"] in {MISSING, SKIPPED}]
    if unrun:
        why = "no test results" if junit is None else "not in the test results or skipped"
        gaps.append(f"{_count(len(unrun), 'test')} of {len(tests)} not run ({why})")
    if rules and not sast_ran:
        gaps.append(f"{_count(len(rules), 'rule')} not run (no SAST gate in this run)")
    if mutants is None:
        gaps.append("mutants not run (make mutants)")
    elif not own_mutants:
        gaps.append("no mutant for this threat in the mutant report")
    # A skipped test verified nothing: it counts as not run.
    ran = any(t["outcome"] in {PASSED, FAILED} for t in tests) or (rules and sast_ran) or own_mutants
    if failures:
        status, reasons = NOT_PROVEN, failures + gaps
    elif not ran:
        status, reasons = NOT_RUN, gaps
    elif gaps:
        status, reasons = NOT_PROVEN, gaps
    else:
        status, reasons = PROVEN, []
    return {
        "id": threat.id,
        "threat": threat.title,
        "mitigation": threat.mitigation,
        "mitigation_summary": threat.summary,
        "status": status,
        "reasons": reasons,
        "tests": tests,
        "rules": rules,
        "mutants": own_mutants,
    }


def build(
    threat_model: Path,
    *,
    junit_path: Path,
    mutants_path: Path,
    sast: dict[str, Any] | None,
) -> dict[str, Any]:
    """The view for summary.json: its sources, one row per threat and the count per status. Missing
    sources are said, not fatal: the page still shows the gates."""
    view: dict[str, Any] = {
        "threat_model": str(threat_model),
        "junit": None,
        "mutants": None,
        "problems": [],
        "rows": [],
    }
    try:
        threats = parse_threat_model(threat_model.read_text(encoding="utf-8"))
    except FileNotFoundError:
        view["problems"].append(f"no threat model at {threat_model}: no threat view")
        threats = []
    except (OSError, UnicodeDecodeError, ThreatModelError) as exc:
        view["problems"].append(f"{threat_model}: {exc}")
        threats = []
    junit = None
    if junit_path.exists():
        try:
            junit = parse_junit(junit_path)
            modified = dt.datetime.fromtimestamp(junit_path.stat().st_mtime, dt.UTC)
            view["junit"] = {
                "path": str(junit_path),
                "timestamp": junit.timestamp,
                "written": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "cases": len(junit.cases),
            }
        except ThreatModelError as exc:
            view["problems"].append(str(exc))
    else:
        view["problems"].append(f"no test results: {junit_path} not found (make test writes it)")
    mutants = None
    try:
        mutants = load_mutants(mutants_path)
    except ThreatModelError as exc:
        view["problems"].append(str(exc))
    if mutants is None:
        view["problems"].append(f"no mutant results: {mutants_path} not found (make mutants writes it)")
    else:
        view["mutants"] = {"path": str(mutants_path), "total": len(mutants)}
    view["rows"] = [assess(t, junit=junit, sast=sast, mutants=mutants) for t in threats]
    view["counts"] = {s: sum(r["status"] == s for r in view["rows"]) for s in (PROVEN, NOT_PROVEN, NOT_RUN)}
    return view


def headline(view: dict[str, Any]) -> str:
    counts = view.get("counts") or {}
    if not view["rows"]:
        return "no threat view: " + "; ".join(view["problems"])
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in (PROVEN, NOT_PROVEN, NOT_RUN)) + (
        f" of {len(view['rows'])} threats"
    )


CSS = """
.proven{color:#176f2c;font-weight:bold} .not-proven{color:#b00020;font-weight:bold}
.not-run{color:#8a6d00;font-weight:bold} td ul{margin:0;padding-left:1.2em}
details summary{cursor:pointer}
"""


def _markdown_cell(text: str) -> str:
    """A threat-model cell as HTML: escaped, with `code` spans and <br> kept."""
    parts = _CODE_SPAN.split(html.escape(text.replace("<br>", "\n"), quote=False))
    out = "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
    return out.replace("\n", "<br>")


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _tests_cell(tests: list[dict[str, Any]]) -> str:
    if not tests:
        return "none"
    e = html.escape
    passed = sum(t["outcome"] == PASSED for t in tests)
    items = [f"<code>{e(t['test'])}</code>: {e(t['outcome'])}" for t in tests]
    bad = [item for item, t in zip(items, tests, strict=True) if t["outcome"] == FAILED]
    summary = f"{passed}/{len(tests)} passed"
    return (_list(bad) if bad else "") + f"<details><summary>{summary}</summary>{_list(items)}</details>"


def _rules_cell(rules: list[dict[str, Any]]) -> str:
    if not rules:
        return "none"
    e = html.escape
    items = []
    for r in rules:
        if not r["ran"]:
            what = "not run"
        elif r["findings"]:
            where = ", ".join(r["locations"])
            what = f"{_count(r['findings'], 'finding')} ({r['blocking']} blocking): {where}"
        else:
            what = "no finding"
        items.append(f"<code>{e(r['rule'])}</code>: {e(what)}")
    return _list(items)


def _mutants_cell(mutants: list[dict[str, Any]], ran: bool) -> str:
    if not ran:
        return "not run"
    if not mutants:
        return "none"
    e = html.escape
    items = [
        f"<code>{e(m['id'])}</code>: "
        + (f"killed by <code>{e(m['killed_by'])}</code>" if m["status"] == "killed" else e(m["status"]))
        for m in mutants
    ]
    killed = sum(m["status"] == "killed" for m in mutants)
    return f"<details><summary>{killed}/{len(mutants)} killed</summary>{_list(items)}</details>"


def render(view: dict[str, Any]) -> str:
    e = html.escape
    out = ['<h2 id="threats">Threat model: did we do a good job?</h2>', f"<p>{e(headline(view))}.</p>"]
    sources = [f"Threats from <code>{e(view['threat_model'])}</code>"]
    if view["junit"]:
        j = view["junit"]
        sources.append(
            f"test results from <code>{e(j['path'])}</code> ({j['cases']} cases, run "
            f"{e(j['timestamp'] or j['written'])})"
        )
    if view["mutants"]:
        sources.append(f"mutants from <code>{e(view['mutants']['path'])}</code> ({view['mutants']['total']})")
    out.append(f"<p>{'; '.join(sources)}; rules from this run's SAST gate.</p>")
    if view["problems"]:
        out.append(_list(e(p) for p in view["problems"]))
    if not view["rows"]:
        return "\n".join(out)
    out.append(
        "<table><tr><th>Id</th><th>Threat</th><th>Status</th><th>Mitigation</th><th>Tests</th>"
        "<th>Rules</th><th>Mutants</th></tr>"
    )
    for r in view["rows"]:
        reasons = _list(e(reason) for reason in r["reasons"]) if r["reasons"] else ""
        out.append(
            f'<tr id="{e(r["id"])}"><td>{e(r["id"])}</td><td>{e(r["threat"])}</td>'
            f'<td><span class="{_css_class(r["status"])}">{e(r["status"])}</span>{reasons}</td>'
            f"<td><details><summary>{_markdown_cell(r['mitigation_summary'])}</summary>"
            f"{_markdown_cell(r['mitigation'])}</details></td>"
            f"<td>{_tests_cell(r['tests'])}</td><td>{_rules_cell(r['rules'])}</td>"
            f"<td>{_mutants_cell(r['mutants'], view['mutants'] is not None)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)
