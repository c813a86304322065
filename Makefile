# threadline developer commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

# The demo's own SQLite store, inside the (git-ignored) project folder; rebuilt by every `make demo`.
DEMO_DB := $(CURDIR)/.threadline/demo.db
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 5000

.PHONY: venv demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -f '$(DEMO_DB)' '$(DEMO_DB)-wal' '$(DEMO_DB)-shm'
	$(BIN)/threadline ingest examples/ml_pipeline/events.jsonl --store 'sqlite:///$(DEMO_DB)'
	@echo
	@echo "Open http://$(DEMO_HOST):$(DEMO_PORT)/api/v1/events/lineage  (Ctrl+C stops the server)"
	@echo
	$(BIN)/threadline serve --store 'sqlite:///$(DEMO_DB)' --host $(DEMO_HOST) --port $(DEMO_PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
