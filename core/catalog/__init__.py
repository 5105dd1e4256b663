"""Where things can come from: ComfyUI-Manager's catalogs, the Comfy Registry, model sources."""
