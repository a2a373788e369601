# Yishiting: `make demo` to try it, `make test` to test it. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Front-end libraries from npm (package-lock.json), copied where the app serves them.
VENDOR_STAMP := var/vendor/.installed
VENDOR_FILES := node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js
PYTEST_ARGS ?=
# The first Python 3.11+ found; override with `make install PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)

.PHONY: help install demo test lint bench clean screenshots proof

help:
	@echo "make demo    install, then run the demo on http://127.0.0.1:$(PORT)/ (PORT=$(PORT))"
	@echo "make test    install, then run the tests on SQLite and on PostgreSQL (PYTEST_ARGS=...)"
	@echo "make lint    ruff, ruff format --check, mypy, makemigrations --check"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make proof   the load, fault and fuzz suites at full size, one table (PROOF_ARGS=--size medium)"
	@echo "make screenshots  every page at 375 px and 1280 px into var/screenshots/"
	@echo "make install create $(VENV) and install Yishiting with its dev dependencies"
	@echo "make clean   remove var/ and $(VENV)"

# The virtualenv is rebuilt only when pyproject.toml changes (or the stamp is missing).
install: $(STAMP) $(VENDOR_STAMP)
	@mkdir -p var
	@if [ -f yishiting/core/i18n.py ]; then $(BIN)/python -m yishiting.core.i18n; fi

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "make: Python 3.11 or newer is needed (python3 is $$(python3 -V 2>&1 || echo missing));" \
			"install it or pass PYTHON=/path/to/python3.11" >&2; \
		exit 1; \
	fi
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
		echo "make: $(VENV) has an old Python: recreating it" >&2; rm -rf $(VENV); \
	fi
	@if [ ! -x $(BIN)/python ]; then \
		echo "$(PYTHON) -m venv $(VENV)"; \
		$(PYTHON) -m venv $(VENV) || { \
			rm -rf $(VENV); \
			echo "make: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
			exit 1; }; \
	fi
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev]'
	@touch $@

$(VENDOR_STAMP): package-lock.json $(STAMP)
	@command -v npm >/dev/null 2>&1 || scripts/deps.sh npm
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p var/vendor
	cp $(VENDOR_FILES) var/vendor/
	# Gzipped beside the originals: WhiteNoise serves them to browsers that accept gzip.
	$(BIN)/python -m whitenoise.compress --no-brotli var/vendor
	@touch $@

demo: install
	$(BIN)/yishiting demo --port $(PORT)

# The suite runs twice: on SQLite (DATABASE_URL unset), then on PostgreSQL: the database in
# DATABASE_URL if that is a postgres:// URL, else a throw-away cluster from scripts/pg.sh,
# stopped afterwards whatever happened. Fails if either run failed.
test: install
	scripts/deps.sh
	@status=0; \
	echo "==> tests on SQLite"; \
	env -u DATABASE_URL $(BIN)/pytest -q $(PYTEST_ARGS) || status=1; \
	case "$${DATABASE_URL:-}" in \
	postgres://* | postgresql://* | pgsql://*) \
		echo "==> tests on PostgreSQL (DATABASE_URL from the environment)"; \
		$(BIN)/pytest -q $(PYTEST_ARGS) || status=1 ;; \
	*) \
		trap 'scripts/pg.sh stop' EXIT; \
		trap 'exit 130' INT TERM; \
		url=$$(scripts/pg.sh start) || { echo "make: could not start PostgreSQL" >&2; exit 1; }; \
		echo "==> tests on PostgreSQL ($$url)"; \
		DATABASE_URL="$$url" $(BIN)/pytest -q $(PYTEST_ARGS) || status=1 ;; \
	esac; \
	if [ $$status -ne 0 ]; then echo "make: tests failed" >&2; fi; \
	exit $$status

lint: install
	@status=0; \
	for cmd in "$(BIN)/ruff check ." "$(BIN)/ruff format --check ." "$(BIN)/mypy ." \
		"$(BIN)/python -m django makemigrations --check --dry-run"; do \
		echo "==> $$cmd"; \
		DJANGO_SETTINGS_MODULE=config.settings $$cmd || status=1; \
	done; \
	exit $$status

# Every page at 375 px and 1280 px into var/screenshots/, and the submit page's weight.
screenshots: install
	scripts/deps.sh chromium fonts-noto-cjk
	$(BIN)/python -m yishiting.web.screenshots var/screenshots

bench: install
	@if [ -f bench/__main__.py ]; then \
		$(BIN)/python -m bench; \
	else \
		echo "No benchmarks yet (bench/__main__.py does not exist)."; \
	fi

# The load, fault and fuzz suites at full size and one table (docs/proof.md): about 45 minutes
# of a quiet machine. PROOF_ARGS='--size medium' for 90-second runs.
PROOF_ARGS ?=
proof: install
	scripts/deps.sh postgresql redis-server
	$(BIN)/python -m bench.load.proof $(PROOF_ARGS)

clean:
	@if [ -x scripts/pg.sh ]; then scripts/pg.sh destroy; fi
	rm -rf var $(VENV)
