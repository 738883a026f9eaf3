"""The config gate runs `trivy config` where Trivy is installed, and stands on checkov and hadolint
where it is not.

No Trivy binary can run here, so a stub stands in for it: it records its arguments and the files it
was given, and replays tests/fixtures/security/recorded/trivy-config.json. That report has the shape of
Trivy's JSON for a config scan (as in Trivy's own integration golden files, e.g.
integration/testdata/dockerfile.json.golden) with the HIGH finding Trivy's built-in check AVD-AWS-0132
reports on the planted tree's bucket (encrypted with the AWS managed key). The parser is tested on it
directly too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.delivery.test_security_gates import (
    RECORDED,
    make_tree,
    rules,
    run_gates,
    sr,
    stub,
    summary,
    tool_dir,
)

# Records the arguments and every file under the directory trivy is given, then replays a report.
TRIVY_STUB = """\
printf '%s\\n' "$@" >>"$STUB_LOG"
out=""
prev=""
for arg in "$@"; do
  [[ $prev == --output ]] && out=$arg
  prev=$arg
done
dir=${!#}
(cd "$dir" && find . -type f | sort) >>"$STUB_FILES"
cp "$STUB_REPORT" "$out"
exit "$STUB_EXIT"
"""


def _stub_env(tmp_path: Path, report: Path, exit_status: int) -> dict[str, str]:
    return {
        "STUB_LOG": str(tmp_path / "stub.log"),
        "STUB_FILES": str(tmp_path / "stub.files"),
        "STUB_REPORT": str(report),
        "STUB_EXIT": str(exit_status),
    }


@pytest.mark.threat("T-18")
def test_trivy_config_runs_offline_on_the_targets_only_and_its_high_finding_blocks(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    (tree / ".gitlab-ci.yml").write_text("stages: [test]\n")
    (tree / "docs").mkdir()
    (tree / "docs" / "notes.yaml").write_text("not: scanned\n")
    tools = tool_dir(tmp_path / "bin", ("hadolint",))
    stub(tools, "trivy", TRIVY_STUB)

    result = run_gates(
        tree,
        "--only",
        "config",
        tools=tools,
        extra_env=_stub_env(tmp_path, RECORDED / "trivy-config.json", 1),
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "AVD-AWS-0132 infra/template.yaml:8" in result.stdout
    config = summary(tree)["config"]
    assert config["status"] == "FAIL"
    assert "AVD-AWS-0132" in rules(config)
    args = (tmp_path / "stub.log").read_text().splitlines()
    assert args[0] == "config"
    # The built-in checks, offline: no bundle download, no version check, no telemetry.
    assert {"--skip-check-update", "--skip-version-check", "--disable-telemetry"} <= set(args)
    assert {"--severity", "HIGH,CRITICAL", "--exit-code", "1", "--format", "json"} <= set(args)
    # Only the gate's targets (Trivy has no GitLab CI checks), at their repository paths.
    staged = (tmp_path / "stub.files").read_text().split()
    assert staged == ["./Dockerfile", "./infra/template.yaml"]
    assert "reports/trivy-config.json" in config["reports"]


def test_a_clean_trivy_report_adds_no_finding(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    clean = tmp_path / "clean.json"
    report = json.loads((RECORDED / "trivy-config.json").read_text())
    for result in report["Results"]:
        result.pop("Misconfigurations", None)
        result["MisconfSummary"]["Failures"] = 0
    clean.write_text(json.dumps(report))
    tools = tool_dir(tmp_path / "bin", ("hadolint",))
    stub(tools, "trivy", TRIVY_STUB)

    result = run_gates(tree, "--only", "config", tools=tools, extra_env=_stub_env(tmp_path, clean, 0))

    config = summary(tree)["config"]
    assert config["findings"] == [], result.stdout
    assert "trivy" not in config["note"]
    # checkov is not in this TOOLS_BIN: the gate is SKIPPED for it, whatever trivy says.
    assert config["status"] == "SKIPPED"
    assert "checkov not installed" in config["note"]


@pytest.mark.threat("T-18")
def test_a_trivy_that_cannot_run_fails_the_gate(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ("hadolint",))
    stub(tools, "trivy", 'echo "FATAL Fatal error: init error: something broke" >&2; exit 2\n')

    result = run_gates(tree, "--only", "config", tools=tools)

    assert result.returncode == 1, result.stdout + result.stderr
    config = summary(tree)["config"]
    assert config["status"] == "FAIL"
    assert "trivy config exited 2: FATAL Fatal error: init error: something broke" in config["note"]


@pytest.mark.slow
def test_without_trivy_the_gate_passes_on_checkov_and_hadolint_and_says_so(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "repo")
    tools = tool_dir(tmp_path / "bin", ("checkov", "hadolint"))

    # --strict, as in the pipeline: a missing optional tool must not fail (nor pass silently).
    result = run_gates(tree, "--strict", "--only", "config", tools=tools)

    assert result.returncode == 0, result.stdout + result.stderr
    config = summary(tree)["config"]
    assert config["status"] == "PASS"
    assert config["note"] == "trivy not installed: its config checks did not run"


def test_parse_trivy_config_report() -> None:
    (finding,) = sr.parse_trivy(json.loads((RECORDED / "trivy-config.json").read_text())).findings
    assert finding.rule == "AVD-AWS-0132"
    assert finding.severity == "HIGH"
    assert finding.blocking
    assert finding.location == "infra/template.yaml:8"
    assert finding.message == "S3 encryption should use Customer Managed Keys"
