# Two entry points: `make demo` opens the app on a demo store, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agent-console demo --db demo.db

test: $(STAMP)
	-$(BIN)/python scripts/ensure_browser.py  # else the browser test fails, saying what to install
	$(BIN)/python -m pytest -n auto

serve: $(STAMP)
	$(BIN)/agent-console demo --db demo.db --no-open
	$(BIN)/agent-console --db demo.db serve

bench: $(STAMP)
	$(BIN)/python scripts/bench_queue.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
