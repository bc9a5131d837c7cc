"""``make dist``: build the release files and prove they work before anyone uploads them.

1. ``python -m build``: the sdist and the wheel, into ``dist/``.
2. ``twine check --strict``: the metadata and the long description render on an index.
3. The wheel, with the django and flask extras, in a fresh venv: every package
   imports, the version matches, the templates and the pytest plugin are there, and
   ``pb-ssr --help`` runs.
4. The unpacked sdist: the tests that need the example apps and their migrations run
   from it, with the code it contains.

Exits non-zero on the first failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
#: Tests run from the unpacked sdist: the ones using files outside the packages.
SDIST_TESTS = ["tests/core/test_package.py", "tests/core/test_cli.py", "tests/examples"]

SMOKE = """
import importlib.metadata as md, pathlib, sys
import pb_ssr, pb_ssr_django, pb_ssr_flask, pb_ssr.testing
assert pb_ssr.__version__ == md.version("pb-ssr") == sys.argv[1], pb_ssr.__version__
for pkg in (pb_ssr_django, pb_ssr_flask):
    assert (pathlib.Path(pkg.__file__).parent / "templates/pb_ssr/login.html").is_file()
assert (pathlib.Path(pb_ssr.__file__).parent / "py.typed").is_file()
eps = md.entry_points(group="pytest11")
assert any(ep.value == "pb_ssr.testing.plugin" for ep in eps), list(eps)
print("wheel smoke test ok:", pb_ssr.__file__)
"""


def run(*cmd: str | Path, cwd: Path = ROOT) -> str:
    print("+", " ".join(map(str, cmd)), flush=True)
    out = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


def version() -> str:
    text = (ROOT / "pb_ssr" / "_version.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', text)
    assert match, text
    return match.group(1)


def main() -> int:
    shutil.rmtree(DIST, ignore_errors=True)
    run(sys.executable, "-m", "build", "--outdir", DIST)
    wheel = next(DIST.glob("*.whl"))
    sdist = next(DIST.glob("*.tar.gz"))
    print(run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist))

    with tempfile.TemporaryDirectory(prefix="pb-ssr-dist-") as tmp:
        venv = Path(tmp) / "venv"
        run(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", f"{wheel}[django,flask]")
        # Outside the checkout, so nothing is imported from it by accident.
        print(run(python, "-c", SMOKE, version(), cwd=Path(tmp)), end="")
        print(run(venv / "bin" / "pb-ssr", "--help").splitlines()[0])

        with tarfile.open(sdist) as archive:
            archive.extractall(tmp, filter="data")
        unpacked = Path(tmp) / sdist.name.removesuffix(".tar.gz")
        where = run(sys.executable, "-c", "import pb_ssr; print(pb_ssr.__file__)", cwd=unpacked)
        assert where.startswith(str(unpacked)), f"tests would import {where} instead"
        print(f"running {' '.join(SDIST_TESTS)} from the unpacked sdist", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_TESTS],
            cwd=unpacked,
            check=True,
        )
    print(f"dist ok: {wheel.name}, {sdist.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
