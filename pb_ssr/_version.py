"""The package version (one place, read by pyproject)."""

__version__ = "0.1.0"
