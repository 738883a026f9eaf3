#!/usr/bin/env bash
# The lint_and_scan job: ruff and mypy, then every security gate that needs no Docker daemon.
# Each gate writes to its own reports/<gate>/ because security-test.sh clears its reports folder on
# every run. All of them run; the job fails at the end, so one red gate does not hide the others.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

status=0
make lint || status=1

sast_args=()
if [[ -n ${CI_MERGE_REQUEST_DIFF_BASE_SHA:-} ]]; then
  # A merge request is judged on the findings it introduces; the default branch and the scheduled
  # pipeline scan everything.
  sast_args=(--baseline-commit "$CI_MERGE_REQUEST_DIFF_BASE_SHA")
fi

for gate in sast secrets dependencies config; do
  args=(--strict --only "$gate")
  [[ $gate == sast ]] && args+=("${sast_args[@]}")
  echo "== security gate: $gate"
  REPORTS_DIR="reports/$gate" ./security-test.sh "${args[@]}" || status=1
done
exit "$status"
