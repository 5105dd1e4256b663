"""Shared fixtures: a real ComfyUI-like directory tree, the shared corpus, a Mend over both."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend

REPO = Path(__file__).resolve().parent.parent
#: ../shared beside the checkout (a worktree one level deeper finds it beside its parent); MEND_SHARED_DIR wins
SHARED = Path(os.environ.get("MEND_SHARED_DIR") or next(
    (d for d in (REPO.parent / "shared", REPO.parent.parent / "shared") if d.is_dir()), REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test (shared/ is not part of the product)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared corpus beside the checkout")
    return path


@pytest.fixture
def comfy_dir(tmp_path: Path) -> Path:
    """A ComfyUI directory as it lies on disk: models/<folder>/..., custom_nodes/, user/."""
    root = tmp_path / "ComfyUI"
    for sub in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision", "controlnet",
                "upscale_models", "embeddings", "configs"):
        (root / "models" / sub).mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    (root / "user" / "default").mkdir(parents=True)
    return root


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    """A tiny catalog written here, for tests that must not depend on ../shared."""
    d = tmp_path / "catalog"
    d.mkdir()
    (d / "extension-node-map.json").write_text(json.dumps({
        "https://github.com/comfyanonymous/ComfyUI": [["KSampler", "CheckpointLoaderSimple"], {"title_aux": "ComfyUI"}],
        "https://github.com/alice/ComfyUI-Alpha": [["AlphaNode", "SharedNode", "AlphaOther"], {"title_aux": "Alpha"}],
        "https://github.com/bob/copycat": [["SharedNode"], {"title_aux": "Copycat"}],
        "https://github.com/carol/gen": [[], {"title_aux": "Gen", "nodename_pattern": "^Gen_"}],
        "https://github.com/dave/owner": [["Claimed"], {"title_aux": "Owner", "preemptions": ["Claimed"]}],
        "https://github.com/eve/other": [["Claimed"], {"title_aux": "Other"}],
    }))
    (d / "custom-node-list.json").write_text(json.dumps({"custom_nodes": [
        {"author": "alice", "title": "Alpha", "id": "alpha", "reference": "https://github.com/alice/ComfyUI-Alpha",
         "files": ["https://github.com/alice/ComfyUI-Alpha"], "install_type": "git-clone"},
        {"author": "bob", "title": "Copycat", "reference": "https://github.com/bob/copycat",
         "files": ["https://github.com/bob/copycat"], "install_type": "git-clone"},
    ]}))
    (d / "github-stats.json").write_text(json.dumps({
        "https://github.com/alice/ComfyUI-Alpha": {"stars": 10},
        "https://github.com/bob/copycat": {"stars": 500},
    }))
    # the Comfy Registry's own list (core/catalog/registry_index.py): Alpha's registry id is not Manager's "alpha"
    (d / "registry-nodes.json").write_text(json.dumps({"nodes": [
        {"id": "comfyui-alpha", "name": "Alpha", "repository": "https://github.com/alice/ComfyUI-Alpha"},
    ]}))
    (d / "model-list.json").write_text(json.dumps({"models": [
        {"name": "Known LoRA", "type": "lora", "base": "SDXL", "save_path": "default", "filename": "known.safetensors",
         "url": "https://huggingface.co/acme/loras/resolve/main/known.safetensors", "size": "10MB"},
    ]}))
    return d


@pytest.fixture
def mend_for(tmp_path: Path):
    """Build a ``Mend`` over a directory tree and a catalog folder, with no network."""

    def build(comfyui: Path, catalog_dir: Path, **host_kwargs) -> Mend:
        host = StandaloneHost(comfyui, **host_kwargs)
        catalogs = CatalogStore(catalog_dir=catalog_dir, cache_dir=tmp_path / "cache", registry=RegistryClient(""))
        return Mend.create(host, catalogs=catalogs, registry=RegistryClient(""), cache_dir=tmp_path / "cache")

    return build


@pytest.fixture
async def links(aiohttp_server):
    """A loopback link server with one path per probe outcome (``tests/link_server.py``)."""
    from .link_server import LinkHost

    host = LinkHost()
    server = await aiohttp_server(host.app())
    host.base = str(server.make_url("")).rstrip("/")
    return host
