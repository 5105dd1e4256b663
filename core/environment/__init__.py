"""The whole environment: freeze it to a manifest, sync a ComfyUI to one, the shared model cache.

May import: the foundation and every stage before it."""
