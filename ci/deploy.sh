#!/usr/bin/env bash
# Points the API function and the key-rotation function (same image, other command) at the image
# digest the pipeline pushed and scanned, and waits until each update has finished.
# Usage: ci/deploy.sh IMAGE_URI   (REPOSITORY_URI@sha256:...; needs . ci/aws-oidc-login.sh)
set -euo pipefail
image=${1:?usage: ci/deploy.sh REPOSITORY_URI@sha256:DIGEST}
[[ $image == *.amazonaws.com*/*@sha256:* ]] || { echo "deploy: deploy an ECR image by digest, not by tag: $image" >&2; exit 2; }
digest=${image##*@}
repository=${image%@*}
repository=${repository#*/}
functions=("${LAMBDA_FUNCTION_NAME:?set LAMBDA_FUNCTION_NAME}" "${ROTATION_FUNCTION_NAME:?set ROTATION_FUNCTION_NAME}")

# Tag the image deployed-* first: the repository's lifecycle policy never expires the last ten of
# those, so the running image (and a rollback target) outlives any number of undeployed pushes.
manifest=$(aws ecr batch-get-image --repository-name "$repository" --image-ids "imageDigest=$digest" \
  --query 'images[0].[imageManifestMediaType,imageManifest]' --output text)
media_type=${manifest%%$'\t'*}
aws ecr put-image --repository-name "$repository" --image-digest "$digest" \
  --image-tag "deployed-$(date -u +%Y%m%dT%H%M%SZ)-${CI_PIPELINE_ID:-manual}" \
  --image-manifest-media-type "$media_type" --image-manifest "${manifest#*$'\t'}" \
  --query 'image.imageId' --output text

for function in "${functions[@]}"; do
  aws lambda update-function-code --function-name "$function" --image-uri "$image" \
    --query '[FunctionName,LastUpdateStatus]' --output text
done
for function in "${functions[@]}"; do
  aws lambda wait function-updated --function-name "$function"
  aws lambda get-function --function-name "$function" \
    --query '[Configuration.FunctionName,Configuration.LastUpdateStatus,Code.ResolvedImageUri]' --output text
done
