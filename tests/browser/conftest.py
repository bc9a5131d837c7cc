"""Real-browser fixtures: Debian's chromium driven headless by Playwright for Python.

The browser is the system one (``/usr/bin/chromium``, Debian package ``chromium``);
``playwright install`` is never used. ``make test`` installs the package when it
is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = os.environ.get("PB_SSR_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "The browser tests need Debian's chromium: `apt-get install chromium` "
            "(make test installs it), or set PB_SSR_CHROMIUM to a Chromium binary."
        )
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Module scope, not session: while Playwright's sync API is open it keeps an
    # asyncio loop running in the main thread, which would break every asyncio test
    # that runs after it.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()
