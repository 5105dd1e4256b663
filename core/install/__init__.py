"""Node-pack installs: the request, the policy, the registry and git sources, pip, staging, restart.

May import: the foundation and the stages before it."""
