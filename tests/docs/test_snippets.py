"""Every Python snippet in README.md and docs/ runs (or, for marked fragments, compiles).

A fenced ``python`` block is run against a real PocketBase holding the tutorial's
schema and the documented sample accounts: ``http://127.0.0.1:8090`` in a snippet is
replaced by the test server's address, ``ada@example.com`` signs in with
``correct-horse-battery``, and so does the superuser ``admin@example.test``. A block
preceded by ``<!-- fragment: why -->`` (an excerpt of a larger file) is only compiled.
A block that includes files (``--8<--``) must name files that exist; the tutorial
tests run them.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pb_ssr import close_default_pool
from pb_ssr.testing import PocketBaseServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CODE = DOCS / "tutorial" / "code"
URL = "http://127.0.0.1:8090"
PASSWORD = "correct-horse-battery"
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_INCLUDE = re.compile(r'^\s*--8<-- "(?P<path>[^"]+)"\s*$')


@dataclass
class Snippet:
    path: Path
    line: int
    code: str
    fragment: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def markdown_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [f for f in files if CODE not in f.parents]


def snippets(path: Path) -> Iterator[Snippet]:
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or not match["lang"]:
            i += 1
            continue
        indent, lang, start = len(match["indent"]), match["lang"], i
        body = []
        i += 1
        while not re.match(rf"^ {{{indent}}}```\s*$", lines[i]):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        if lang != "python":
            continue
        before = next((x.strip() for x in reversed(lines[:start]) if x.strip()), "")
        yield Snippet(path, start + 1, "\n".join(body) + "\n", before.startswith("<!-- fragment"))


ALL = [s for f in markdown_files() for s in snippets(f)]


def test_the_docs_have_snippets() -> None:
    assert len(ALL) >= 15
    assert {s.path.name for s in ALL} >= {"README.md", "index.md", "client.md"}


@pytest.fixture(scope="module")
def server() -> Iterator[PocketBaseServer]:
    with PocketBaseServer(
        migrations_dir=CODE / "pb_migrations", superuser_password=PASSWORD
    ) as server:
        ada = server.create_user(email="ada@example.com", password=PASSWORD, name="Ada")
        server.api(
            "POST",
            "/api/collections/messages/records",
            json={"text": "Hello from the docs", "user": ada.id},
        )
        yield server


@pytest.mark.parametrize("snippet", ALL, ids=[s.id for s in ALL])
def test_snippet(
    snippet: Snippet, server: PocketBaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    includes = [m["path"] for line in snippet.code.splitlines() if (m := _INCLUDE.match(line))]
    if includes:
        for name in includes:
            found = [base / name for base in (CODE, ROOT) if (base / name).is_file()]
            assert found, f"{snippet.id} includes {name}, which does not exist"
            ast.parse(found[0].read_text(), filename=str(found[0]))
        return
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(snippet.code.replace(URL, server.url), snippet.id, "exec", flags=flags)
    if snippet.fragment:
        return
    monkeypatch.setenv("FLASK_SECRET_KEY", "docs-snippet-secret-key-0123456789")
    monkeypatch.setenv("PB_SUPERUSER_EMAIL", server.superuser_email)
    monkeypatch.setenv("PB_SUPERUSER_PASSWORD", PASSWORD)
    namespace = {"__name__": "docs_snippet"}
    if code.co_flags & inspect.CO_COROUTINE:

        async def run() -> None:
            await eval(code, namespace)  # noqa: S307 - the docs' own snippet

        asyncio.run(run())
    else:
        exec(code, namespace)  # noqa: S102 - the docs' own snippet
    close_default_pool()


def test_every_tutorial_file_is_shown() -> None:
    page = (DOCS / "tutorial" / "index.md").read_text()
    shown = set(re.findall(r'--8<-- "([^"]+)"', page))
    files = {
        str(p.relative_to(CODE))
        for p in CODE.rglob("*")
        if p.is_file() and p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    assert files == shown
