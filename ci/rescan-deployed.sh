#!/usr/bin/env bash
# Scheduled: re-scans the image the API function runs (saved by ci/pull-deployed.sh), since new CVEs
# are published against images that passed when they were pushed. Runs without AWS credentials.
# Usage: ci/rescan-deployed.sh TAR   (TAR.uri names the image; PYTHON: python3)
set -euo pipefail
tar=${1:?usage: ci/rescan-deployed.sh TAR}
image=$(cat "$tar.uri")
reports=${REPORTS_DIR:-reports}
converter=$(dirname "${BASH_SOURCE[0]}")/../scripts/gitlab_reports.py
mkdir -p "$reports/trivy"
echo "re-scanning $image"
trivy image --input "$tar" --scanners vuln --ignorefile .trivyignore.yaml \
  --format json --output "$reports/trivy/deployed.json"
"${PYTHON:-python3}" "$converter" container-scanning --input "$reports/trivy/deployed.json" \
  --image "$image" --scanner-version "$(trivy --version | sed -n 's/^Version: //p')" \
  --output "$reports/gl-container-scanning-report.json"
trivy image --input "$tar" --scanners vuln --exit-code 1 --severity HIGH,CRITICAL --ignore-unfixed \
  --ignorefile .trivyignore.yaml
