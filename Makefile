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

# The browser tests drive Debian's chromium (Playwright's own download is never used).
browser-deps:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

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

bench: $(STAMP)
	$(BIN)/python bench/client_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
