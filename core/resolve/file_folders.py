"""One file, one folder: settle each reference's folder against Manager's list and the file's other references.

Two steps after ``model_refs`` (which knows only the workflow and the schemas):

1. A folder that is only a hint or a guess (``node_hint``, ``guess``, ``unknown``) gives way to Manager's
   model list when it names the file with one folder (``save_path``/``type``): ``model_list``.
2. References naming the same relative file take the folder of the strongest evidence among them
   (``FOLDER_SOURCES`` order), so a LoRA named by ``LoraLoader`` (schema: ``loras``) and by an unknown
   pack node (guess: ``?``) is one row, one question, one download. Two references whose schemas name
   different folders stay two files: they are.

    >>> from ..workflow.model_refs import ModelRef
    >>> refs = [ModelRef("1", "LoraLoader", "a/x.safetensors", "loras"),
    ...         ModelRef("2", "Custom", "a\\\\x.safetensors", None, folder_source="unknown")]
    >>> [(r.folder, r.folder_source) for r in settle_folders(refs, None)]
    [('loras', 'schema'), ('loras', 'schema')]
    >>> refs = [ModelRef("3", "PrimitiveNode", "w.gguf", "diffusion_models", folder_source="guess"),
    ...         ModelRef("4", "WanVideoModelLoader", "w.gguf", "diffusion_models", folder_source="loader_table")]
    >>> [r.folder_source for r in settle_folders(refs, None)]  # a guess that agrees is no longer a guess
    ['loader_table', 'loader_table']
"""

from __future__ import annotations

from dataclasses import replace

from ..catalog.model_list import ModelList
from ..workflow.model_refs import FOLDER_SOURCES, ModelRef
from .models import normalise_value

_RANK = {source: rank for rank, source in enumerate(FOLDER_SOURCES)}
_WEAK = frozenset({"node_hint", "guess", "unknown"})


def settle_folders(refs: list[ModelRef], model_list: ModelList | None) -> list[ModelRef]:
    """``refs`` with weak folders replaced by the model list's or by the same file's strongest reference."""
    if model_list is not None:
        refs = [_from_model_list(r, model_list) if r.folder_source in _WEAK else r for r in refs]
    best: dict[str, ModelRef] = {}
    for ref in refs:
        key = normalise_value(ref.value)
        if key not in best or _rank(ref) < _rank(best[key]):
            best[key] = ref
    out = []
    for ref in refs:
        strongest = best[normalise_value(ref.value)]
        if _rank(ref) > _rank(strongest):  # the same folder too: it is then as known as the strongest says
            ref = replace(ref, folder=strongest.folder, folder_source=strongest.folder_source)
        out.append(ref)
    return out


def _rank(ref: ModelRef) -> int:
    return _RANK.get(ref.folder_source, len(_RANK))


def _from_model_list(ref: ModelRef, model_list: ModelList) -> ModelRef:
    folders = {k.folder for k in model_list.find(ref.value) if k.folder}
    if len(folders) != 1:
        return ref
    return replace(ref, folder=folders.pop(), folder_source="model_list")
