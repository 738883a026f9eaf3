"""The security report's threat-model view, rendered from recorded runs (tests/fixtures/security/threats):
a pytest junit XML, the SAST gate's Semgrep scan and a mutant report, against a small threat model in
the project's shape. Then the view of this repository's own threat model, which must read every row.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.test_security_gates import RECORDED, ROOT, sr

tv = sr.threat_view
THREATS = ROOT / "tests" / "fixtures" / "security" / "threats"
EXPECTED_STATUS = {
    "T-01": "proven",
    "T-02": "not proven",
    "T-03": "not proven",
    "T-05": "not proven",
    "T-07": "not proven",
    "T-22": "not run",
}


def write_gates(reports: Path) -> None:
    """The gates as this machine runs them: SAST on the recorded scan, two gates skipped."""
    records = [
        sr.evaluate("sast", [("semgrep", RECORDED / "semgrep.json")], seconds=3.2),
        sr.evaluate("dependencies", [], seconds=2.1, skips=["pip-audit could not reach advisory data"]),
        sr.evaluate("container", [], seconds=0.1, skips=["docker not installed", "trivy not installed"]),
    ]
    (reports / "gates").mkdir(parents=True)
    for record in records:
        (reports / "gates" / f"{record['gate']}.json").write_text(json.dumps(record))


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[dict[str, Any], str, subprocess.CompletedProcess[str]]:
    reports = tmp_path / "reports"
    write_gates(reports)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "security_report.py"),
            "--reports",
            str(reports),
            "render",
            "--threat-model",
            str(THREATS / "threat-model.md"),
            "--junit",
            str(THREATS / "junit.xml"),
            "--mutants",
            str(THREATS / "mutants.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    summary = json.loads((reports / "summary.json").read_text())
    return summary, (reports / "security-report.html").read_text(), result


def _row(page: str, threat_id: str) -> str:
    match = re.search(rf'<tr id="{threat_id}">.*?</tr>', page, re.DOTALL)
    assert match, f"no row for {threat_id}"
    return match[0]


def test_each_threat_gets_its_status_from_the_recorded_runs(
    rendered: tuple[dict[str, Any], str, subprocess.CompletedProcess[str]],
) -> None:
    summary, _, _ = rendered
    view = summary["threats"]
    assert {row["id"]: row["status"] for row in view["rows"]} == EXPECTED_STATUS
    assert view["counts"] == {"proven": 1, "not proven": 4, "not run": 1}
    rows = {row["id"]: row for row in view["rows"]}
    # Each "not proven" says why: a failed test, a surviving mutant, a rule's finding, a missing test.
    assert rows["T-02"]["reasons"] == ["tests/threats/test_examples.py::test_expired_token_is_401 failed"]
    assert rows["T-03"]["reasons"] == ["mutant T03-algorithm-from-header survived"]
    assert rows["T-05"]["reasons"] == ["rule jwt-hardcoded-secret: 1 finding (1 blocking)"]
    assert rows["T-07"]["reasons"] == ["1 test of 2 not run (not in the test results or skipped)"]
    assert rows["T-22"]["reasons"] == [
        "1 test of 1 not run (not in the test results or skipped)",
        "no mutant for this threat in the mutant report",
    ]
    # A parametrized test counts all its cases; a test in a class is found through its class.
    assert rows["T-03"]["tests"] == [
        {
            "test": "tests/threats/test_examples.py::test_other_algorithms_are_401",
            "outcome": "passed",
            "cases": 3,
        }
    ]
    assert rows["T-07"]["tests"][0]["outcome"] == "passed"
    assert rows["T-01"]["rules"][0] | {"locations": []} == {
        "rule": "jwt-decode-without-verification",
        "ran": True,
        "findings": 0,
        "blocking": 0,
        "locations": [],
    }


def test_the_page_shows_the_rows_and_a_headline_that_names_the_skipped_gates(
    rendered: tuple[dict[str, Any], str, subprocess.CompletedProcess[str]],
) -> None:
    summary, page, result = rendered
    skipped = (
        "2 gates skipped (dependencies: pip-audit could not reach advisory data; "
        "container: docker not installed; trivy not installed)"
    )
    assert summary["result"] == f"FAIL (sast) with {skipped}"
    assert summary["skipped_gates"] == [
        {"gate": "dependencies", "reason": "pip-audit could not reach advisory data"},
        {"gate": "container", "reason": "docker not installed; trivy not installed"},
    ]
    assert f"Result: FAIL (sast) with {skipped}" in result.stdout
    assert "Threats: 1 proven, 4 not proven, 1 not run of 6 threats" in result.stdout
    assert result.returncode == 1  # the gates decide the exit code, as before
    assert f'<span class="FAIL">FAIL (sast) with {skipped}</span>' in page
    assert "Threat model: did we do a good job?" in page
    for threat_id, status in EXPECTED_STATUS.items():
        assert f'<span class="{status.replace(" ", "-")}">{status}</span>' in _row(page, threat_id)
    proven = _row(page, "T-01")
    assert "The signature is verified before any claim is used" in proven  # the mitigation
    assert "1/1 passed" in proven
    assert "<code>jwt-decode-without-verification</code>: no finding" in proven
    assert "killed by <code>tests/threats/test_examples.py::test_missing_token_is_401</code>" in proven
    assert "backend/app/forge.py:5" in _row(page, "T-05")
    assert "<code>T03-algorithm-from-header</code>: survived" in _row(page, "T-03")
    failed = _row(page, "T-02")
    assert "<li><code>tests/threats/test_examples.py::test_expired_token_is_401</code>: failed</li>" in failed
    assert "<code>rule:file-route-without-access-dependency</code>" in _row(page, "T-07")


def test_without_test_or_mutant_results_nothing_reads_as_proven(tmp_path: Path) -> None:
    sast = sr.evaluate("sast", [("semgrep", RECORDED / "semgrep.json")], seconds=1.0)
    view = tv.build(
        THREATS / "threat-model.md",
        junit_path=tmp_path / "junit.xml",
        mutants_path=tmp_path / "mutants.json",
        sast=sast,
    )
    statuses = {row["id"]: row["status"] for row in view["rows"]}
    # Rules ran, so threats with a rule are not proven for want of tests and mutants; the rest did not run.
    assert statuses == {
        "T-01": "not proven",
        "T-02": "not run",
        "T-03": "not proven",
        "T-05": "not proven",
        "T-07": "not run",
        "T-22": "not run",
    }
    assert f"no test results: {tmp_path / 'junit.xml'} not found (make test writes it)" in view["problems"]
    assert "mutants not run (make mutants)" in view["rows"][0]["reasons"]
    assert "not run" in tv.render(view)


def test_the_projects_threat_model_reads_every_row() -> None:
    text = (ROOT / "docs" / "threat-model.md").read_text()
    threats = tv.parse_threat_model(text)
    # Every id the document has a row for (its sources table repeats them).
    ids = list(dict.fromkeys(re.findall(r"^\| (T-\d\d) \|", text, re.MULTILINE)))
    assert [t.id for t in threats] == ids
    assert all(t.mitigation and (t.tests or t.rules) for t in threats)
    bola = next(t for t in threats if t.id == "T-07")
    assert "file-route-without-access-dependency" in bola.rules


def test_junit_node_ids_map_to_pytests_case_names() -> None:
    junit = tv.parse_junit(THREATS / "junit.xml")
    assert tv.outcome_of(
        "tests/threats/test_examples.py::TestOwnership::test_user1_token_on_user2_file_is_403", junit
    ) == ("passed", 1)
    assert tv.outcome_of("tests/threats/test_examples.py::test_other_algorithms_are_401[HS512]", junit) == (
        "passed",
        1,
    )
    assert tv.outcome_of("tests/threats/test_examples.py::test_key_store_outage_fails_closed", junit) == (
        "skipped",
        1,
    )
    assert tv.outcome_of("tests/threats/test_examples.py::test_expired_token_is_401", junit) == ("failed", 1)
    assert tv.outcome_of("tests/threats/test_examples.py::test_missing", junit) == ("not run", 0)
    assert tv.outcome_of("tests/threats/test_examples.py::test_missing_token_is_401", None) == ("not run", 0)


def test_broken_inputs_are_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("<html>not junit</html>")
    (tmp_path / "mutants.json").write_text("{")
    view = tv.build(
        tmp_path / "no-threat-model.md",
        junit_path=tmp_path / "junit.xml",
        mutants_path=tmp_path / "mutants.json",
        sast=None,
    )
    assert view["rows"] == []
    assert any("no threat model" in problem for problem in view["problems"])
    assert any("is not junit XML" in problem for problem in view["problems"])
    assert any("is not valid JSON" in problem for problem in view["problems"])
    assert tv.headline(view).startswith("no threat view: ")


def test_the_view_escapes_what_it_reads(tmp_path: Path) -> None:
    model = tmp_path / "threat-model.md"
    model.write_text(
        "| Id | Threat | Mitigation | Where | Verification | Residual risk |\n|---|---|---|---|---|---|\n"
        "| T-01 | <script>alert(1)</script>: x | <img src=x onerror=alert(1)> `a<b` | w "
        "| `tests/x.py::test_<b>` | r |\n"
    )
    view = tv.build(model, junit_path=tmp_path / "j.xml", mutants_path=tmp_path / "m.json", sast=None)
    page = tv.render(view)
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert "<code>a&lt;b</code>" in page
