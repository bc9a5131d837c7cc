"""Demo data for the chat examples: three users and a few messages."""

from __future__ import annotations

from pathlib import Path

from pb_ssr.testing import PocketBaseServer

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "example_projects" / "pb_migrations"

USERS = [
    ("alice@example.test", "Alice"),
    ("bob@example.test", "Bob"),
    ("carol@example.test", "Carol"),
]
LINES = [
    "Hello from the server side!",
    "This page was rendered from PocketBase data by the app server.",
    "The stats page aggregates with the superuser service client.",
    "Your token lives in an HttpOnly cookie; page scripts cannot read it.",
    "Try signing in as someone else in a private window.",
]


def seed(server: PocketBaseServer, password: str) -> None:
    """Create (or reset the password of) the demo users, and some messages once."""
    existing = server.api("GET", "/api/collections/users/records", params={"perPage": 100})
    by_email = {u["email"]: u for u in existing["items"]}
    ids = []
    for email, name in USERS:
        user = by_email.get(email)
        body = {"password": password, "passwordConfirm": password, "verified": True}
        if user is None:
            user = server.api(
                "POST",
                "/api/collections/users/records",
                json={"email": email, "name": name, **body},
            )
        else:
            server.api("PATCH", f"/api/collections/users/records/{user['id']}", json=body)
        ids.append(user["id"])
    count = server.api("GET", "/api/collections/messages/records", params={"perPage": 1})
    if count["totalItems"] == 0:
        for i in range(15):
            server.api(
                "POST",
                "/api/collections/messages/records",
                json={"text": LINES[i % len(LINES)], "user": ids[i % len(ids)]},
            )
