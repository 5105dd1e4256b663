"""Background tasks: the manager (ids, concurrency, retries, cancel), the journal, the runner's
context and the contract between the manager and the work it runs.

May import: the foundation and the stages before it (``workflow`` … ``decide``)."""
