"""Package-level contracts: the public surface, no framework in the core, generated code fresh."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pb_ssr

ROOT = Path(__file__).resolve().parents[2]


def test_exported_members() -> None:
    # pytest rewrites plugin packages and adds "@py_builtins"-style names.
    exported = {
        name
        for name in dir(pb_ssr)
        if name[0] not in "_@" and not isinstance(getattr(pb_ssr, name), types.ModuleType)
    }
    expected = set(pb_ssr.__all__)
    assert pb_ssr.__all__ == sorted(pb_ssr.__all__, key=lambda n: (not n.isupper(), n))
    # Every public attribute is listed, and every listed name exists.
    # Public submodules (pb_ssr.testing, pb_ssr.messages, pb_ssr.cli) are not names.
    assert exported - {"annotations"} == expected


def test_core_imports_without_django_or_flask() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('django', 'flask', 'werkzeug'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pb_ssr, pb_ssr.testing\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "ok"


def test_generated_sync_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_py_typed_is_shipped() -> None:
    for package in ("pb_ssr", "pb_ssr_django", "pb_ssr_flask"):
        assert (ROOT / package / "py.typed").exists()
