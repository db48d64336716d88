# `make demo` opens the app on a demo store, `make test` runs every test; `make test-pg` runs
# the tests that pass on PostgreSQL so far against a server the tests start.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-pg bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agent-console demo --db demo.db

test: $(STAMP)
	-$(BIN)/python scripts/ensure_browser.py  # else the browser test fails, saying what to install
	$(BIN)/python -m pytest -n auto

serve: $(STAMP)
	$(BIN)/agent-console demo --db demo.db --no-open
	$(BIN)/agent-console --db demo.db serve

# The test files that pass on PostgreSQL so far, each against a fresh database on a server the
# tests start themselves (needs the postgresql-15 server programs; see README).
PG_TESTS := tests/test_postgres.py tests/test_db.py tests/test_tickets.py tests/test_knowledge.py \
            tests/test_queue.py tests/test_security.py

test-pg: $(STAMP)
	AGENT_CONSOLE_TEST_DB=postgresql $(BIN)/python -m pytest $(PG_TESTS)

bench: $(STAMP)
	$(BIN)/python scripts/bench_queue.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
