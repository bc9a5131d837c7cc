"""Reading a live stream's body in the adapter tests, the way a server does.

A sync body is read on a thread of its own (a WSGI worker thread); the test waits
for what it expects with a generous bound, so that a broken stream fails instead of
hanging. Nothing here asserts a duration.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from pb_ssr.relay import Relay, Stream
from pb_ssr.testing import TestUser

#: How long a test waits for something that should happen at once.
WAIT = 20.0


class ChunkReader:
    """Reads a response body (an iterable of bytes) on a thread; ``until`` waits for text."""

    def __init__(self, body: Iterable[bytes] | None = None) -> None:
        self.text = ""
        self.finished = threading.Event()
        self.response: Any = None
        self._chunks: queue.Queue[bytes | None] = queue.Queue()
        if body is not None:
            threading.Thread(target=self._read, args=(body,), daemon=True).start()

    @classmethod
    def request(cls, send: Callable[[], Any]) -> ChunkReader:
        """Send the request on the reading thread too, as a server does (Flask's
        ``stream_with_context`` keeps the request context of that thread)."""
        reader = cls()
        got = threading.Event()

        def run() -> None:
            try:
                reader.response = send()
            finally:
                got.set()
            body = reader.response.response if reader.response.status_code == 200 else []
            reader._read(body)

        threading.Thread(target=run, daemon=True).start()
        assert got.wait(WAIT), "no response"
        assert reader.response is not None
        return reader

    def _read(self, body: Iterable[bytes]) -> None:
        try:
            for chunk in body:
                self._chunks.put(chunk)
        finally:
            self._chunks.put(None)

    def until(self, wanted: str | Callable[[str], bool], timeout: float = WAIT) -> str:
        """Wait until the text read so far contains *wanted* (or satisfies it)."""
        test = wanted if callable(wanted) else (lambda text: wanted in text)
        deadline = time.monotonic() + timeout
        while not test(self.text):
            left = deadline - time.monotonic()
            try:
                chunk = self._chunks.get(timeout=max(0.0, left))
            except queue.Empty:
                message = f"not seen in {timeout} s: {wanted!r}; got {self.text!r}"
                raise AssertionError(message) from None
            if chunk is None:
                self.finished.set()
                if not test(self.text):
                    raise AssertionError(f"stream ended without {wanted!r}; got {self.text!r}")
                break
            self.text += chunk.decode()
        return self.text

    def ends(self, timeout: float = WAIT) -> None:
        """Wait until the body is exhausted."""
        deadline = time.monotonic() + timeout
        while not self.finished.is_set():
            chunk = self._chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            if chunk is None:
                self.finished.set()
            else:
                self.text += chunk.decode()


def post_message(url: str, user: TestUser, text: str) -> dict[str, Any]:
    """Create a message as *user*, straight at PocketBase (its rules apply)."""
    response = httpx.post(
        f"{url}/api/collections/messages/records",
        json={"text": text, "user": user.id},
        headers={"Authorization": user.token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def wait_until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll *check* until it holds (a slot released on another thread, say)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def relay_streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Stream]]:
    """Every sync stream the relays open in the test; closed at its end.

    Closing one of them is what a WSGI server does when its client goes away, from
    any thread (the response wrapper around it can only be closed by its reader).
    """
    opened: list[Stream] = []
    original = Relay.open

    def recording(self: Relay, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if isinstance(result, Stream):
            opened.append(result)
        return result

    monkeypatch.setattr(Relay, "open", recording)
    yield opened
    close_all(opened)


def close_all(streams: list[Stream]) -> None:
    """Close *streams*, as the server does when their clients are gone."""
    while streams:
        streams.pop().close()
