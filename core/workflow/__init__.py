"""Reading a workflow: its nodes, flattened, and the model files its widgets name.

May import: only the foundation at the top of ``core/`` (errors, constants, files, host)."""
