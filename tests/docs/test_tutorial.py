"""The tutorial's code, run as a reader would after following it.

The files under ``docs/tutorial/code/`` are the files the tutorial pages include
(``--8<--``), so what these tests run is exactly what the reader copies.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pb_ssr.testing import PocketBaseServer

ROOT = Path(__file__).resolve().parents[2]
CODE = ROOT / "docs" / "tutorial" / "code"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "tutorial-password-1"


@pytest.fixture(scope="module")
def server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer(migrations_dir=CODE / "pb_migrations") as server:
        yield server


def load_flask_app(server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FLASK_SECRET_KEY", "tutorial-secret-key-0123456789abcdef")
    monkeypatch.setenv("PB_URL", server.url)
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", server.superuser_email)
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", server.superuser_password)
    spec = importlib.util.spec_from_file_location("tutorial_app", CODE / "flask" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # As `flask --app app run` does: Flask finds templates/ next to the module.
    monkeypatch.setitem(sys.modules, "tutorial_app", module)
    spec.loader.exec_module(module)
    module.app.config["TESTING"] = True
    return module.app


def csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html
    return match.group(1)


def test_flask_tutorial(server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_flask_app(server, monkeypatch)
    # "Create your first user" step: flask pb users create, with pb-ssr dev's superuser.
    result = app.test_cli_runner().invoke(
        args=["pb", "users", "create", "ada@tutorial.test", "--name", "Ada"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created ada@tutorial.test" in result.output
    assert app.test_cli_runner().invoke(args=["pb", "check"]).exit_code in (0, 1)

    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/auth/login?next=/")
    page = client.get("/auth/login?next=/").text
    response = client.post(
        "/auth/login",
        data={"csrf_token": csrf(page), "email": "ada@tutorial.test", "password": PASSWORD},
    )
    assert response.status_code == 303, response.text
    index = client.get("/")
    assert index.status_code == 200
    assert "Signed in as Ada." in index.text
    response = client.post("/messages", data={"csrf_token": csrf(index.text), "text": "Hi!"})
    assert response.status_code == 302
    assert "<li>Ada: Hi!</li>" in client.get("/").text
    # Without the CSRF token the post is refused.
    assert client.post("/messages", data={"text": "forged"}).status_code in (400, 403)


DJANGO_DRIVER = r"""
import re, sys
import django
django.setup()
from django.test import Client

email, password = sys.argv[1], sys.argv[2]
client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
response = client.get("/")
assert response.status_code == 302 and response["Location"] == "/auth/login/?next=/", response
page = client.get("/auth/login/?next=/").content.decode()
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
data = {"csrfmiddlewaretoken": token, "email": email, "password": password, "next": "/"}
response = client.post("/auth/login/", data)
assert response.status_code == 303, response.content
index = client.get("/").content.decode()
assert "Signed in as Ada." in index, index
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', index).group(1)
response = client.post("/messages", {"csrfmiddlewaretoken": token, "text": "Hi from Django!"})
assert response.status_code == 302, response
assert "<li>Ada: Hi from Django!</li>" in client.get("/").content.decode()
assert client.post("/messages", {"text": "forged"}).status_code == 403
print("django tutorial ok")
"""


def test_django_tutorial(server: PocketBaseServer) -> None:
    email = "ada-django@tutorial.test"
    server.create_user(email=email, password=PASSWORD, name="Ada")
    env = dict(
        os.environ,
        DJANGO_SECRET_KEY="tutorial-secret-key-0123456789abcdef",
        DJANGO_SETTINGS_MODULE="chat.settings",
        PB_URL=server.url,
    )
    env.pop("PYTHONPATH", None)
    cwd = CODE / "django"
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
    run = subprocess.run(
        [sys.executable, "-c", DJANGO_DRIVER, email, PASSWORD],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "django tutorial ok" in run.stdout
