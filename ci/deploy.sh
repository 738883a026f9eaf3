#!/usr/bin/env bash
# Points the API function and the key-rotation function (same image, other command) at the image
# digest the pipeline pushed and scanned, and waits until each update has finished.
# Usage: ci/deploy.sh IMAGE_URI   (REPOSITORY@sha256:...; needs . ci/aws-oidc-login.sh)
set -euo pipefail
image=${1:?usage: ci/deploy.sh REPOSITORY@sha256:DIGEST}
[[ $image == *@sha256:* ]] || { echo "deploy: deploy by digest, not by tag: $image" >&2; exit 2; }
functions=("${LAMBDA_FUNCTION_NAME:?set LAMBDA_FUNCTION_NAME}" "${ROTATION_FUNCTION_NAME:?set ROTATION_FUNCTION_NAME}")
for function in "${functions[@]}"; do
  aws lambda update-function-code --function-name "$function" --image-uri "$image" \
    --query '[FunctionName,LastUpdateStatus]' --output text
done
for function in "${functions[@]}"; do
  aws lambda wait function-updated --function-name "$function"
  aws lambda get-function --function-name "$function" \
    --query '[Configuration.FunctionName,Configuration.LastUpdateStatus,Code.ResolvedImageUri]' --output text
done
