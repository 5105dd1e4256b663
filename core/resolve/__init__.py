"""What a workflow is missing and where each missing thing can come from, ranked; one workflow's
analysis with its past decisions.

May import: the foundation, ``workflow`` and ``catalog``."""
