#!/usr/bin/env bash
# Builds the Lambda image once and saves it to a tar: every later step (Trivy, the push to ECR) works
# on those bytes, so what is pushed is exactly what was scanned.
# Usage: ci/build-image.sh [TAR]   (default image.tar; writes TAR.id with the image ID)
set -euo pipefail
tar=${1:-image.tar}
ref=fastapi-lambda:${CI_COMMIT_SHA:-local}

# linux/amd64: the function's architecture. --provenance=false: BuildKit would otherwise push an
# OCI index with an attestation manifest, which Lambda refuses.
docker build --pull --platform linux/amd64 --provenance=false --tag "$ref" .
docker image inspect --format '{{.Id}}' "$ref" >"$tar.id"
docker save --output "$tar" "$ref"
# Drop the built tag: the push must load the tar, not reuse what the daemon still holds.
docker image rm "$ref" >/dev/null
echo "saved $ref ($(cat "$tar.id")) to $tar"
