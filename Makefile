# Everything runs inside .venv, created on first use with whatever python3 (3.11+) is on the PATH.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The suite runs on this many processes (pytest-xdist); each has its own databases and ports.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

.PHONY: install run demo test test-unit test-postgres lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## Create the virtual environment and install the bot with its test tools.

run: $(STAMP) ## Run the bot with the settings in .env.
	$(BIN)/python -m bot

demo: $(STAMP) ## Watch a scripted patient's twelve weeks, offline: no token, no network, no .env.
	$(BIN)/python -m devtools demo

test: $(STAMP) ## Run the whole test suite (SQLite, or TEST_DATABASE_URL when set).
	$(PYTEST)

test-unit: $(STAMP) ## Run the pure rules and formatting alone (tests/unit/), in seconds.
	$(BIN)/python -m pytest -q -m unit

test-postgres: $(STAMP) ## Run the suite against the local PostgreSQL.
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} $(PYTEST)

lint: $(STAMP) ## Check style with ruff, the rooms' imports with import-linter, types with mypy.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .import_linter_cache .grimp_cache build *.egg-info
