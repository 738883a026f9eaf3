# syntax=docker/dockerfile:1
# The Lambda image: the locked runtime dependencies plus backend/app, nothing else.
#
# The base is pinned by the digest of its multi-arch index, so every build starts from the bytes that
# were scanned, and a re-tagged "3.12" upstream changes nothing here until someone bumps it on purpose.
# To bump: read the current digest, paste it below, and let the pipeline's Trivy and ECR scans judge it:
#   docker buildx imagetools inspect public.ecr.aws/lambda/python:3.12 --format '{{json .Manifest.Digest}}'
#   crane digest public.ecr.aws/lambda/python:3.12
# Build for one architecture with --platform linux/amd64 --provenance=false (see .gitlab-ci.yml).
FROM public.ecr.aws/lambda/python:3.12@sha256:e6f5e8e6607c461c49488f2e02204960e64054034dca27653bb998c78a194597 AS base

FROM base AS builder
COPY requirements/app.txt /tmp/requirements/app.txt
# Hashes make pip refuse anything but the locked files; --no-deps because the lock is already complete;
# wheels only, as the image has no compiler and an sdist build would run code we did not review.
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: \
        --target "${LAMBDA_TASK_ROOT}" -r /tmp/requirements/app.txt
COPY backend/app ${LAMBDA_TASK_ROOT}/app
# /var/task is read-only on Lambda, so bytecode must be compiled now or every cold start recompiles it.
# unchecked-hash: the image is immutable, the source can never drift from its .pyc.
RUN python -m compileall -q --invalidation-mode unchecked-hash "${LAMBDA_TASK_ROOT}/app"

FROM base
COPY --from=builder ${LAMBDA_TASK_ROOT} ${LAMBDA_TASK_ROOT}
# Lambda always runs functions as its own unprivileged user; this keeps a local `docker run` off root too.
USER 65534:65534
# checkov:skip=CKV_DOCKER_2: Lambda drives the container through its Runtime API and ignores HEALTHCHECK.
CMD ["app.main.handler"]
