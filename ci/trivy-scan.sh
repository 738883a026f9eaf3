#!/usr/bin/env bash
# Trivy on the repository and on the saved image tar. Fails on HIGH or CRITICAL vulnerabilities that
# have a fix; accepted ones live in .trivyignore.yaml, each with a statement and an expiry date.
# Usage: ci/trivy-scan.sh IMAGE_TAR   (TRIVY: the binary; TRIVY_TEMPLATE: GitLab's report template)
set -uo pipefail
tar=${1:?usage: ci/trivy-scan.sh IMAGE_TAR}
trivy=${TRIVY:-trivy}
template=${TRIVY_TEMPLATE:-/contrib/gitlab.tpl}
out=${REPORTS_DIR:-reports}/trivy
mkdir -p "$out"
gate=(--exit-code 1 --severity "HIGH,CRITICAL" --ignore-unfixed --ignorefile .trivyignore.yaml)
status=0

# The repository's lock files (committed secrets are the lint_and_scan secrets gate's job). Trivy
# reads pip locks only when they are named requirements.txt, so the runtime lock is also scanned
# under that name.
"$trivy" fs --scanners vuln --skip-dirs .cache --skip-files "$tar" "${gate[@]}" --format json --output "$out/fs.json" . || status=1
stage=$(mktemp -d)
cp requirements/app.txt "$stage/requirements.txt"
"$trivy" fs --scanners vuln "${gate[@]}" --format json --output "$out/app-lock.json" "$stage" || status=1
rm -rf "$stage"

# The image, from the tar that will be pushed. First every severity for GitLab's vulnerability
# report (never failing), then the gate.
"$trivy" image --input "$tar" --scanners vuln,secret --ignorefile .trivyignore.yaml \
  --format template --template "@$template" --output gl-container-scanning-report.json || status=1
"$trivy" image --input "$tar" --scanners vuln,secret "${gate[@]}" --format table || status=1
exit "$status"
