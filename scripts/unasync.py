"""Generate pb_ssr/_sync/ from pb_ssr/_async/ (httpcore's approach).

The async services are the source of truth; their sync twins are produced by
plain token rewrites. ``--check`` fails when a generated file is stale (CI).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "pb_ssr" / "_async"
DST = ROOT / "pb_ssr" / "_sync"

SUBS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\basync_pool\b", "sync_pool"),
    (r"\b_async\b", "_sync"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\basyncio\b", "threading"),
    (r" \(await it on the\n(\s+)async client\)", ""),
    (r"The async services; ``pb_ssr/_sync`` is generated from here", "Generated sync services"),
]
COMPILED = [(re.compile(pattern), repl) for pattern, repl in SUBS]


def transform(text: str, name: str) -> str:
    for pattern, repl in COMPILED:
        text = pattern.sub(repl, text)
    header = (
        f"# Generated from pb_ssr/_async/{name} by scripts/unasync.py: do not edit.\n"
        "# Edit the async source and run `make unasync`.\n"
    )
    return header + text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    DST.mkdir(exist_ok=True)
    for src in sorted(SRC.glob("*.py")):
        out = transform(src.read_text(), src.name)
        dst = DST / src.name
        if dst.exists() and dst.read_text() == out:
            continue
        if check:
            stale.append(str(dst.relative_to(ROOT)))
        else:
            dst.write_text(out)
            print(f"wrote {dst.relative_to(ROOT)}")
    if stale:
        print("Stale generated files (run `make unasync`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
