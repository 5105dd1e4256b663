"""A saved workflow with five open questions (3 node types, 2 models, one inside a subgraph)."""

from __future__ import annotations

import json
from pathlib import Path

GRAPH_ID = "0b3c5a0e-1111-4222-8333-944445555666"
QUESTIONS = ["AlphaNode", "SharedNode", "Gen_Thing", "3/ckpt_name", "12:5/lora_name"]


def workflow_json() -> dict:
    return {
        "id": GRAPH_ID, "version": 0.4, "links": [],
        "nodes": [
            {"id": 1, "type": "AlphaNode", "widgets_values": []},  # auto: one exact pack
            {"id": 2, "type": "SharedNode"},  # ambiguous: Alpha or Copycat
            {"id": 3, "type": "CheckpointLoaderSimple", "widgets_values": ["sdxl.safetensors"]},  # auto: xl/
            {"id": 12, "type": "sg-1", "mode": 0},
            {"id": 6, "type": "Gen_Thing"},  # pattern only
        ],
        "definitions": {"subgraphs": [{"id": "sg-1", "links": [], "nodes": [
            {"id": 5, "type": "LoraLoader", "widgets_values": ["known.safetensors", 1.0, 1.0]},  # Manager's list
        ]}]},
    }


def saved_workflow(comfy_dir: Path, name: str = "w.json") -> Path:
    """Write the workflow into the user's workflows folder and the checkpoint it can resolve to."""
    (comfy_dir / "models" / "checkpoints" / "xl").mkdir(exist_ok=True)
    (comfy_dir / "models" / "checkpoints" / "xl" / "sdxl.safetensors").write_bytes(b"x" * 10)
    path = comfy_dir / "user" / "default" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(workflow_json(), indent=2) + "\n")
    return path
