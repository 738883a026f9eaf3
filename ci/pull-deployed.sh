#!/usr/bin/env bash
# Scheduled: saves the image the API function runs right now (by digest) to a tar, for
# rescan_deployed_image to scan in a job that holds no AWS session.
# Usage: ci/pull-deployed.sh TAR   (needs . ci/aws-oidc-login.sh; writes TAR.uri with the image)
set -euo pipefail
tar=${1:?usage: ci/pull-deployed.sh TAR}
image=$(aws lambda get-function --function-name "${LAMBDA_FUNCTION_NAME:?set LAMBDA_FUNCTION_NAME}" \
  --query Code.ResolvedImageUri --output text)
[[ $image == *.amazonaws.com/*@sha256:* ]] || { echo "pull-deployed: unexpected image URI: $image" >&2; exit 1; }
registry=${image%%/*}
aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
docker pull "$image"
docker save --output "$tar" "$image"
docker logout "$registry" >/dev/null
printf '%s\n' "$image" >"$tar.uri"
echo "saved $image to $tar"
