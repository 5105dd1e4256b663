"""Regenerate ``core/data/core_node_schemas.json`` from a recorded ``object_info``.

The CLI runs without a ComfyUI server, so it needs the core node types' widget order and model
inputs from somewhere: this file is derived from a real server's ``object_info`` recorded with one
sentinel file per model folder (see ``node_schema``, ``scripts/record_object_info.py``), never
written by hand. The optional second argument says how it was recorded (it becomes ``source``): a
record from a ComfyUI whose modules failed to import lacks their node types, and must say so.

    python scripts/record_object_info.py /work/comfyui /work/comfyui/.venv/bin/python oi.json
    python scripts/record_core_schemas.py oi.json "ComfyUI 0.8.0 with torchaudio, all modules loaded"
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mend.core.node_schema import schemas_from_object_info

OUT = Path(__file__).resolve().parent.parent / "core" / "data" / "core_node_schemas.json"


def main(path: str, how: str | None = None) -> None:
    schemas = schemas_from_object_info(json.loads(Path(path).read_text(encoding="utf-8")))
    data = {t: s.to_json() for t, s in sorted(schemas.items())}
    source = f"{Path(path).name}: {how}" if how else Path(path).name
    OUT.write_text(json.dumps({"source": source, "schemas": data}, separators=(",", ":")), encoding="utf-8")
    print(f"{len(data)} node types, {sum(bool(s.model_inputs) for s in schemas.values())} loaders -> {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
