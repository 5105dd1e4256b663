"""Record a real ComfyUI's ``object_info`` with one sentinel file per model folder.

``scripts/record_core_schemas.py`` turns the result into ``core/data/core_node_schemas.json``. The
server runs on loopback from a temporary ``--base-directory`` whose every model folder holds one
file ``mend-folder-<folder>.safetensors`` (``.yaml`` for configs), so each loader's combo names its
folder exactly; the checkout's own single-file nodes are linked in, as a stock install loads them.
The start-up log's ``IMPORT FAILED`` lines are printed: a core module that failed
to import (no torchaudio, say) is missing from the record, and the record must say so.

    python scripts/record_object_info.py /work/comfyui /work/comfyui/.venv/bin/python out.json
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LIST_FOLDERS = (
    "import json, folder_paths; print(json.dumps({k: [p for p in v[0]] for k, v in "
    "folder_paths.folder_names_and_paths.items() if k != 'custom_nodes'}))"
)


def model_folders(comfyui: Path, python: str) -> dict[str, list[str]]:
    """ComfyUI's own folder table (name -> default paths), asked from its interpreter."""
    out = subprocess.run([python, "-c", LIST_FOLDERS], cwd=comfyui, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def lay_sentinels(base: Path, comfyui: Path, folders: dict[str, list[str]]) -> None:
    for name, paths in folders.items():
        first = Path(paths[0])
        target = base / first.relative_to(comfyui) if first.is_relative_to(comfyui) else base / "models" / name
        target.mkdir(parents=True, exist_ok=True)
        (target / f"mend-folder-{name}.{'yaml' if name == 'configs' else 'safetensors'}").write_bytes(b"")
    for extra in ("custom_nodes", "user", "input", "output"):
        (base / extra).mkdir(exist_ok=True)
    # ComfyUI ships single-file nodes in its own custom_nodes (SaveImageWebsocket): a stock install has them
    for shipped in (comfyui / "custom_nodes").glob("*.py"):
        (base / "custom_nodes" / shipped.name).symlink_to(shipped)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(comfyui: Path, python: str, out: Path) -> None:
    folders = model_folders(comfyui, python)
    with tempfile.TemporaryDirectory(prefix="mend-record-") as tmp:
        base = Path(tmp)
        lay_sentinels(base, comfyui, folders)
        port = free_port()
        log_path = base / "comfyui.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
                 "--base-directory", str(base), "--disable-auto-launch"],
                cwd=comfyui, stdout=log, stderr=subprocess.STDOUT)
        try:
            info = _wait_for_object_info(port, proc)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        failed = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if "IMPORT FAILED" in line]
    out.write_text(json.dumps(info, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(info)} node types -> {out}")
    print("import failures:", *failed or ["none"], sep="\n  ")


def _wait_for_object_info(port: int, proc: subprocess.Popen, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ComfyUI exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/object_info", timeout=60) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(1)
    raise SystemExit("ComfyUI did not answer /object_info in time")


if __name__ == "__main__":
    record(Path(sys.argv[1]).resolve(), sys.argv[2], Path(sys.argv[3]))
