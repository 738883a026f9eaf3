# Every target installs what it needs itself: a fresh machine needs only Python 3.11+.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
TOOLS_VENV := .venv-tools
PY := $(VENV)/bin/python
TOOLS := $(TOOLS_VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
MOTO_PORT ?= 5000
DATA_DIR ?= .data
export DATA_DIR
PIP_INSTALL = -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps

.PHONY: help venv tools run run-aws test lint format pytest make-admin hooks fuzz bench security lock clean ci-list

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/app.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) -r requirements/app.txt -r requirements/dev.txt
	@touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS)/python $(PIP_INSTALL) -r requirements/tools.txt
	@touch $@

venv: $(VENV)/.installed ## Create .venv with the locked app and dev dependencies

tools: $(TOOLS_VENV)/.installed ## Create .venv-tools with the locked security scanners

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

pytest: venv tools
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test: lint pytest ## Lint, type-check and run the whole test suite

make-admin: venv ## Promote a user to admin: make make-admin NAME=alice
	@test -n "$(NAME)" || { echo "usage: make make-admin NAME=username" >&2; exit 2; }
	PYTHONPATH=backend $(PY) -m app.cli make-admin "$(NAME)"

hooks: tools ## Install the pre-commit hooks
	$(TOOLS)/pre-commit install

fuzz: venv ## Deep schemathesis run against the OpenAPI schema
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest tests/api/test_fuzz_openapi.py -p no:xdist

bench: venv ## Benchmarks, as ratios to baselines measured in the same run
	PYTHONPATH=backend $(PY) -m bench --readme README.md

security: tools ## Every security gate (./security-test.sh)
	./security-test.sh

lock: ## Re-lock requirements/*.txt with hashes (needs uv)
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	for f in app dev tools; do $(PYTHON) -m uv pip compile --universal --python-version 3.11 \
	  --generate-hashes --quiet --custom-compile-command "make lock" requirements/$$f.in -o requirements/$$f.txt; done

GITLAB_CI_LOCAL := tools/gitlab-ci-local/node_modules/.bin/gitlab-ci-local
$(GITLAB_CI_LOCAL): tools/gitlab-ci-local/package-lock.json
	npm ci --prefix tools/gitlab-ci-local --no-audit --no-fund
	@touch $@

ci-list: $(GITLAB_CI_LOCAL) ## List the GitLab pipeline's jobs (gitlab-ci-local 4.60.0, needs node and npm)
	$(GITLAB_CI_LOCAL) --list-all

clean: ## Remove virtual environments, data and reports
	rm -rf $(VENV) $(TOOLS_VENV) $(DATA_DIR) reports .pytest_cache .mypy_cache .ruff_cache
