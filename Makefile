# Entry points for running and testing the service.  `make run` / `make test`
# bootstrap .venv themselves; pip only re-runs when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# axe-core for the browser tests' accessibility scan: from npm, pinned, into a git-ignored folder.
AXE_VERSION ?= 4.11.0
AXE_DIR     := tests/browser/npm
AXE_STAMP   := $(AXE_DIR)/.axe-core-$(AXE_VERSION)

.PHONY: install axe run lock test lint bench clean translations

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $@

run: install
	$(BIN)/flask --app service db upgrade
	$(BIN)/flask --app service audit partitions
	$(BIN)/flask --app service kb load --activate
	@test -s instance/audit-signing.key || (umask 077 && \
		$(BIN)/flask --app service audit keygen alerts-local > instance/audit-signing.key)
	@echo "Serving on http://127.0.0.1:$${PORT:-8000}"
	PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/instance/metrics} \
	exec $(BIN)/gunicorn -c python:service.gunicorn_config \
		--bind 127.0.0.1:$${PORT:-8000} --workers $${WORKERS:-3}

# The runtime dependencies, pinned with hashes, for the Dockerfile. Re-run after changing
# pyproject.toml's dependencies (pip-tools comes with the dev extra).
lock: $(VENV)/.dev-installed
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-find-links \
		--no-emit-index-url --output-file requirements.lock pyproject.toml

# Idempotent: npm runs only when the pinned version is not there yet. Without npm (or the registry)
# the scan is skipped locally, and fails under REQUIRE_BROWSER=1 or CI=true, as .ci/run sets.
axe: $(AXE_STAMP)

$(AXE_STAMP):
	@if command -v npm >/dev/null 2>&1 && npm install --prefix $(AXE_DIR) --no-save --no-audit \
			--no-fund --loglevel=error axe-core@$(AXE_VERSION); then \
		touch $@; \
	else \
		echo "warning: could not install axe-core $(AXE_VERSION) with npm; the accessibility scan will not run"; \
	fi

# On every core (pytest-xdist); PYTEST_ARGS="-n 0" runs in one process, e.g. to use --pdb.
test: install axe
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The patients' pages in Spanish: gather the texts of the templates into the .pot, merge them into
# each language's .po (translate what is new, then run this again), compile the .mo the app reads.
# The .mo files are committed, so a clean clone runs without this step; a test checks they match.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location \
		--sort-output --omit-header -o service/translations/messages.pot .
	$(BIN)/pybabel update -i service/translations/messages.pot -d service/translations \
		--width 100 --ignore-obsolete
	$(BIN)/pybabel compile -d service/translations

bench:
	@echo "Benchmarks (scripts in bench/):"
	@echo "  engine only:  $(BIN)/python bench/engine.py"
	@echo "  over HTTP:    make run  (in another shell), then  $(BIN)/python bench/http.py"

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	@echo "(kept $(VENV); remove it by hand to rebuild it from scratch)"
