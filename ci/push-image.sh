#!/usr/bin/env bash
# Pushes the saved, scanned tar to ECR under the immutable tag $CI_COMMIT_SHA and writes the pushed
# digest to build.env (a dotenv artifact the deploy job reads), so deploy pins the exact image.
# Usage: ci/push-image.sh IMAGE_TAR   (needs AWS credentials: . ci/aws-oidc-login.sh)
set -euo pipefail
tar=${1:?usage: ci/push-image.sh IMAGE_TAR}
: "${ECR_REPOSITORY_URI:?set ECR_REPOSITORY_URI (stack output RepositoryUri)}"
: "${CI_COMMIT_SHA:?CI_COMMIT_SHA is not set}"
registry=${ECR_REPOSITORY_URI%%/*}
repository=${ECR_REPOSITORY_URI#*/}
target=$ECR_REPOSITORY_URI:$CI_COMMIT_SHA

loaded=$(docker load --input "$tar" | sed -n 's/^Loaded image: //p' | tail -n 1)
[[ -n $loaded ]] || { echo "push-image: $tar holds no tagged image" >&2; exit 1; }
if [[ -f $tar.id ]] && [[ $(docker image inspect --format '{{.Id}}' "$loaded") != "$(cat "$tar.id")" ]]; then
  echo "push-image: $tar is not the image that was built and scanned" >&2
  exit 1
fi

aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
docker tag "$loaded" "$target"
docker push "$target"

digest=$(aws ecr describe-images --repository-name "$repository" \
  --image-ids "imageTag=$CI_COMMIT_SHA" --query 'imageDetails[0].imageDigest' --output text)
[[ $digest == sha256:* ]] || { echo "push-image: ECR reports no digest for $target" >&2; exit 1; }
printf 'IMAGE_DIGEST=%s\nIMAGE_URI=%s@%s\n' "$digest" "$ECR_REPOSITORY_URI" "$digest" >build.env
echo "pushed $target as $ECR_REPOSITORY_URI@$digest"
