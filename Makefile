# pb-ssr developer entry points. Every target creates what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest demo demo-django demo-django-asgi bench install clean unasync browser-deps

SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's chromium (Playwright's own download is never used);
# the shared-store tests start Debian's redis-server.
browser-deps:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@command -v redis-server >/dev/null || { \
		echo "Installing Debian's redis-server for the shared-store tests..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null; }

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

unasync:
	$(BIN)/python scripts/unasync.py

demo: $(STAMP)
	$(BIN)/python -m example_projects.flask_chat.demo

demo-django: $(STAMP)
	$(BIN)/python -m example_projects.django_chat.demo

demo-django-asgi: $(STAMP)
	$(BIN)/python -m example_projects.django_chat.demo --asgi

# Every section against an embedded PocketBase (see bench/run_all.py). `ab` (Debian's
# apache2-utils) loads the SSR pages; the PyPI `pocketbase` SDK is measured from its
# own throwaway venv (bench/.peers-venv), never from this one.
bench: $(STAMP)
	@$(BIN)/python -c "import gunicorn, matplotlib, uvicorn" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet -e '.[bench]'
	@command -v ab >/dev/null || { \
		echo "Installing Debian's apache2-utils (ab) for the load benchmark..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq apache2-utils >/dev/null; }
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
