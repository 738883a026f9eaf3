#!/usr/bin/env bash
# Scheduled: re-scans the image the API function runs right now, since new CVEs are published
# against images that passed when they were pushed. Trivy pulls from ECR with the job's AWS session.
# Usage: ci/rescan-deployed.sh   (needs . ci/aws-oidc-login.sh)
set -euo pipefail
out=${REPORTS_DIR:-reports}
mkdir -p "$out"
image=$(aws lambda get-function --function-name "${LAMBDA_FUNCTION_NAME:?set LAMBDA_FUNCTION_NAME}" \
  --query Code.ResolvedImageUri --output text)
[[ $image == *@sha256:* ]] || { echo "rescan-deployed: unexpected image URI: $image" >&2; exit 1; }
echo "re-scanning $image"
trivy image --scanners vuln --ignorefile .trivyignore.yaml \
  --format template --template "@${TRIVY_TEMPLATE:-/contrib/gitlab.tpl}" \
  --output gl-container-scanning-report.json "$image"
trivy image --scanners vuln --exit-code 1 --severity HIGH,CRITICAL --ignore-unfixed \
  --ignorefile .trivyignore.yaml "$image"
