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

# Polls rather than `aws ecr wait image-scan-complete`: that waiter knows only basic scanning's
# COMPLETE, while enhanced (Inspector) scanning reports ACTIVE once findings are in.
timeout=${ECR_SCAN_TIMEOUT_SECONDS:-600}
interval=${ECR_SCAN_POLL_SECONDS:-10}
waited=0
while :; do
  status=$(aws ecr describe-image-scan-findings --repository-name "$repository" \
    --image-id "imageDigest=$digest" --query 'imageScanStatus.status' --output text 2>/dev/null || echo PENDING)
  case "$status" in
    COMPLETE | ACTIVE) break ;;
    FAILED | UNSUPPORTED_IMAGE | FINDINGS_UNAVAILABLE | SCAN_ELIGIBILITY_EXPIRED)
      echo "ECR scan of $digest ended as $status: refusing to pass an image nobody scanned" >&2
      exit 1 ;;
  esac
  if ((waited >= timeout)); then
    echo "ECR scan of $digest still $status after ${timeout}s" >&2
    exit 1
  fi
  sleep "$interval"
  waited=$((waited + interval))
done
aws ecr describe-image-scan-findings --repository-name "$repository" --image-id "imageDigest=$digest" \
  --output json >"$out/ecr-scan-findings.json"
"${PYTHON:-python3}" "$here/ecr_findings.py" "$out/ecr-scan-findings.json" --ignorefile .trivyignore.yaml
