#!/usr/bin/env bash
# Trivy on the repository and on the saved image tar. Fails on HIGH or CRITICAL vulnerabilities that
# have a fix; accepted ones live in .trivyignore.yaml, each with a statement and an expiry date.
# Writes GitLab's container scanning report (every severity, from Trivy's JSON by
# scripts/gitlab_reports.py) and a CycloneDX SBOM of the image to reports/.
# Usage: ci/trivy-scan.sh IMAGE_TAR   (TRIVY: the binary; PYTHON: python3)
set -uo pipefail
tar=${1:?usage: ci/trivy-scan.sh IMAGE_TAR}
trivy=${TRIVY:-trivy}
python=${PYTHON:-python3}
converter=$(dirname "${BASH_SOURCE[0]}")/../scripts/gitlab_reports.py
reports=${REPORTS_DIR:-reports}
out=$reports/trivy
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
"$trivy" image --input "$tar" --scanners vuln --ignorefile .trivyignore.yaml \
  --format json --output "$out/image.json" || status=1
"$python" "$converter" container-scanning --input "$out/image.json" \
  --image "fastapi-lambda:${CI_COMMIT_SHA:-local}" --scanner-version "$("$trivy" --version | sed -n 's/^Version: //p')" \
  --output "$reports/gl-container-scanning-report.json" || status=1
"$trivy" image --input "$tar" --format cyclonedx --output "$out/gl-sbom-image.cdx.json" || status=1
"$trivy" image --input "$tar" --scanners vuln,secret "${gate[@]}" --format table || status=1
exit "$status"
