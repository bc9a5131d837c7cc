# Generated from pb_ssr/_async/__init__.py by scripts/unasync.py: do not edit.
# Edit the async source and run `make unasync`.
"""Generated sync services by ``scripts/unasync.py``."""
