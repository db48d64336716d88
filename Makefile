# `make demo` opens the app on a demo store; `make test` runs every test on SQLite, then every
# test that touches a store again on a PostgreSQL 15 server the tests start themselves (needs the
# postgresql-15 server programs; see README), and fails if either pass fails; `make test-pg`
# runs the PostgreSQL pass alone.
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
	$(BIN)/python -m pytest -n auto; sqlite=$$?; \
	$(MAKE) --no-print-directory test-pg; pg=$$?; \
	test $$sqlite -eq 0 && test $$pg -eq 0

serve: $(STAMP)
	$(BIN)/agent-console demo --db demo.db --no-open
	$(BIN)/agent-console --db demo.db serve

# The PostgreSQL pass: the tests that touch a store, each on a database of its own (the others
# are deselected, saying how many); without the server programs it fails, saying what to install.
test-pg: $(STAMP)
	AGENT_CONSOLE_TEST_DB=postgresql $(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python scripts/bench_queue.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
