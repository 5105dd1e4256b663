"""*Model Info*: what a model file holds, read from its safetensors header, and its (cached) sha256.

The header is read and checked by ``core.safetensors_header`` (standard library only, no tensor is
loaded, neither numpy nor torch is needed); the sha256 comes from Mend's ``HashCache``, so a file is hashed once per
version. Loading the tensors with torch (to prove every byte is readable and count NaN/Inf values)
happens only when the ``load_tensors`` input asks for it, one tensor at a time so memory stays flat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.catalog.hashing import HashCache
from ..core.download.safetensors_header import InvalidSafetensors
from ..core.download.safetensors_header import read_header as read_safetensors_header
from ..core.host import canonical_folder
from ..core.progress_text import send_text
from ._runtime import CATEGORY, current_mend, file_fingerprint, find_model, model_folder_names

SAFETENSORS_EXTENSIONS = (".safetensors", ".sft")


@dataclass
class ModelReport:
    path: Path
    size: int
    sha256: str
    tensor_count: int = 0
    parameter_count: int = 0
    dtypes: dict[str, int] = field(default_factory=dict)  # dtype -> number of tensors
    metadata: dict[str, str] = field(default_factory=dict)  # the header's ``__metadata__``
    is_safetensors: bool = False
    loaded: dict[str, Any] | None = None  # what loading with torch found, when asked

    def summary(self) -> str:
        lines = [f"file: {self.path.name}", f"size: {self.size:,} bytes", f"sha256: {self.sha256}"]
        if self.is_safetensors:
            dtypes = ", ".join(f"{d}×{n}" for d, n in sorted(self.dtypes.items()))
            lines += [f"tensors: {self.tensor_count:,} ({dtypes or 'none'})",
                      f"parameters: {self.parameter_count:,} ({human_count(self.parameter_count)})",
                      f"metadata keys: {', '.join(sorted(self.metadata)) or 'none'}"]
        else:
            lines.append("no safetensors header (not a .safetensors file)")
        if self.loaded is not None:
            lines.append(f"loaded with torch: {self.loaded['tensors']:,} tensors, "
                         f"{self.loaded['bytes']:,} bytes, {self.loaded['non_finite_tensors']} with NaN/Inf")
        return "\n".join(lines)


def human_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def read_header(path: Path) -> tuple[int, int, dict[str, int], dict[str, str]]:
    """(tensor count, parameter count, tensors per dtype, metadata) from the header alone."""
    header = read_safetensors_header(path)
    return len(header.tensors), header.parameter_count, header.dtype_counts(), header.metadata


def load_with_torch(path: Path) -> dict[str, Any]:
    """Load every tensor with torch, one at a time; count bytes and tensors holding NaN or Inf."""
    import torch
    from safetensors import safe_open

    count = size = non_finite = 0
    with safe_open(str(path), framework="pt", device="cpu") as f:
        names = f.keys()  # safe_open is not iterable
        for key in names:
            tensor = f.get_tensor(key)
            count += 1
            size += tensor.numel() * tensor.element_size()
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                non_finite += 1
            del tensor
    return {"tensors": count, "bytes": size, "non_finite_tensors": non_finite}


def describe_model(path: Path, hashes: HashCache, *, load_tensors: bool = False) -> ModelReport:
    """Everything Model Info reports about one file (blocking: run it off the event loop)."""
    report = ModelReport(path=path, size=path.stat().st_size, sha256=hashes.digest(path))
    if path.suffix.lower() in SAFETENSORS_EXTENSIONS:
        try:
            count, params, dtypes, metadata = read_header(path)
        except (InvalidSafetensors, OSError) as exc:  # say what is wrong with which file
            raise ValueError(f"{path.name} has no valid safetensors header: {exc}") from exc
        report.is_safetensors = True
        report.tensor_count, report.parameter_count, report.dtypes, report.metadata = count, params, dtypes, metadata
        if load_tensors:
            report.loaded = load_with_torch(path)
    elif load_tensors:
        raise ValueError(f"{path.name}: only .safetensors files are loaded (pickle formats can run code)")
    return report


class MendModelInfo:
    """Model Info (Mend): a model file's safetensors header (tensors, dtypes, parameters, metadata) and sha256.

    Reads only the header unless ``load_tensors`` is on; the sha256 is cached by (path, size, mtime),
    so running it again on an unchanged file costs nothing.
    """

    DESCRIPTION = ("Shows what a model file holds without loading it: tensor count, dtypes, parameter "
                   "count and the metadata embedded in its safetensors header, plus its sha256 (cached). "
                   "Turn on load_tensors to load every tensor with torch and check for NaN/Inf.")
    CATEGORY = CATEGORY
    FUNCTION = "inspect"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING", "STRING", "STRING", "INT", "INT")
    RETURN_NAMES = ("summary", "sha256", "metadata_json", "tensor_count", "parameter_count")
    OUTPUT_TOOLTIPS = (
        "a readable summary of the file",
        "the file's sha256 (hex)",
        "the safetensors header's __metadata__ as JSON ({} when there is none)",
        "number of tensors in the file",
        "total number of parameters (elements of all tensors)",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {
            "required": {
                "folder": (model_folder_names(), {"default": "checkpoints",
                                                  "tooltip": "the model folder the file is in"}),
                "file_name": ("STRING", {"default": "", "tooltip": "the file's path inside that folder, as a "
                                         "loader lists it (connect Ensure Model's file_name here)"}),
                "load_tensors": ("BOOLEAN", {"default": False, "tooltip": "also load every tensor with torch "
                                             "(slow, uses memory) to check that all are readable and finite"}),
            }
        }

    @classmethod
    def IS_CHANGED(cls, folder: str, file_name: str, load_tensors: bool = False) -> str:
        try:
            path = find_model(current_mend().host.model_folders(), canonical_folder(folder), file_name)
        except Exception:  # let execution report the problem
            return "unknown"
        return f"{file_fingerprint(path)}:{load_tensors}"

    def inspect(self, folder: str, file_name: str, load_tensors: bool = False) -> dict:
        mend = current_mend()
        path = find_model(mend.host.model_folders(), canonical_folder(folder), file_name)
        if path is None:
            raise FileNotFoundError(f"{file_name} is not in the {folder} folder")
        if mend.hashes.cached(path) is None:
            send_text(f"hashing {path.name}…")
        report = describe_model(path, mend.hashes, load_tensors=load_tensors)
        summary = report.summary()
        send_text(summary)
        metadata = json.dumps(report.metadata, ensure_ascii=False, sort_keys=True)
        return {"ui": {"text": [summary]},
                "result": (summary, report.sha256, metadata, report.tensor_count, report.parameter_count)}
