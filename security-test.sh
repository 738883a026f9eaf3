#!/usr/bin/env bash
# Runs the project's security gates locally and in CI. Usage: ./security-test.sh --help

# bash >= 5 is needed (EPOCHREALTIME, mapfile -d). This check is plain POSIX sh, so that any shell
# runs it and says so in one line: macOS's bash 3.2 as much as `sh security-test.sh`.
# ($BASH_VERSINFO without an index is the major version, and is unset outside bash.)
require_bash5() {
  case ${1:-} in
    [5-9] | [1-9][0-9]) return 0 ;;
  esac
  echo "security-test.sh needs bash >= 5 (EPOCHREALTIME, mapfile -d), this is ${2:-not bash}." \
    "On macOS: brew install bash, then run ./security-test.sh again." >&2
  return 1
}
require_bash5 "${BASH_VERSINFO:-}" "${BASH_VERSION:+bash $BASH_VERSION}" || exit 2

set -uo pipefail

usage() {
  cat <<'EOF'
Usage: ./security-test.sh [--strict] [--only GATE[,GATE...]] [--baseline-commit REF] [--help]

Runs the security gates in order and prints one line per gate, then a summary:
  sast          Semgrep with semgrep.yml; blocks on ERROR-severity rules
  secrets       gitleaks (.gitleaks.toml) when installed, instead of detect-secrets; else
                detect-secrets against .secrets.baseline
  dependencies  trivy fs (HIGH,CRITICAL) when installed, else pip-audit, on requirements/app.txt;
                blocks on HIGH/CRITICAL, and on unknown severity (pip-audit reports none)
  config        checkov on infra/, Dockerfile, .gitlab-ci.yml; hadolint on Dockerfile; and
                trivy config (HIGH,CRITICAL, offline) when installed, else a note says so
  container     docker build + trivy image (HIGH,CRITICAL, fixed only); needs a daemon and trivy

Options:
  --strict               also fail when a gate was SKIPPED (what the pipeline uses)
  --only GATE[,GATE...]  run only these gates (sast, secrets, dependencies, config, container)
  --baseline-commit REF  SAST blocks only on findings that REF does not have (merge requests);
                         the SAST reports still hold every finding, for GitLab to compare
  -h, --help             show this help

Exit status: 0 nothing failed, 1 a gate failed (or was skipped, with --strict), 2 usage error.
Reports: $REPORTS_DIR (default reports/): semgrep.json, semgrep.sarif, gl-sast-report.json,
detect-secrets.json or gitleaks.json, trivy-fs.json or pip-audit.json, checkov.json,
hadolint.json, trivy-config.json, trivy-image.json, summary.json and security-report.html; for GitLab
also gl-sast-checkov-report.json, gl-secret-detection-report.json, gl-dependency-scanning-report.json,
gl-sbom.cdx.json, gl-container-scanning-report.json and gl-code-quality-report.json.
The page's threat view (one row per threat of docs/threat-model.md) also reads, when present, the last
test run's $REPORTS_DIR/junit.xml (make test) and mutant run's mutants.json (make mutants).
Tools come from $TOOLS_BIN (default: .venv-tools/bin and .venv-checkov/bin, see `make tools`),
then from PATH.
EOF
}

GATES=(sast secrets dependencies config container)
STRICT=0
ONLY=""
BASELINE_REF=""
while (($#)); do
  case $1 in
    --strict) STRICT=1 ;;
    --only) ONLY=${2:-}; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --baseline-commit) BASELINE_REF=${2:-}; shift ;;
    --baseline-commit=*) BASELINE_REF=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "security-test.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
ONLY=${ONLY//sca/dependencies}
if [[ -n $ONLY ]]; then
  IFS=, read -ra only_gates <<<"$ONLY"
  for gate in "${only_gates[@]}"; do
    if [[ " ${GATES[*]} " != *" $gate "* ]]; then
      echo "security-test.sh: --only expects one or more of (comma-separated): ${GATES[*]}" >&2
      exit 2
    fi
  done
fi

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)" || exit 2
if [[ -n $BASELINE_REF ]] && ! git rev-parse --verify --quiet "$BASELINE_REF^{commit}" >/dev/null; then
  echo "security-test.sh: --baseline-commit: no such commit: $BASELINE_REF" >&2
  exit 2
fi

# make tools: checkov has a venv of its own (its bc-detect-secrets would replace detect-secrets).
TOOL_DIRS=()
if [[ -n ${TOOLS_BIN:-} ]]; then
  TOOL_DIRS=("$TOOLS_BIN")
