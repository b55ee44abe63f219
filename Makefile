# webhookd — the two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The browser test's node packages (playwright-core, pinned in package-lock.json).
NODE_STAMP := $(if $(wildcard package.json),node_modules/.installed-stamp)

.PHONY: install run test test-fast lint format lock clean bench

install: $(STAMP) $(NODE_STAMP)

# Re-installs when the project or its pins change. Every version comes from constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "webhookd needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Without npm the browser test skips (and fails under CI=true) with what to install.
node_modules/.installed-stamp: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: skipping npm ci; tests/web's browser test will skip (apt-get install npm)"; fi

run: $(STAMP)
	$(BIN)/webhookd serve

# Everything: unit, API, both stores, end-to-end processes, the browser (a few minutes).
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

# The quick loop while developing (about half a minute on a 2-core machine, 612 tests):
# no end-to-end processes, no browser, nothing marked slow; stops at the first failure.
# `make test` before pushing.
test-fast: $(STAMP)
	$(BIN)/pytest -x -m "not slow and not e2e and not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The benchmark (docs/performance.md): never part of `make test`. Needs PostgreSQL at
# BENCH_PG (default postgresql://postgres@127.0.0.1:5432); sizes via BENCH_* variables.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m bench.run

# Refresh the pins from a clean resolve of pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	{ echo "# Pinned versions of every dependency (runtime and dev). Regenerate: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis node_modules test-artifacts
