"""Installs use the pack's registry identity, pick registry or git (and say why), and say "offline" once.

Real HTTP throughout: the registry stand-in (ids differ from ComfyUI-Manager's), the git stand-in, the
task manager (so retries are counted), real folders and the real manifest.
"""

from __future__ import annotations

import json

import pytest

from mend.core.catalog.node_map import NodeMap
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore

from ..git_server import make_pack_repo, node_pack_files
from ..install_support import (  # noqa: F401 (shared fixtures)
    install,
    registry,
    registry_env,
    tree_state,
    unused_url,
    venv_python,
    wheelhouse,
)
from ..registry_server import zip_bytes

VHS_REPO = "https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite"


def manager_list() -> dict:
    """ComfyUI-Manager's ``custom-node-list.json`` as it is: its ``id`` is its own, not the registry's."""
    return {"custom_nodes": [
        {"id": "vhs", "title": "ComfyUI-VideoHelperSuite", "reference": VHS_REPO, "files": [VHS_REPO],
         "install_type": "git-clone"},
        {"id": "ipadapter", "title": "IPAdapter plus", "reference": "https://github.com/cubiq/ComfyUI_IPAdapter_plus",
         "files": ["https://github.com/cubiq/ComfyUI_IPAdapter_plus"], "install_type": "git-clone"},
    ]}


def test_manager_ids_are_not_registry_ids():
    nm = NodeMap.from_data({VHS_REPO: [["VHS_LoadVideo"], {"title_aux": "VHS"}]}, manager_list()["custom_nodes"])
    pack = nm.pack_by_url(VHS_REPO)
    assert pack.manager_id == "vhs" and pack.id is None  # nothing says what the registry calls it yet
    assert nm.pack_by_id("vhs") is None and nm.pack_by_manager_id("vhs") is pack
    joined = nm.attach_registry([
        {"id": "comfyui-videohelpersuite", "repository": VHS_REPO + ".git"},
        {"id": "registry-only", "repository": "https://github.com/z/registry-only", "name": "Registry only"},
    ])
    assert joined == 1
    assert pack.id == "comfyui-videohelpersuite" and pack.manager_id == "vhs"
    assert nm.pack_by_id("comfyui-videohelpersuite") is pack and nm.pack_by_registry_id("ComfyUI-VideoHelperSuite")
    assert pack.to_json()["cnr_id"] == "comfyui-videohelpersuite" and pack.to_json()["manager_id"] == "vhs"
    assert nm.pack_by_registry_id("registry-only").title == "Registry only"


def test_real_manager_catalog_never_gives_a_registry_id():
    from ..conftest import shared_path

    store = CatalogStore(catalog_dir=shared_path("catalog"), registry=RegistryClient(""))
    nm = store.node_map()
    assert not [p for p in nm.packs.values() if p.id]  # the registry's list is not there: no guessed ids
    for manager_id in ("vhs", "ipadapter", "essentials", "comfyroll"):
        pack = nm.pack_by_manager_id(manager_id)
        assert pack is not None and pack.id is None and nm.pack_by_id(manager_id) is None


async def test_registry_list_is_paged_once_and_cached(tmp_path, registry):
    for i in range(130):
        registry.publish(f"pack-{i:03d}", "1.0.0", repository=f"https://github.com/o/pack-{i:03d}")
    registry.publish("comfyui-videohelpersuite", "1.7.9", repository=VHS_REPO, supported_os=["Linux"])
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "custom-node-list.json").write_text(json.dumps(manager_list()))
    store = CatalogStore(catalog_dir=catalog, cache_dir=tmp_path / "cache", registry=RegistryClient(registry.base_url),
                         offline=False)
    assert await store.refresh() == ["registry-nodes.json"]
    assert [p for p in registry.requests if p == "/nodes"] == ["/nodes", "/nodes"]  # 131 packs, 100 a page
    pack = store.node_map().pack_by_manager_id("vhs")
    assert pack.id == "comfyui-videohelpersuite"
    assert pack.registry["latest_version"]["supported_os"] == ["Linux"]
    assert await store.refresh() == []  # fresh: no second paging


# -- installs through the task manager ---------------------------------------------------------------------
env = registry_env


async def test_auto_installs_the_registry_zip_by_registry_id(env):
    make_pack_repo(env.repos, "ComfyUI-VideoHelperSuite", [node_pack_files("VHS_LoadVideo")])
    env.registry.publish("comfyui-videohelpersuite", "1.7.9", node_pack_files("VHS_LoadVideo"))
    env.registry.publish("comfyui-videohelpersuite", "1.8.0", node_pack_files("VHS_LoadVideo"))
    done = await install(env, {"id": "comfyui-videohelpersuite", "repository": env.url("ComfyUI-VideoHelperSuite"),
                               "version": "1.7.9"})
    assert done.state == "completed", done.to_json()
    assert done.result["source"] == "registry" and done.result["version"] == "1.7.9"
    assert done.result["source_reason"].startswith("from the Comfy Registry: comfyui-videohelpersuite 1.7.9")
    assert (env.custom_nodes / "comfyui-videohelpersuite" / ".tracking").is_file()
    assert env.registry.install_calls == 0 and not any("vhs" in p.split("/") for p in env.registry.requests)
    assert env.mend.manifest.packs()["comfyui-videohelpersuite"]["source"] == "registry"


