# Every target installs what it needs itself: a fresh machine needs only Python 3.11+.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
TOOLS_VENV := .venv-tools
CHECKOV_VENV := .venv-checkov
UV_VENV := .venv-uv
PY := $(VENV)/bin/python
TOOLS := $(TOOLS_VENV)/bin
UV := $(UV_VENV)/bin/uv
PORT ?= 8000
HOST ?= 127.0.0.1
MOTO_PORT ?= 5000
DATA_DIR ?= .data
export DATA_DIR
# uv installs the locks about 15x faster than pip, with the same guarantee: --require-hashes refuses
# any file whose hash is not in the lock. --no-deps: each lock is already complete. Not --quiet: a
# first install takes minutes, and uv's progress says it is working.
UV_INSTALL = $(UV) pip install --require-hashes --no-deps --python
LOCKS := bootstrap app dev tools checkov

.PHONY: help venv tools run run-aws test lint format pytest make-admin hooks fuzz bench mutants security lock clean ci-list

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# uv itself comes from pip, hash-checked against requirements/bootstrap.txt: nothing unpinned runs.
$(UV_VENV)/.installed: requirements/bootstrap.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }
	$(PYTHON) -m venv --clear $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --progress-bar on --disable-pip-version-check --require-hashes --no-deps \
	  -r requirements/bootstrap.txt
	@touch $@

# Each venv is rebuilt from scratch when its lock changes (--clear), so it holds exactly the lock: an
# upgrade in place would leave behind what the lock dropped. python -m venv, not uv venv: the suite
# runs pip from .venv (the image's install step, reproduced).
# Then the project itself, editable (pyproject.toml): `import app` works in .venv without PYTHONPATH.
# Its build backend, setuptools, is in the dev lock: no build isolation, nothing downloaded.
$(VENV)/.installed: requirements/app.txt requirements/dev.txt $(UV_VENV)/.installed
	$(PYTHON) -m venv --clear $(VENV)
	$(UV_INSTALL) $(PY) -r requirements/app.txt -r requirements/dev.txt
	$(UV) pip install --no-deps --no-build-isolation --offline --python $(PY) -e .
	@touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt $(UV_VENV)/.installed
	$(PYTHON) -m venv --clear $(TOOLS_VENV)
	$(UV_INSTALL) $(TOOLS)/python -r requirements/tools.txt
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt $(UV_VENV)/.installed
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(UV_INSTALL) $(CHECKOV_VENV)/bin/python -r requirements/checkov.txt
	@touch $@

venv: $(VENV)/.installed ## Create .venv with the locked app and dev dependencies

tools: $(TOOLS_VENV)/.installed $(CHECKOV_VENV)/.installed ## Create .venv-tools and .venv-checkov: the locked scanners

run: venv ## Serve the API on the embedded default (SQLite + a local folder)
	@echo "API docs: http://$(HOST):$(PORT)/docs   (data in $(DATA_DIR))"
	@# --no-access-log: uvicorn's own access log prints raw query strings, where a misused token travels.
	APP_MODE=local ENVIRONMENT=$${ENVIRONMENT:-development} $(VENV)/bin/uvicorn app.main:app --app-dir backend --host $(HOST) --port $(PORT) --no-access-log

run-aws: venv ## Serve the API in AWS mode against a local moto_server
	PYTHONPATH=backend $(PY) -m devtools.run_aws --host $(HOST) --port $(PORT) --moto-port $(MOTO_PORT)

lint: venv ## ruff and mypy --strict over every Python folder (backend tests bench ci scripts)
	$(VENV)/bin/ruff check backend tests bench ci scripts
	$(VENV)/bin/ruff format --check backend tests bench ci scripts
	$(VENV)/bin/mypy

format: venv ## Apply ruff's formatter and autofixes
	$(VENV)/bin/ruff check --fix backend tests bench ci scripts
	$(VENV)/bin/ruff format backend tests bench ci scripts

# The junit XML is what the security report's threat view reads (scripts/threat_view.py): each run
# leaves its results where ./security-test.sh looks for them.
pytest: venv tools
	$(PY) -m pytest -n 2 --junitxml=reports/junit.xml $(PYTEST_ARGS)

test: lint pytest ## Lint, type-check and run the whole test suite

make-admin: venv ## Promote a user to admin: make make-admin NAME=alice
	@test -n "$(NAME)" || { echo "usage: make make-admin NAME=username" >&2; exit 2; }
	PYTHONPATH=backend $(PY) -m app.cli make-admin "$(NAME)"

.PHONY: browser
browser: ## Install Chromium for the docs' browser test (Debian's package, via apt-get; idempotent)
	@if command -v "$${CHROMIUM:-chromium}" >/dev/null 2>&1; then exit 0; fi; \
	command -v apt-get >/dev/null 2>&1 || { echo "make browser installs Debian's chromium with apt-get;" \
	  "elsewhere install Chromium and set CHROMIUM=/path/to/chromium" >&2; exit 1; }; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

# The hooks run ruff from .venv and the scanners from .venv-tools: both must exist first.
hooks: venv tools ## Install the pre-commit hooks
	$(TOOLS)/pre-commit install

fuzz: venv ## Deep schemathesis run against the OpenAPI schema
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest tests/api/test_fuzz_openapi.py -p no:xdist

bench: venv ## Benchmarks, as ratios to baselines measured in the same run
	PYTHONPATH=backend $(PY) -m bench --readme README.md

.PHONY: load sweep
LOAD_STORE ?= both
LOAD_SECONDS ?= 30
load: venv ## 64 connections upload, download and delete on one account for 30 s per store, then check the books
	PYTHONPATH=backend $(PY) -m bench.load --store $(LOAD_STORE) --seconds $(LOAD_SECONDS) --connections 64

sweep: venv ## Remove what crashed uploads left (pending blobs older than 15 min), from DATA_DIR's store
	PYTHONPATH=backend $(PY) -m app.cli sweep

# Each mutant is run in a throw-away copy of the tree (tests/mutants/run.py): CPU heavy, so
# MUTANTS_JOBS (default 2) copies at a time, one pytest process each.
mutants: venv tools ## Security mutants (tests/mutants/): each must be killed by a test, a rule or a gate
	$(PY) -m tests.mutants.run -j $${MUTANTS_JOBS:-2}

security: tools ## Every security gate (./security-test.sh)
	./security-test.sh

# uv prefers the versions already in each .txt, so a re-lock moves only what an .in file changed.
lock: $(UV_VENV)/.installed ## Re-lock requirements/*.txt with hashes (uv, from requirements/bootstrap.txt)
	for f in $(LOCKS); do $(UV) pip compile --universal --python-version 3.11 \
	  --generate-hashes --quiet --custom-compile-command "make lock" requirements/$$f.in -o requirements/$$f.txt; done

GITLAB_CI_LOCAL := tools/gitlab-ci-local/node_modules/.bin/gitlab-ci-local
$(GITLAB_CI_LOCAL): tools/gitlab-ci-local/package-lock.json
	npm ci --prefix tools/gitlab-ci-local --no-audit --no-fund
	@touch $@

ci-list: $(GITLAB_CI_LOCAL) ## List the GitLab pipeline's jobs (gitlab-ci-local 4.60.0, needs node and npm)
	$(GITLAB_CI_LOCAL) --list-all

clean: ## Remove virtual environments, data and reports
	rm -rf $(VENV) $(TOOLS_VENV) $(CHECKOV_VENV) $(UV_VENV) $(DATA_DIR) reports .pytest_cache .mypy_cache .ruff_cache
