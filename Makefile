# threadline developer commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3

# Python may keep compiled modules (.pyc, git-ignored) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE=1 on our CI machines): the tests start hundreds of Python processes (servers,
# the CLI, pipelines), and without .pyc files each of them compiled some 400 modules again, 2 s of CPU
# each (tests/tracking/test_processes.py: 25.7 s -> 8.9 s).
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo

# The demo project is .demo/ (git-ignored), built by `make demo` and rebuilt when the examples or
# threadline change (see examples/demo.py; DEMO_REBUILD=1 forces it).
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 5000
DEMO_REBUILD ?=

# Dependencies come from the pinned lock files in requirements/ (`make lock` refreshes them from
# pyproject.toml): demo.txt is the runtime and the example pipeline's needs, dev.txt adds the tests'
# and linters'. They are installed with uv (the one on PATH, else one pip puts in the venv), which
# fetches and installs in parallel; plain pip is the fallback.
define install
	@uv=$$(command -v uv || true); \
	if [ -z "$$uv" ]; then \
		[ -x $(BIN)/uv ] || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv 2>&1 \
			| grep -v "^WARNING: Location" || true; \
		[ -x $(BIN)/uv ] && uv=$(BIN)/uv; \
	fi; \
	if [ -n "$$uv" ]; then \
		echo "installing $(1) with uv"; \
		$$uv pip install --quiet --python $(BIN)/python --no-deps -r $(1) -e .; \
	else \
		echo "installing $(1) with pip (uv could not be installed)"; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r $(1) -e .; \
	fi
endef

# The web UI's JavaScript (no build step) is formatted by prettier, linted by eslint and, where a file
# says `// @ts-check`, type-checked by tsc; the tools come from npm (package.json, pinned in
# package-lock.json, installed into node_modules/ by `npm ci`).
NODE_TOOLS := node_modules/.bin
NODE_STAMP := node_modules/.installed
JS := src/threadline/web/app tests/web/js eslint.config.js
JS_FORMATTED := $(JS) package.json tsconfig.json .prettierrc.json

.PHONY: venv demo test docs lint lint-js typecheck format bench lock settings-doc clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): requirements/demo.txt pyproject.toml | $(BIN)/python
	$(call install,requirements/demo.txt)
	touch $(DEMO_STAMP)

$(STAMP): requirements/dev.txt pyproject.toml | $(BIN)/python
	$(call install,requirements/dev.txt)
	touch $(STAMP) $(DEMO_STAMP)

venv: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m examples.demo --host $(DEMO_HOST) --port $(DEMO_PORT) $(if $(DEMO_REBUILD),--rebuild)

# Refresh the lock files from pyproject.toml (newest versions that fit), for Python 3.11 and up: dev.txt
# first, then demo.txt (the demo runs the example pipelines too: the pipeline extra) at dev.txt's versions.
lock: | $(BIN)/python
	@[ -x $(BIN)/uv ] || command -v uv >/dev/null || $(BIN)/python -m pip install --quiet uv
	$$(command -v uv || echo $(BIN)/uv) pip compile --quiet --universal --python-version 3.11 \
		pyproject.toml --extra examples --extra dev -o requirements/dev.txt
	$$(command -v uv || echo $(BIN)/uv) pip compile --quiet --universal --python-version 3.11 \
		pyproject.toml --extra examples --extra pipeline -c requirements/dev.txt -o requirements/demo.txt

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# The documentation site (mkdocs.yml, docs/) is built strictly, so a broken link or a page left out of
# the nav fails the tests too; into a temporary folder, since only whether it builds matters there.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

# mypy reads its settings and the files to check (all of src/threadline) from pyproject.toml.
# The tests run on TEST_WORKERS processes (pytest-xdist), in units that keep what shares an expensive
# fixture on one worker, the longest units first (tests/conftest.py); 0 runs them in this process.
TEST_WORKERS ?= 2
test: $(STAMP) lint-js
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	@out=$$(mktemp -d) && $(MKDOCS) build --strict --site-dir $$out; status=$$?; rm -rf $$out; \
		[ $$status -eq 0 ] && echo "docs: mkdocs build --strict passed" || exit $$status
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=25

# Build the documentation site into site/ (open site/index.html); `$(MKDOCS) serve` previews it live.
docs: $(STAMP)
	$(MKDOCS) build --strict

lint: $(STAMP) lint-js
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

lint-js: $(NODE_STAMP)
	$(NODE_TOOLS)/prettier --check $(JS_FORMATTED)
	$(NODE_TOOLS)/eslint --max-warnings 0 $(JS)
	$(NODE_TOOLS)/tsc -p tsconfig.json

format: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples
	$(NODE_TOOLS)/prettier --write --log-level warn $(JS_FORMATTED)

# docs/settings.md is generated from the settings table (src/threadline/settings.py).
settings-doc: $(STAMP)
	$(BIN)/python -c "from threadline.settings import settings_markdown; print(settings_markdown(), end='')" \
		> docs/settings.md

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .demo site node_modules
