from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    # The async client is asyncio-only (its shared pool is per asyncio loop).
    return "asyncio"
