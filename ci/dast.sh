#!/usr/bin/env bash
# Scheduled DAST: schemathesis against a deployed API. Production rightly serves no /openapi.json
# (T-18), so the schema is generated from the app at this commit, which is what the default branch
# deploys. It runs as a fresh throwaway user; logout and password change are left out, as they would
# revoke its token halfway. Point API_URL at a staging stack: the run registers users, uploads files.
# Usage: API_URL=https://... ci/dast.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
url=${API_URL:?set API_URL (stack output FunctionUrl) in the schedule or CI/CD variables}
out=${REPORTS_DIR:-reports}/dast
mkdir -p "$out"
py=${PYTHON:-.venv/bin/python}

"$py" ci/dump_openapi.py >"$out/openapi.json"
token=$("$py" ci/dast_login.py "$url")
# A polite rate: the function's reserved concurrency is small by design, and throttled requests
# (429) would only test the throttle.
"${SCHEMATHESIS:-.venv/bin/schemathesis}" run "$out/openapi.json" --url "${url%/}" \
  --checks "${DAST_CHECKS:-not_a_server_error,content_type_conformance,response_headers_conformance,unsupported_method}" \
  --max-examples "${DAST_MAX_EXAMPLES:-25}" --rate-limit "${DAST_RATE_LIMIT:-10/s}" \
  --header "Authorization: Bearer $token" \
  --exclude-path /auth/logout --exclude-path /users/me/password \
  --request-timeout 20 --report junit --report-junit-path "$out/junit.xml"
