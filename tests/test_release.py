"""Release metadata: what an index page and a downloader see must hold together."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pb_ssr

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_links_are_absolute_and_point_home() -> None:
    # The README is the long description on the package index, where relative links
    # (to bench/results/bench.png, to a test file) and #anchors break.
    urls = PYPROJECT["project"]["urls"]
    homes = tuple({urls["Source"], urls["Documentation"]})
    links = _LINK.findall((ROOT / "README.md").read_text())
    assert links
    for link in links:
        assert link.startswith("https://"), f"relative link in README.md: {link}"
        if "pocketbase.io" not in link:
            assert link.startswith(homes), link


def test_license_file_and_expression() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_project_urls() -> None:
    assert set(PYPROJECT["project"]["urls"]) >= {"Documentation", "Source", "Issues", "Changelog"}


def test_changelog_has_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{pb_ssr.__version__}] - " in changelog
    assert "## [Unreleased]" in changelog


def test_sdist_carries_what_the_tests_use() -> None:
    include = set(PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    # The tests import the example apps and run their migrations, the tutorial's code
    # and the docs' snippets.
    assert {"tests", "example_projects", "docs", "mkdocs.yml", "LICENSE"} <= include