else
  for dir in .venv-tools/bin .venv-checkov/bin; do
    [[ -d $dir ]] && TOOL_DIRS+=("$PWD/$dir")
  done
fi

# Prints the tool's path; fails when it is neither in TOOL_DIRS nor on PATH.
find_tool() {
  local dir
  for dir in "${TOOL_DIRS[@]}"; do
    if [[ -x $dir/$1 ]]; then
      echo "$dir/$1"
      return 0
    fi
  done
  command -v "$1" 2>/dev/null
}

PY=$(find_tool python3) || PY=$(find_tool python) || {
  echo "security-test.sh: python3 is required" >&2
  exit 2
}
R=${REPORTS_DIR:-reports}
mkdir -p "$R/gates" || exit 2
rm -f "$R"/gates/*.json "$R"/summary.json "$R"/security-report.html "$R"/semgrep.* \
  "$R"/semgrep-new.json "$R"/gl-*.json "$R"/detect-secrets.json "$R"/gitleaks.json \
  "$R"/trivy-*.json "$R"/pip-audit.json "$R"/checkov.json "$R"/hadolint.json "$R"/*.log
export SEMGREP_ENABLE_VERSION_CHECK=0 # otherwise semgrep stalls ~100 s without internet

report() { "$PY" scripts/security_report.py --reports "$R" "$@"; }
# The reports GitLab ingests. A converter that fails makes its gate fail: no report reads as no finding.
gitlab_report() { "$PY" scripts/gitlab_reports.py "$@"; }
# The first line a tool prints for --version, for the reports' scanner version.
tool_version() {
  local version
  version=$("$1" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1)
  echo "${version:-unknown}"
}
# UTC, as GitLab's reports want it.
utc_now() { date -u +%Y-%m-%dT%H:%M:%S; }

# The last non-empty line of a log, to say why a tool failed.
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-240; }

gate_sast() {
  local started=$EPOCHREALTIME semgrep rc
  if ! semgrep=$(find_tool semgrep); then
    report gate sast --started "$started" --skip "semgrep not installed (make tools)"
    return
  fi
  if [[ ! -f semgrep.yml ]]; then
    report gate sast --started "$started" --skip "no semgrep.yml: nothing to check against"
    return
  fi
  local scan=(scan --config semgrep.yml --metrics=off --disable-version-check --quiet)
  # Every finding goes into the reports: GitLab compares a merge request's report with the target
  # branch's itself, and marks what is missing as fixed.
  "$semgrep" "${scan[@]}" --json-output="$R/semgrep.json" --sarif-output="$R/semgrep.sarif" \
    --gitlab-sast-output="$R/gl-sast-report.json" >"$R/semgrep.txt" 2>"$R/semgrep.log"
  rc=$?
  local errors=() notes=() new=()
  # Without --error semgrep exits 0 with findings; anything else is a broken run.
  ((rc != 0)) && errors=(--error "semgrep exited $rc $(last_line "$R/semgrep.log")")
  if [[ -n $BASELINE_REF ]]; then
    # The baseline only decides what blocks: findings REF already has are reported, not blocking.
    "$semgrep" "${scan[@]}" --baseline-commit "$BASELINE_REF" --json-output="$R/semgrep-new.json" \
      >/dev/null 2>"$R/semgrep-new.log"
    rc=$?
    ((rc != 0)) && errors+=(--error "semgrep --baseline-commit exited $rc $(last_line "$R/semgrep-new.log")")
    new=(--new-only "semgrep=$R/semgrep-new.json")
    notes=(--note "only findings new since $BASELINE_REF block")
  fi
  report gate sast --started "$started" --input "semgrep=$R/semgrep.json" "${new[@]}" "${errors[@]}" \
    "${notes[@]}" --artifact "$R/semgrep.sarif" --artifact "$R/gl-sast-report.json"
}

# GitLab's secret detection report, from the gate's own verdict: what blocks, never a secret's value.
secret_detection_report() {
  local commit
  commit=$(git rev-parse --verify --quiet HEAD 2>/dev/null) || commit=0000000
  gitlab_report secret-detection --gate "$R/gates/secrets.json" --commit "$commit" \
    --scanner-version "$(tool_version "$1")" --started "$2" --output "$R/gl-secret-detection-report.json"
}

gate_secrets() {
  local started=$EPOCHREALTIME tool rc utc_started
  utc_started=$(utc_now)
  if tool=$(find_tool gitleaks); then
    # .gitleaks.toml (picked up from the source directory) allow-lists what the baseline excludes.
    "$tool" detect --no-git --source . --redact --no-banner --exit-code 1 \
      --report-format json --report-path "$R/gitleaks.json" >"$R/gitleaks.log" 2>&1
    rc=$?
    local errors=()
    ((rc > 1)) && errors=(--error "gitleaks exited $rc: $(last_line "$R/gitleaks.log")")
    report gate secrets --started "$started" --input "gitleaks=$R/gitleaks.json" "${errors[@]}"
    secret_detection_report "$tool" "$utc_started"
    return
  fi
  if ! tool=$(find_tool detect-secrets); then
    report gate secrets --started "$started" --skip "neither gitleaks nor detect-secrets installed"
    return
  fi
  # Tracked and untracked-but-not-ignored files: what a commit could contain, without .venv*.
  local files=()
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # node_modules is excluded by the baseline too; not listing it saves seconds.
    mapfile -d '' files < <(git ls-files -z --cached --others --exclude-standard |
      grep -zvE '(^|/)node_modules/')
  else
    files=(--all-files .)
  fi
  local baseline_args=() notes=()
  if [[ -f .secrets.baseline ]]; then
    # Scanning "with" a baseline rewrites it, so scan with a copy: the committed file stays put.
    cp .secrets.baseline "$R/detect-secrets.json"
    "$tool" scan -n --baseline "$R/detect-secrets.json" "${files[@]}" >"$R/detect-secrets.log" 2>&1
    rc=$?
    baseline_args=(--secrets-baseline .secrets.baseline)
  else
    "$tool" scan -n "${files[@]}" >"$R/detect-secrets.json" 2>"$R/detect-secrets.log"
    rc=$?
    notes=(--note "no .secrets.baseline: every secret found blocks")
  fi
  local errors=()
  ((rc != 0)) && errors=(--error "detect-secrets exited $rc: $(last_line "$R/detect-secrets.log")")
  report gate secrets --started "$started" --input "detect-secrets=$R/detect-secrets.json" \
    "${baseline_args[@]}" "${errors[@]}" "${notes[@]}"
  secret_detection_report "$tool" "$utc_started"
}

# Trivy or pip-audit could not fetch advisories (offline, proxy, rate limit): not a verdict.
unreachable() {
  local pattern='download|dial tcp|no such host|Name or service not known|NameResolution'
  pattern+='|ConnectionError|Max retries|timed? ?out|TLS|certificate|connection refused|network'
  grep -qiE "$pattern" "$1"
}

# GitLab's dependency scanning report: the tool's findings and every package of the lock file.
dependency_scanning_report() {
  gitlab_report dependency-scanning --input "$1" --lock "$2" --scanner-version "$(tool_version "$3")" \
    --started "$4" --output "$R/gl-dependency-scanning-report.json"
}

gate_dependencies() {
  local started=$EPOCHREALTIME lock=requirements/app.txt tool rc skips=() utc_started
  utc_started=$(utc_now)
  if [[ ! -f $lock ]]; then
    report gate dependencies --started "$started" --skip "no $lock to audit"
    return
  fi
  # The SBOM needs no advisory data: it is what the lock installs.
  gitlab_report sbom --lock "$lock" --output "$R/gl-sbom.cdx.json" || return
  if tool=$(find_tool trivy); then
    # Trivy only recognises a file named exactly requirements.txt.
    local stage
    stage=$(mktemp -d) && cp "$lock" "$stage/requirements.txt"
    "$tool" fs --scanners vuln --severity HIGH,CRITICAL --exit-code 1 --format json \
      --output "$R/trivy-fs.json" "$stage" >"$R/trivy-fs.log" 2>&1
    rc=$?
    rm -rf "$stage"
    if ((rc <= 1)) && [[ -s $R/trivy-fs.json ]]; then
      report gate dependencies --started "$started" --input "trivy=$R/trivy-fs.json" \
        --note "trivy fs on $lock"
      dependency_scanning_report "trivy=$R/trivy-fs.json" "$lock" "$tool" "$utc_started"
      return
    fi
    if ! unreachable "$R/trivy-fs.log"; then
      report gate dependencies --started "$started" \
        --error "trivy fs exited $rc: $(last_line "$R/trivy-fs.log")"
      return
    fi
    skips+=(--skip "trivy could not reach its vulnerability DB: $(last_line "$R/trivy-fs.log")")
    rm -f "$R/trivy-fs.json"
  fi
  if tool=$(find_tool pip-audit); then
    "$tool" --require-hashes --disable-pip --progress-spinner off -r "$lock" \
      --format json --output "$R/pip-audit.json" >"$R/pip-audit.log" 2>&1
    rc=$?
    if ((rc <= 1)) && [[ -s $R/pip-audit.json ]]; then
      # Advisory data that pip-audit could not fetch shows up as skipped dependencies.
      report gate dependencies --started "$started" --input "pip-audit=$R/pip-audit.json" \
        --note "pip-audit on $lock (it reports no severity: each finding blocks)" "${skips[@]}"
      dependency_scanning_report "pip-audit=$R/pip-audit.json" "$lock" "$tool" "$utc_started"
      return
    fi
    if unreachable "$R/pip-audit.log"; then
      report gate dependencies --started "$started" "${skips[@]}" \
        --skip "pip-audit could not reach advisory data: $(last_line "$R/pip-audit.log")"
    else
      report gate dependencies --started "$started" "${skips[@]}" \
        --error "pip-audit exited $rc: $(last_line "$R/pip-audit.log")"
    fi
    return
  fi
  ((${#skips[@]})) || skips=(--skip "neither trivy nor pip-audit installed")
  report gate dependencies --started "$started" "${skips[@]}"
}

gate_config() {
  local started=$EPOCHREALTIME tool rc inputs=() errors=() skips=() notes=() targets=()
  if [[ -d infra ]]; then
    mapfile -t targets < <(find infra -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \
      -o -name '*.template' \) | sort)
  fi
  ((${#targets[@]})) || notes+=(--note "no infra/ templates")
  local target
  for target in Dockerfile .gitlab-ci.yml; do
    if [[ -f $target ]]; then targets+=("$target"); else notes+=(--note "no $target"); fi
  done
  if ((${#targets[@]} == 0)); then
    :
  elif tool=$(find_tool checkov); then
    # No --quiet: skipped checks must be in the report to check each one has a written reason.
    # checkov's own GitLab SAST report (schema 15.0.4) carries the infrastructure findings to GitLab.
    rm -rf "$R/checkov"
    "$tool" -f "${targets[@]}" --framework cloudformation dockerfile gitlab_ci --skip-download \
      --compact --output json --output gitlab_sast --output-file-path "$R/checkov" \
      >"$R/checkov.txt" 2>"$R/checkov.log"
    rc=$?
    mv -f "$R/checkov/results_json.json" "$R/checkov.json" 2>/dev/null
    mv -f "$R/checkov/results_gitlab_sast.json" "$R/gl-sast-checkov-report.json" 2>/dev/null
    rm -rf "$R/checkov"
    inputs+=(--input "checkov=$R/checkov.json" --artifact "$R/gl-sast-checkov-report.json")
    ((rc > 1)) && errors+=(--error "checkov exited $rc: $(last_line "$R/checkov.log")")
  else
    skips+=(--skip "checkov not installed: ${targets[*]} not checked")
  fi
  if [[ ! -f Dockerfile ]]; then
    :
  elif tool=$(find_tool hadolint); then
    # .hadolint.yaml in this directory is picked up by hadolint itself.
    "$tool" --no-color --format json Dockerfile >"$R/hadolint.json" 2>"$R/hadolint.log"
    rc=$?
    inputs+=(--input "hadolint=$R/hadolint.json")
    ((rc > 1)) && errors+=(--error "hadolint exited $rc: $(last_line "$R/hadolint.log")")
  else
    skips+=(--skip "hadolint not installed: Dockerfile not linted")
  fi
  # Trivy's own checks, where Trivy is installed (make tools cannot install it): an extra opinion on
  # top of checkov and hadolint, which the verdict stands on. So its absence is a note, not a skip
  # that would turn a gate checkov and hadolint passed into SKIPPED. Its built-in checks run
  # offline (--skip-check-update: the bundle inside the binary).
  local scanned=()
  for target in "${targets[@]}"; do
    [[ $target == .gitlab-ci.yml ]] || scanned+=("$target") # trivy has no GitLab CI checks
  done
  if ((${#scanned[@]} == 0)); then
    :
  elif tool=$(find_tool trivy); then
    # A scratch copy of just the targets, at their repository paths, so trivy reads nothing else.
    local stage
    stage=$(mktemp -d) || return 1
    for target in "${scanned[@]}"; do
      mkdir -p "$stage/$(dirname "$target")" && cp "$target" "$stage/$target"
    done
    "$tool" config --skip-check-update --skip-version-check --disable-telemetry \
      --severity HIGH,CRITICAL --exit-code 1 --format json --output "$R/trivy-config.json" \
      "$stage" >"$R/trivy-config.log" 2>&1
    rc=$?
    rm -rf "$stage"
    if ((rc <= 1)) && [[ -s $R/trivy-config.json ]]; then
      inputs+=(--input "trivy=$R/trivy-config.json")
    else
      errors+=(--error "trivy config exited $rc: $(last_line "$R/trivy-config.log")")
    fi
  else
    notes+=(--note "trivy not installed: its config checks did not run")
  fi
  ((${#targets[@]})) || skips+=(--skip "nothing to check")
  report gate config --started "$started" "${inputs[@]}" "${errors[@]}" "${skips[@]}" "${notes[@]}"
}

gate_container() {
  local started=$EPOCHREALTIME docker trivy why=() rc utc_started
  utc_started=$(utc_now)
  local image=${SECURITY_IMAGE:-fastapi-lambda:security-scan}
  [[ -f Dockerfile ]] || why+=("no Dockerfile")
  if ! docker=$(find_tool docker); then
    why+=("docker not installed")
  elif ! "$docker" info >"$R/docker-info.log" 2>&1; then
    why+=("no Docker daemon (docker info: $(last_line "$R/docker-info.log"))")
  fi
  trivy=$(find_tool trivy) || why+=("trivy not installed")
  if ((${#why[@]})); then
    local reason skips=()
    for reason in "${why[@]}"; do skips+=(--skip "$reason"); done
    report gate container --started "$started" "${skips[@]}"
    return
  fi
  # --provenance=false: one plain image manifest, which Lambda requires.
  local build=(build -t "$image")
  "$docker" buildx version >/dev/null 2>&1 && build+=(--provenance=false)
  if ! "$docker" "${build[@]}" . >"$R/docker-build.log" 2>&1; then
    report gate container --started "$started" \
      --error "docker build failed: $(last_line "$R/docker-build.log") (see $R/docker-build.log)"
    return
  fi
  local scan=(image --exit-code 1 --severity "HIGH,CRITICAL" --ignore-unfixed --scanners "vuln,secret"
    --format json --output "$R/trivy-image.json")
  [[ -f .trivyignore.yaml ]] && scan+=(--ignorefile .trivyignore.yaml)
  "$trivy" "${scan[@]}" "$image" >"$R/trivy-image.log" 2>&1
  rc=$?
  if ((rc <= 1)) && [[ -s $R/trivy-image.json ]]; then
    report gate container --started "$started" --input "trivy=$R/trivy-image.json" --note "image $image"
    gitlab_report container-scanning --input "$R/trivy-image.json" --image "$image" \
      --scanner-version "$(tool_version "$trivy")" --started "$utc_started" \
      --output "$R/gl-container-scanning-report.json"
  elif unreachable "$R/trivy-image.log"; then
    report gate container --started "$started" \
      --skip "trivy could not reach its vulnerability DB: $(last_line "$R/trivy-image.log")"
  else
    report gate container --started "$started" \
      --error "trivy image exited $rc: $(last_line "$R/trivy-image.log")"
  fi
}

printf '%-13s %-8s %-26s %7s  %s\n' GATE STATUS FINDINGS TIME NOTE
broken=0
# Spelled out rather than "gate_$gate", so that shellcheck sees every gate function called.
run_gate() {
  case $1 in
    sast) gate_sast ;;
    secrets) gate_secrets ;;
    dependencies) gate_dependencies ;;
    config) gate_config ;;
    container) gate_container ;;
    *) return 1 ;;
  esac
}

for gate in "${GATES[@]}"; do
  [[ -z $ONLY || ",$ONLY," == *",$gate,"* ]] || continue
  if ! run_gate "$gate"; then
    echo "security-test.sh: the $gate gate could not be evaluated" >&2
    broken=1
  fi
done
strict=()
((STRICT)) && strict=(--strict)
report render "${strict[@]}"
status=$?
# Every finding of every gate for GitLab's Code Quality widget, which every tier shows in merge requests.
if ! gitlab_report codequality --gates "$R/gates" --output "$R/gl-code-quality-report.json"; then
  echo "security-test.sh: could not write $R/gl-code-quality-report.json" >&2
  broken=1
fi
# A gate missing from the summary must not read as a pass.
((broken && status == 0)) && status=1
exit "$status"
