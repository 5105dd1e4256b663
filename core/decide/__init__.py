"""Decisions: the answer to one question, applied and persisted at once — the decision log, the
manifest (``pyproject.toml``) and its rendering, and the workflow file's rewrite.

May import: the foundation, ``workflow``, ``catalog`` and ``resolve``."""
