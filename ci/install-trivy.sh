#!/usr/bin/env bash
# Copies the trivy binary out of the pinned Trivy image, so the build_and_scan job can scan the saved
# tar with the version (and digest) the pipeline pins.
# Usage: ci/install-trivy.sh IMAGE DEST_DIR
set -euo pipefail
image=${1:?usage: ci/install-trivy.sh IMAGE DEST_DIR}
dest=${2:?usage: ci/install-trivy.sh IMAGE DEST_DIR}
mkdir -p "$dest"
container=$(docker create "$image")
trap 'docker rm "$container" >/dev/null' EXIT
docker cp "$container:/usr/local/bin/trivy" "$dest/trivy"
"$dest/trivy" --version
