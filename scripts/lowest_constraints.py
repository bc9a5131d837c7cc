"""Print pip constraints pinning every declared lower bound: ``name==lowest``.

``make test-lowest`` installs the project with these constraints in its own venv and
runs the suite, so a lower bound in ``pyproject.toml`` is a tested claim, not a guess
(Flask 3.0 once passed review and broke key rotation). Reads the core dependencies and
the ``django``, ``flask`` and ``server`` extras; the test tools float.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("django", "flask", "server")
_SPEC = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(?:>=|==)\s*([0-9][^,;\s]*)")


def constraints(pyproject: dict[str, object]) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    specs = list(project["dependencies"])
    for extra in EXTRAS:
        specs += project["optional-dependencies"][extra]
    pins = []
    for spec in specs:
        match = _SPEC.match(spec)
        if match:
            pins.append(f"{match.group(1).lower()}=={match.group(2)}")
    return sorted(pins)


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    print("\n".join(constraints(pyproject)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
