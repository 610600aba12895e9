# IncidentDesk: `make run` sets up and serves the demo; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export INCIDENTDESK_DATA_DIR ?= $(CURDIR)/var
# `make run PORT=8080 HOST=0.0.0.0` serves elsewhere than 127.0.0.1:8000.
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint test-sqlite test-postgres bench screenshots lock clean

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "IncidentDesk needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# An editable install compiles nothing: compile the sources once, as installing a wheel does,
# so that each process's first start does not compile them (and keep the compiler's memory:
# about 10 MiB over `serve`'s processes, measured by bench/footprint.py).
COMPILE := $(BIN)/python -m compileall -q src/incidentdesk >/dev/null

# Installs take exactly the versions in the lock files, checked by their hashes; `make lock`
# writes them anew from pyproject.toml (tests/core/test_lock.py fails when they disagree).
$(VENV)/.installed: pyproject.toml requirements/run.txt | $(BIN)/activate
	$(BIN)/pip install -q --require-hashes -r requirements/run.txt
	$(BIN)/pip install -q --no-deps -e .
	$(COMPILE)
	@touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.txt | $(BIN)/activate
	$(BIN)/pip install -q --require-hashes -r requirements/test.txt
	$(BIN)/pip install -q --no-deps -e .
	$(COMPILE)
	@touch $@ $(VENV)/.installed

# a real OpenID Connect provider (npm's oidc-provider, run with Node) for the identity tests
OIDC_PROVIDER := tests/identity/oidc-provider
$(OIDC_PROVIDER)/node_modules/.package-lock.json: $(OIDC_PROVIDER)/package-lock.json
	npm ci --no-audit --no-fund --prefix $(OIDC_PROVIDER) >/dev/null

UV := $(VENV)-lock/bin/uv
LOCK := $(UV) pip compile pyproject.toml --quiet --generate-hashes --universal --python-version 3.11

lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install -q uv==0.13.8
	$(LOCK) -o requirements/run.txt
	$(LOCK) --extra postgres -o requirements/postgres.txt
	$(LOCK) --extra postgres --extra apprise --extra test -o requirements/test.txt

run: $(VENV)/.installed
	$(BIN)/incidentdesk init
	INCIDENTDESK_BASE_URL=$${INCIDENTDESK_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/incidentdesk demo
	INCIDENTDESK_BASE_URL=$${INCIDENTDESK_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/incidentdesk serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src
	INCIDENTDESK_DATA_DIR=$$(mktemp -d) $(BIN)/incidentdesk manage makemigrations --check --dry-run

test-sqlite: $(VENV)/.installed-test $(OIDC_PROVIDER)/node_modules/.package-lock.json
	INCIDENTDESK_DATABASE_URL= $(BIN)/pytest -n 2 -p no:cacheprovider

test-postgres: $(VENV)/.installed-test $(OIDC_PROVIDER)/node_modules/.package-lock.json
	@if [ -n "$$INCIDENTDESK_TEST_DATABASE_URL" ]; then \
	  echo "== the suite again on PostgreSQL"; \
	  INCIDENTDESK_DATABASE_URL="$$INCIDENTDESK_TEST_DATABASE_URL" $(BIN)/pytest -n 2 -p no:cacheprovider; \
	else echo "INCIDENTDESK_TEST_DATABASE_URL is not set: PostgreSQL run skipped"; fi

test: lint test-sqlite test-postgres

bench: $(VENV)/.installed-test
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Retake the screenshots in docs/screenshots, each at 1280 and 375 px (NAME.png, NAME-375.png):
# the browser tests that take pictures write them only when asked (tests/browser/conftest.py).
SHOOTING_TESTS = $(shell grep -lw screenshot tests/browser/test_*.py)
screenshots: $(VENV)/.installed-test $(OIDC_PROVIDER)/node_modules/.package-lock.json
	INCIDENTDESK_DATABASE_URL= INCIDENTDESK_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -n 2 -p no:cacheprovider $(SHOOTING_TESTS)

clean:
	rm -rf $(VENV) $(VENV)-lock var
