"""Fault-suite fixtures: a PocketBase of its own (tests freeze, kill and proxy it).

The session-wide server is never paused or stopped here: other tests share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pb_ssr.testing import FaultProxy, PocketBaseServer, TestUser

from .apps import FAULT_SETTINGS

#: Signed-in users driving the load, each owning one private note.
USERS = 6


@pytest.fixture(scope="module")
def fault_server(pocketbase_migrations: Path | None) -> Iterator[PocketBaseServer]:
    """A PocketBase for this module only; thawed and restarted if a test left it down."""
    with PocketBaseServer(migrations_dir=pocketbase_migrations) as server:
        yield server


@pytest.fixture
def server(fault_server: PocketBaseServer) -> Iterator[PocketBaseServer]:
    """The module's PocketBase, running and answering at the start of every test."""
    if fault_server.is_paused:
        fault_server.resume()
    if not fault_server.is_running:
        fault_server.start()
    yield fault_server
    if fault_server.is_paused:
        fault_server.resume()


@pytest.fixture(scope="module")
def users(fault_server: PocketBaseServer) -> list[TestUser]:
    """Signed-in users, each with one note titled ``note of <id>`` only they can see."""
    people = []
    for i in range(USERS):
        user = fault_server.create_user(name=f"fault-{i}")
        fault_server.api(
            "POST",
            "/api/collections/private_notes/records",
            json={"title": f"note of {user.id}", "owner": user.id},
        )
        people.append(user)
    return people


@pytest.fixture
def proxy(server: PocketBaseServer) -> Iterator[FaultProxy]:
    """A fault proxy in front of the module's PocketBase."""
    with FaultProxy(server.url) as p:
        yield p


@pytest.fixture
def django_app(settings: Any) -> Callable[..., None]:
    """Point the Django project at a PocketBase URL with the fault suite's settings."""

    def apply(url: str, **keys: Any) -> None:
        settings.ROOT_URLCONF = "tests.faults.django_urls"
        settings.ALLOWED_HOSTS = ["*"]
        settings.POCKETBASE = {"URL": url, **FAULT_SETTINGS, **keys}

    return apply
