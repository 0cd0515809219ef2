# Campagne: the two commands a newcomer needs are `make demo` and `make test`.
# Needs only python3 (>= 3.11) and make; everything else goes into .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# uv installs the locked dependencies in seconds; pip is the fallback.
UV_VERSION := 0.13.9
# Dependencies are reinstalled only when the lock file or pyproject.toml change.
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
# `make -j test` must still lint before testing, and SQLite before PostgreSQL.
.NOTPARALLEL:
.PHONY: help install demo test lint test-sqlite test-postgres bench clean messages

help:
	@echo "make demo    serve the demo campaign on http://127.0.0.1:$(PORT) (PORT=8123 make demo)"
	@echo "make test    ruff, migrations check, tests on SQLite then PostgreSQL"
	@echo "make bench   run every bench/*.py script"
	@echo "make clean   remove .venv, var/ (the local database) and caches"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is needed")'
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.lock pyproject.toml | $(BIN)/python
	@if $(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); then \
		$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock && \
		$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e . ; \
	else \
		echo "uv unavailable, installing with pip"; \
		$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock && \
		$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e . ; \
	fi
	@touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	@# exec: the signals make passes on (SIGTERM) reach rundemo, not an idle shell.
	DEBUG=1 CAMPAGNE_DEMO=1 exec $(BIN)/campagne rundemo --port $(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# An empty in-memory database: a stale local var/ database must not fail the check.
	DEBUG=1 DATABASE_URL=sqlite://:memory: $(BIN)/campagne makemigrations --check --dry-run

test-sqlite: $(INSTALLED)
	$(BIN)/pytest -ra --durations=5

test-postgres: $(INSTALLED)
	$(BIN)/pytest -ra --durations=5 --postgres

test: lint test-sqlite test-postgres

# Every script runs, even after one fails; the failures are listed at the end.
bench: $(INSTALLED)
	@failed=""; for script in bench/*.py; do \
		case "$$(basename $$script)" in _* | *lib.py) continue ;; esac; \
		echo "== $$script"; \
		$(BIN)/python $$script || failed="$$failed $$script"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) var build dist .ruff_cache .pytest_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# After changing user-visible strings: extract them, translate the new English entries
# in campagne/locale/en/LC_MESSAGES/django.po, then compile (tests/i18n checks both).
messages: $(INSTALLED)
	DEBUG=1 $(BIN)/campagne makemessages -l en --ignore=.venv --ignore=tests --ignore=bench --ignore=build --ignore=var --ignore=docs
	DEBUG=1 $(BIN)/campagne compilemessages --ignore=.venv --ignore=build --ignore=var
