"""Mend's engine: pure Python, imports nothing from ComfyUI (the host adapter is the one boundary)."""
