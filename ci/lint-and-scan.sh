#!/usr/bin/env bash
# The lint_and_scan job: ruff and mypy, then every security gate that needs no Docker daemon, in one
# run, so reports/ holds one summary, one HTML page and every GitLab report. Both run; the job fails at
# the end, so a red lint does not hide the gates.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

status=0
make lint || status=1

args=(--strict --only "sast,secrets,dependencies,config")
if [[ -n ${CI_MERGE_REQUEST_DIFF_BASE_SHA:-} ]]; then
  # A merge request blocks on the findings it introduces; its reports still hold every finding, for
  # GitLab to compare with the target branch. The default branch and schedules block on everything.
  args+=(--baseline-commit "$CI_MERGE_REQUEST_DIFF_BASE_SHA")
fi
REPORTS_DIR=reports ./security-test.sh "${args[@]}" || status=1
exit "$status"
