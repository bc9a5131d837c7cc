"""A/B: building a list page's records, this tree's ``pb_ssr/_records.py`` against a git revision's.

The page is the chat page's list answer (50 messages, each with ``expand.user``: 100
records), decoded once; each side builds ``ListResult.from_json`` from it in
interleaved batches (order alternating), and the medians of the batch means are
compared. Not a ``make bench`` section: a tool to decide on a change to record building.

Run: ``.venv/bin/python bench/ab_records.py [--against REV] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from pb_ssr import _records

ROOT = Path(__file__).resolve().parent.parent


def chat_page(messages: int = 50, users: int = 5) -> dict[str, Any]:
    """A list answer shaped like PocketBase's for ``messages?expand=user``."""
    items = [
        {
            "collectionId": "pbc_2605467279",
            "collectionName": "messages",
            "created": "2026-11-27 15:00:00.000Z",
            "expand": {
                "user": {
                    "avatar": "",
                    "collectionId": "_pb_users_auth_",
                    "collectionName": "users",
                    "created": "2026-11-27 14:00:00.000Z",
                    "emailVisibility": False,
                    "id": f"u{i % users:014d}",
                    "name": f"User {i % users}",
                    "updated": "2026-11-27 14:00:00.000Z",
                    "verified": True,
                }
            },
            "id": f"m{i:014d}",
            "text": f"Message {i}: the quick brown fox jumps over the lazy dog.",
            "updated": "2026-11-27 15:00:00.000Z",
            "user": f"u{i % users:014d}",
        }
        for i in range(messages)
    ]
    page = {"items": items, "page": 1, "perPage": messages, "totalItems": 200, "totalPages": 4}
    decoded: dict[str, Any] = json.loads(json.dumps(page))
    return decoded


def load_revision(rev: str) -> types.ModuleType:
    """``pb_ssr/_records.py`` as it was at *rev*, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:pb_ssr/_records.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = "records_at_" + "".join(c if c.isalnum() else "_" for c in rev)
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    old = load_revision(args.against)
    data = chat_page()
    sides = {args.against: old.ListResult.from_json, "this tree": _records.ListResult.from_json}
    assert sides[args.against](data).items == sides["this tree"](data).items
    means: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            build = sides[name]
            start = time.perf_counter()
            for _ in range(args.batch):
                build(data)
            means[name].append((time.perf_counter() - start) / args.batch)
    med = {name: statistics.median(v) * 1e6 for name, v in means.items()}
    a, b = med[args.against], med["this tree"]
    print(
        f"ListResult.from_json, 50 messages + 50 expanded users: {args.against} {a:.1f} us, "
        f"this tree {b:.1f} us ({b / a:.2f}x; median of {args.rounds} interleaved batches)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
