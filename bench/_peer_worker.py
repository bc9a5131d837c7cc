"""Times the PyPI ``pocketbase`` SDK (vaphes/pocketbase) on command; runs in its own venv.

Started by ``bench/_peers.py`` with the throwaway venv's Python (``bench/.peers-venv``),
never with the project's: the SDK's import name ``pocketbase`` must not reach the
project environment. It reads one JSON command per line on stdin and answers one
JSON line on stdout:

- ``{"cmd": "setup", "url": ..., "token": ...}`` -> ``{"ok": true, "versions": {...}}``
- ``{"cmd": "run", "case": NAME}`` -> ``{"seconds": S}``: the case run once, timed
  here with ``time.perf_counter`` around the operation alone, so the pipe between
  the processes is not in the figure.

The cases mirror ``bench/client_overhead.py`` (one authenticated list of 10 records):

- ``sdk_per_request``: ``PocketBase(url)`` built per request with the token saved in
  its auth store, then ``collection("messages").get_list(1, 10)``: what the SDK's
  README and most tutorials do in a view. The SDK builds a new ``httpx.Client`` in
  its constructor (and has no way to pass a shared one in).
- ``sdk_shared_header``: one ``PocketBase(url)`` for the process, the user's token
  passed per call as an ``Authorization`` header. ``get_list`` takes no headers, so
  the case calls ``client.send`` with the list's path and query and decodes the
  items into the SDK's ``Record`` models exactly as ``get_list`` does.
- ``httpx_pooled``: the floor (pooled ``httpx.Client`` + token header + ``.json()``)
  in this process, to show both processes time the same work alike.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import httpx
from pocketbase import PocketBase
from pocketbase.models.list_result import ListResult

PATH = "/api/collections/messages/records"


def build_cases(url: str, token: str) -> dict[str, Callable[[], None]]:
    shared = PocketBase(url)
    floor = httpx.Client(trust_env=False)
    headers = {"Authorization": token}

    def sdk_per_request() -> None:
        pb = PocketBase(url)
        pb.auth_store.save(token, None)
        result = pb.collection("messages").get_list(1, 10)
        assert len(result.items) == 10

    def sdk_shared_header() -> None:
        service = shared.collection("messages")
        data = shared.send(
            service.base_crud_path(),
            {"method": "GET", "params": {"page": 1, "perPage": 10}, "headers": dict(headers)},
        )
        items = [service.decode(item) for item in data.get("items") or []]
        result = ListResult(
            data.get("page", 1),
            data.get("perPage", 0),
            data.get("totalItems", 0),
            data.get("totalPages", 0),
            items,
        )
        assert len(result.items) == 10

    def httpx_pooled() -> None:
        r = floor.get(url + PATH, params={"page": "1", "perPage": "10"}, headers=headers)
        assert len(r.json()["items"]) == 10

    return {
        "sdk_per_request": sdk_per_request,
        "sdk_shared_header": sdk_shared_header,
        "httpx_pooled": httpx_pooled,
    }


def main() -> None:
    cases: dict[str, Callable[[], None]] = {}
    for line in sys.stdin:
        command: dict[str, Any] = json.loads(line)
        if command["cmd"] == "setup":
            cases = build_cases(command["url"], command["token"])
            versions = {p: version(p) for p in ("pocketbase", "httpx")}
            answer: dict[str, Any] = {"ok": True, "versions": versions}
        elif command["cmd"] == "run":
            fn = cases[command["case"]]
            start = time.perf_counter()
            fn()
            answer = {"seconds": time.perf_counter() - start}
        else:
            answer = {"error": f"unknown command {command['cmd']!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
