#!/usr/bin/env bash
# Waits for ECR's scan on push of the image just pushed, then fails on HIGH or CRITICAL findings
# that .trivyignore.yaml does not accept (ci/ecr_findings.py): a second scanner, the registry's own.
# Usage: ci/wait-ecr-scan.sh REPOSITORY DIGEST
set -euo pipefail
repository=${1:?usage: ci/wait-ecr-scan.sh REPOSITORY DIGEST}
digest=${2:?usage: ci/wait-ecr-scan.sh REPOSITORY DIGEST}
out=${REPORTS_DIR:-reports}
mkdir -p "$out"
here=$(dirname "${BASH_SOURCE[0]}")

# The waiter polls every 5 s for up to 10 min and fails if the scan fails or never completes.
aws ecr wait image-scan-complete --repository-name "$repository" --image-id "imageDigest=$digest"
aws ecr describe-image-scan-findings --repository-name "$repository" --image-id "imageDigest=$digest" \
  --output json >"$out/ecr-scan-findings.json"
"${PYTHON:-python3}" "$here/ecr_findings.py" "$out/ecr-scan-findings.json" --ignorefile .trivyignore.yaml
