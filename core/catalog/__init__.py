"""Where things can come from: ComfyUI-Manager's catalogs, the Comfy Registry, model sources.

May import: the foundation and ``workflow``.
"""
