"""The async services; ``pb_ssr/_sync`` is generated from here by ``scripts/unasync.py``."""