async def test_auto_installs_from_git_when_the_registry_lacks_the_pack(env):
    _, shas = make_pack_repo(env.repos, "ComfyUI-Gitonly", [node_pack_files("GitOnlyNode")])
    done = await install(env, {"id": "comfyui-gitonly", "repository": env.url("ComfyUI-Gitonly")})
    assert done.state == "completed", done.to_json()
    assert done.result["source"] == "git" and done.result["commit"] == shas[0]
    assert "the registry has no pack 'comfyui-gitonly'" in done.result["source_reason"]
    assert "default branch" in done.result["source_reason"]
    assert (env.custom_nodes / "ComfyUI-Gitonly" / ".git").is_dir()


async def test_a_workflow_commit_installs_from_git_at_that_commit(env):
    _, shas = make_pack_repo(env.repos, "ComfyUI-Pinned", [node_pack_files("P1"), node_pack_files("P2")])
    env.registry.publish("comfyui-pinned", "1.0.0", node_pack_files("P1"))
    done = await install(env, {"id": "comfyui-pinned", "repository": env.url("ComfyUI-Pinned"), "version": shas[0]})
    assert done.state == "completed", done.to_json()
    assert done.result["source"] == "git" and done.result["commit"] == shas[0]


async def test_registry_down_falls_back_to_git_with_one_clear_message(env):
    make_pack_repo(env.repos, "ComfyUI-Fallback", [node_pack_files("FallbackNode")])
    env.use_registry(unused_url())
    done = await install(env, {"id": "comfyui-fallback", "repository": env.url("ComfyUI-Fallback")})
    assert done.state == "completed", done.to_json()
    assert done.attempt == 1 and done.result["source"] == "git"
    assert done.result["source_reason"].startswith("from git: ")
    assert "cannot reach 127.0.0.1: are you offline?" in done.result["source_reason"]


@pytest.mark.parametrize(("fault", "code"), [("html", "registry_bad_answer"), (None, "registry_unreachable")])
async def test_registry_only_failures_are_named_once(env, fault, code):
    env.registry.publish("comfyui-x", "1.0.0", node_pack_files("X1"))
    env.registry.fault = fault
    if fault is None:
        env.use_registry(unused_url())
    before = tree_state(env.custom_nodes)
    done = await install(env, {"id": "comfyui-x"})
    assert done.state == "failed" and done.attempt == 1
    error = done.to_json()["error"]
    assert error["code"] == code and error["retryable"] is False
    if fault is None:
        assert error["message"] == "cannot reach 127.0.0.1: are you offline?"
    assert tree_state(env.custom_nodes) == before and env.mend.manifest.packs() == {}


async def test_registry_html_or_500_falls_back_to_git_for_auto(env):
    make_pack_repo(env.repos, "ComfyUI-Html", [node_pack_files("HtmlNode")])
    env.registry.publish("comfyui-html", "1.0.0", node_pack_files("HtmlNode"))
    for fault in ("html", "500"):
        env.registry.fault = fault
        done = await install(env, {"id": "comfyui-html", "repository": env.url("ComfyUI-Html")})
        assert done.state == "completed" and done.result["source"] == "git", done.to_json()
        assert "registry" in done.result["source_reason"]
        (env.custom_nodes / "ComfyUI-Html").rename(env.custom_nodes.parent / f"gone-{fault}")
        env.mend.manifest.forget_pack("comfyui-html")


@pytest.mark.parametrize(("setup", "body", "code"), [
    (lambda r: r.publish("no-url", "1.0.0", {"a.py": ""}, download_url=False), {"id": "no-url"}, "no_download_url"),
    (lambda r: r.publish("has-1", "1.0.0", {"a.py": ""}), {"id": "has-1", "version": "2.0.0"}, "version_not_found"),
    (lambda r: r.publish("escapes", "1.0.0", archive=zip_bytes({"../../escape.py": "x"})), {"id": "escapes"},
     "unsafe_archive"),
    (lambda r: None, {"id": "nowhere"}, "not_in_registry"),
])
async def test_bad_registry_answers_are_named_and_change_nothing(env, setup, body, code):
    setup(env.registry)

    def comfy_tree() -> dict:  # the task journal under user/ is Mend's own bookkeeping
        return {k: v for k, v in tree_state(env.custom_nodes.parent).items() if not k.startswith("user/")}

    before = comfy_tree()
    done = await install(env, body)
    assert done.state == "failed" and done.to_json()["error"]["code"] == code, done.to_json()
    assert comfy_tree() == before and env.mend.manifest.packs() == {}


async def test_an_unreachable_git_host_is_one_clear_message(env):
    env.use_registry("")
    runner = env.mend.extras["install_runner"]
    object.__setattr__(runner.policy, "git_hosts", frozenset({"mend-no-such-host.invalid"}))
    done = await install(env, {"repository": "https://mend-no-such-host.invalid/a/b"})
    assert done.state == "failed" and done.attempt == 1
    assert done.to_json()["error"]["code"] == "git_unreachable"
    assert done.to_json()["error"]["message"] == "cannot reach mend-no-such-host.invalid: are you offline?"
