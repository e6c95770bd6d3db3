# Ceres: `make run` to start it, `make test` to check everything. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CERES := $(BIN)/ceres
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test lint typecheck migrations-check test-sqlite test-postgres \
        test-browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## install: create .venv/ with the `ceres` command in it
install: $(STAMP)

install-dev: $(DEV_STAMP)

## run: install, set up var/ceres.sqlite3, load the demo when empty, start web + worker
run: install
	$(CERES) run --host $(HOST) --port $(PORT)

## test: every check: lint, format, types, migrations, tests on SQLite and PostgreSQL, browser
test: install-dev lint typecheck migrations-check test-sqlite test-postgres test-browser
	@echo "make test: all checks passed"

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy src

migrations-check: install-dev
	CERES_VAR_DIR=$$(mktemp -d) $(CERES) makemigrations --check --dry-run

test-sqlite: install-dev
	DATABASE_URL= $(BIN)/pytest -m "not browser" -q

test-postgres: install-dev
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" -q; \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL at $(PG_URL) is unreachable and CI=true requires it"; exit 1; \
	else \
	  echo "PostgreSQL run: NOT RUN (no server at $(PG_URL))"; \
	fi

test-browser: install-dev
	@if [ -x /usr/bin/chromium ]; then \
	  DATABASE_URL= $(BIN)/pytest -m browser -q; \
	elif [ "$$CI" = "true" ]; then \
	  echo "/usr/bin/chromium is missing and CI=true requires the browser tests"; exit 1; \
	else \
	  echo "Browser tests: NOT RUN (no /usr/bin/chromium; apt-get install chromium)"; \
	fi

## bench: run the benchmarks in bench/ (figures go to docs/performance.md)
bench: install-dev
	$(BIN)/python bench/businesstime.py
	$(BIN)/python bench/sla_sweep.py
	$(BIN)/python bench/run.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then BENCH_POSTGRES=$(PG_URL) $(BIN)/python bench/run.py; fi
	$(BIN)/python bench/inbox.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then BENCH_POSTGRES=$(PG_URL) $(BIN)/python bench/inbox.py; fi
	$(BIN)/python bench/slack_events.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then BENCH_POSTGRES=$(PG_URL) $(BIN)/python bench/slack_events.py; fi
	$(BIN)/python bench/tracker_search.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then BENCH_POSTGRES=$(PG_URL) $(BIN)/python bench/tracker_search.py; fi
	$(BIN)/python bench/oncall_alarms.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then BENCH_POSTGRES=$(PG_URL) $(BIN)/python bench/oncall_alarms.py; fi

clean:
	rm -rf $(VENV) var
