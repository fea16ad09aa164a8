# The two commands: `make run` serves the exchange, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
PG_TEST_URL := $(or $(TEST_DATABASE_URL),postgresql://postgres@127.0.0.1:5432/test)
REDIS_TEST_URL := $(or $(TEST_REDIS_URL),redis://127.0.0.1:6379/15)
# The suite runs in parallel processes (pytest-xdist), each with its own database and Redis database;
# PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: install run test test-sqlite test-postgres check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/marketplace migrate
	$(BIN)/marketplace demo
	@echo "Serving on http://$(HOST):$(PORT)  (API guide: docs/api.md, OpenAPI UI: http://$(HOST):$(PORT)/schema)"
	@echo "Another token: $(BIN)/marketplace token create --member HZD --roles buyer"
	@# With REDIS_URL, settlement runs go to a queue: one worker runs beside the server and stops with it.
	@if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/marketplace worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
		echo "Settlement worker started (pid $$worker), because REDIS_URL is set"; \
		$(BIN)/marketplace serve --host $(HOST) --port $(PORT); \
	else \
		$(BIN)/marketplace serve --host $(HOST) --port $(PORT); \
	fi

test: $(STAMP)
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite, without Redis =="
	TEST_DATABASE_URL= TEST_REDIS_URL= $(PYTEST)

test-postgres: $(STAMP)
	@if $(BIN)/python -m tests.service_check "$(PG_TEST_URL)" "$(REDIS_TEST_URL)"; then \
		echo "== test suite on PostgreSQL with Redis =="; \
		TEST_DATABASE_URL="$(PG_TEST_URL)" TEST_REDIS_URL="$(REDIS_TEST_URL)" $(PYTEST); \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true: PostgreSQL and Redis must answer; failing."; exit 1; \
	else \
		echo "SKIPPED: the PostgreSQL + Redis run (start them or set TEST_DATABASE_URL / TEST_REDIS_URL)."; \
	fi

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check marketplace ledger tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
