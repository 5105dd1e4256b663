"""Model sources: Hugging Face search and confirmation, pasted URLs (HF, Civitai, GitHub), the routes.

Everything runs against loopback servers: ``tests/hf_server.py`` speaks the hub's API (``HfApi`` is
pointed at it through its endpoint), a tiny Civitai API is defined here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from mend.core.catalog.huggingface import GatedFile, HuggingFaceSource, LookupFailed, parse_hf_url, search_words
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.catalog.url_sources import resolve_url
from mend.core.errors import GatedModel, HostNotAllowed, InvalidField, NotFound
from mend.server_routes import setup

from ..hf_server import FakeHub, safetensors_bytes, served_hub


@pytest.fixture
async def hub(aiohttp_server):
    return await served_hub(aiohttp_server)


def policy_for(endpoint: str, **kwargs) -> DownloadPolicy:
    return DownloadPolicy(hf_endpoint=endpoint, allow_http_loopback=True, **kwargs)


def test_search_words_drop_precision_noise() -> None:
    assert search_words("wan2.2_fun_inpaint_5B_bf16.safetensors") == ["wan2.2 fun inpaint", "wan2.2"]
    assert search_words("split/ae.safetensors") == ["ae"]


def test_parse_hf_url_forms() -> None:
    got = parse_hf_url("https://huggingface.co/a/b/resolve/main/x%20y.safetensors")
    assert got == ("a/b", "main", "x y.safetensors")
    assert parse_hf_url("https://huggingface.co/a/b") is None
    assert parse_hf_url("https://example.com/a/b/resolve/main/x.safetensors") is None


async def test_search_ranks_exact_name_then_workflow_repo_then_downloads(hub: FakeHub) -> None:
    data = safetensors_bytes(16)
    hub.add_file("popular/flux-vae", "ae.safetensors", data, downloads=900)
    hub.add_file("other/ae-mix", "vae/ae.safetensors", data, downloads=50)
    hub.add_file("named/flux-dev", "split/ae.safetensors", data, downloads=10)
    hub.add_file("case/flux-ae", "AE.safetensors", data, downloads=5000)
    hub.add_file("unrelated/flux-x", "other.safetensors", data, downloads=10_000)
    source = HuggingFaceSource(hub.endpoint)
    hits = await source.asearch("ae.safetensors", repos=["named/flux-dev"], authors=["named"])
    assert [h.repo_id for h in hits] == ["named/flux-dev", "popular/flux-vae", "other/ae-mix", "case/flux-ae"]
    assert hits[0].sha256 and hits[0].size == len(data) and hits[0].path == "split/ae.safetensors"
    assert hits[0].url == "https://huggingface.co/named/flux-dev/resolve/main/split/ae.safetensors"


async def test_search_results_and_misses_are_cached(hub: FakeHub) -> None:
    hub.add_file("acme/thing", "thing.safetensors", b"x", lfs=False, downloads=1)
    source = HuggingFaceSource(hub.endpoint)
    assert len(await source.asearch("thing.safetensors")) == 1
    calls = source.calls
    assert len(await source.asearch("thing.safetensors")) == 1
    assert source.calls == calls
    assert await source.asearch("nothing_here.safetensors") == []
    calls = source.calls
    assert await source.asearch("nothing_here.safetensors") == []
    assert source.calls == calls  # a miss is cached too, briefly


async def test_failed_lookup_is_an_error_not_a_miss(aiohttp_server) -> None:
    async def broken(request):
        return web.json_response({"error": "bad request"}, status=400)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", broken)
    server = await aiohttp_server(app)
    source = HuggingFaceSource(str(server.make_url("")).rstrip("/"))
    with pytest.raises(LookupFailed):
        await source.asearch("thing.safetensors")
    with pytest.raises(LookupFailed):  # and it was not cached as "nothing found"
        await source.asearch("thing.safetensors")


async def test_gated_file_needs_the_token(hub: FakeHub, monkeypatch) -> None:
    hub.add_file("acme/gated", "g.safetensors", b"x", gated_token="hf_abc")
    with pytest.raises(GatedFile):  # there, behind a licence: not the same as "gone"
        await HuggingFaceSource(hub.endpoint, token=False).afile_info("acme/gated", "g.safetensors")
    found = await HuggingFaceSource(hub.endpoint, token="hf_abc").afile_info("acme/gated", "g.safetensors")
    assert found is not None and found.sha256


async def test_a_gated_link_says_so_before_any_byte_and_is_never_certain(hub: FakeHub) -> None:
    from mend.core.resolve.model_search import Hints, search_model
    from mend.core.resolve.models import MissingModel, ModelCandidate
    from mend.core.workflow.model_refs import ModelRef

    hub.add_file("acme/gated", "g.safetensors", safetensors_bytes(8), gated_token="hf_abc")
    url = "https://huggingface.co/acme/gated/resolve/main/g.safetensors"
    with pytest.raises(GatedModel, match="accept its licence") as caught:
        await resolve_url(url, policy_for(hub.endpoint), hf=HuggingFaceSource(hub.endpoint, token=False))
    assert caught.value.status == 403 and caught.value.code == "gated"
    assert not any("/resolve/" in path for _, path, *_ in hub.requests)  # asked with paths-info, nothing fetched

    model = MissingModel(ModelRef("4", "LoraLoader", "g.safetensors", "loras", "lora_name"),
                         [ModelCandidate("download", "workflow_metadata", "loras", "g.safetensors", url=url)])
    assert model.auto
    await search_model(model, HuggingFaceSource(hub.endpoint, token=False), Hints())
    assert model.candidates[0].reason == "gated" and model.candidates[0].details["gated"] is True
    assert not model.auto  # a gated link is not "certain"


async def test_resolve_hf_blob_url_confirms_the_file(hub: FakeHub) -> None:
    entry = hub.add_file("acme/models", "dir/x.safetensors", safetensors_bytes(8))
    got = await resolve_url("https://huggingface.co/acme/models/blob/main/dir/x.safetensors", policy_for(hub.endpoint),
                            hf=HuggingFaceSource(hub.endpoint))
    assert (got.url, got.filename, got.sha256, got.size) == (
        "https://huggingface.co/acme/models/resolve/main/dir/x.safetensors", "x.safetensors", entry.sha256, entry.size)
    with pytest.raises(NotFound):
        await resolve_url("https://huggingface.co/acme/models/blob/main/nope.safetensors", policy_for(hub.endpoint),
                          hf=HuggingFaceSource(hub.endpoint))


@pytest.fixture
async def civitai(aiohttp_server):
    seen: list[str | None] = []
    version = {"id": 22, "name": "v2", "baseModel": "SDXL", "files": [
        {"name": "extra.yaml", "downloadUrl": "https://civitai.com/api/download/models/22?type=Config"},
        {"name": "style_lora.safetensors", "primary": True, "type": "Model",
         "downloadUrl": "https://civitai.com/api/download/models/22", "hashes": {"SHA256": "AB" * 32}},
    ]}

    async def model(request):
        seen.append(request.headers.get("Authorization"))
        if request.match_info["id"] != "11":
            raise web.HTTPNotFound()
        return web.json_response({"id": 11, "modelVersions": [version]})

    async def model_version(request):
        seen.append(request.headers.get("Authorization"))
        return web.json_response(version)

    app = web.Application()
    app.add_routes([web.get("/api/v1/models/{id}", model), web.get("/api/v1/model-versions/{id}", model_version)])
    server = await aiohttp_server(app)
    server.seen = seen
    server.api = str(server.make_url("/api/v1"))
    return server


@pytest.mark.parametrize("url", [
    "https://civitai.com/models/11/some-style",
    "https://civitai.com/models/11?modelVersionId=22",
    "https://civitai.com/api/download/models/22",
])
async def test_civitai_urls_resolve_through_the_api(civitai, url, monkeypatch) -> None:
    monkeypatch.setenv("CIVITAI_TOKEN", "civ_secret")
    got = await resolve_url(url, policy_for("https://huggingface.co", extra_hosts=("127.0.0.1",)),
                            civitai_api=civitai.api)
    assert got.url == "https://civitai.com/api/download/models/22"
    assert got.filename == "style_lora.safetensors" and got.sha256 == "ab" * 32 and got.source == "civitai"
    assert civitai.seen == ["Bearer civ_secret"]


async def test_civitai_unknown_model(civitai) -> None:
    with pytest.raises(NotFound):
        await resolve_url("https://civitai.com/models/99",
                          policy_for("https://huggingface.co", extra_hosts=("127.0.0.1",)), civitai_api=civitai.api)


async def test_github_blob_becomes_raw_and_other_hosts_are_refused() -> None:
    policy = policy_for("https://huggingface.co")
    got = await resolve_url("https://github.com/o/r/blob/main/models/up.pth", policy)
    assert got.url == "https://raw.githubusercontent.com/o/r/main/models/up.pth" and got.filename == "up.pth"
    with pytest.raises(HostNotAllowed):
        await resolve_url("https://evil.example/x.safetensors", policy)
    with pytest.raises(InvalidField):
        await resolve_url("file:///etc/passwd", policy)
    got = await resolve_url("https://files.example/x.safetensors", policy_for("https://huggingface.co",
                                                                               extra_hosts=("*.example",)))
    assert got.source == "url" and got.filename == "x.safetensors"


# -- routes ---------------------------------------------------------------------------------------

@pytest.fixture
async def client(aiohttp_client, comfy_dir, small_catalog, mend_for, hub):
    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["download_policy"] = policy_for(hub.endpoint)
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    client.mend = mend
    return client


def lora_workflow(name: str, url: str | None = None) -> dict:
    wf = {"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": [name, 1.0, 1.0]}], "links": []}
    if url:
        wf["models"] = [{"name": name, "url": url, "directory": "loras"}]
    return wf


async def test_search_route_adds_hf_candidates_only_when_no_certain_source(client, hub: FakeHub) -> None:
    hub.add_file("acme/style-loras", "style_a.safetensors", safetensors_bytes(8), downloads=5)
    body = await (await client.post("/mend/models/search", json={"workflow": lora_workflow("style_a.safetensors")}))\
        .json()
    cands = body["missing_models"][0]["candidates"]
    assert [(c["reason"], c["repo_id"]) for c in cands] == [("huggingface", "acme/style-loras")]
    assert cands[0]["sha256"] and cands[0]["verified"] is True and body["missing_models"][0]["status"] == "ambiguous"
    # the analysis route stays offline and fast: it never searched
    before = len(hub.searches)
    await client.post("/mend/analyze", json=lora_workflow("style_a.safetensors"))
    assert len(hub.searches) == before


async def test_search_route_marks_a_dead_workflow_link_unavailable(client, hub: FakeHub) -> None:
    hub.add_file("acme/style-loras", "style_b.safetensors", safetensors_bytes(8))
    wf = lora_workflow("style_b.safetensors", "https://huggingface.co/gone/repo/resolve/main/style_b.safetensors")
    body = await (await client.post("/mend/models/search", json={"workflow": wf})).json()
    cands = body["missing_models"][0]["candidates"]
    assert [c["reason"] for c in cands] == ["huggingface", "unavailable"]
    assert cands[1]["verified"] is False


async def test_search_route_by_filename_and_url(client, hub: FakeHub) -> None:
    entry = hub.add_file("acme/style-loras", "style_c.safetensors", safetensors_bytes(8))
    resp = await client.post("/mend/models/search", json={"filename": "style_c.safetensors", "folder": "loras"})
    assert [c["repo_id"] for c in (await resp.json())["candidates"]] == ["acme/style-loras"]
    resp = await client.post("/mend/models/search",
                             json={"url": "https://huggingface.co/acme/style-loras/blob/main/style_c.safetensors"})
    assert (await resp.json())["source"]["sha256"] == entry.sha256
    resp = await client.post("/mend/models/search", json={"filename": "../x.safetensors"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unsafe_path"


async def test_download_route_runs_a_task(client, hub: FakeHub, comfy_dir: Path) -> None:
    data = safetensors_bytes(5000)
    hub.add_file("acme/style-loras", "style_d.safetensors", data)
    resp = await client.post("/mend/models/download", json={
        "url": "https://huggingface.co/acme/style-loras/blob/main/style_d.safetensors", "folder": "loras"})
    assert resp.status == 202, await resp.text()
    task = await resp.json()
    assert task["kind"] == "download" and task["params"]["relpath"] == "style_d.safetensors"
    assert task["params"]["catalogued"] is True and len(task["params"]["sha256"]) == 64
    done = await client.mend.tasks.wait(task["id"], timeout=30)
    assert done.state == "completed", done.to_json()
    assert (comfy_dir / "models" / "loras" / "style_d.safetensors").read_bytes() == data
    # the same target again while... finished: a second request is answered "present"
    again = await (await client.post("/mend/models/download", json={
        "url": "https://huggingface.co/acme/style-loras/resolve/main/style_d.safetensors", "folder": "loras"})).json()
    assert (await client.mend.tasks.wait(again["id"], timeout=30)).result["status"] == "present"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"url": "http://huggingface.co/a/b/resolve/main/x.safetensors", "folder": "loras"}, 400, "invalid_field"),
    ({"url": "file:///etc/passwd", "folder": "loras"}, 400, "invalid_field"),
    ({"url": "https://evil.example/x.safetensors", "folder": "loras"}, 403, "host_not_allowed"),
    ({"url": "https://huggingface.co/acme/m/resolve/main/x.safetensors", "folder": "nope"}, 400, "unknown_folder"),
    ({"url": "https://huggingface.co/acme/m/resolve/main/x.safetensors", "folder": "loras",
      "filename": "../../x.safetensors"}, 400, "unsafe_path"),
    ({"url": "https://huggingface.co/acme/m/resolve/main/x.safetensors", "folder": "loras",
      "filename": "/etc/x.safetensors"}, 400, "unsafe_path"),
    ({"url": "https://huggingface.co/acme/m/resolve/main/x.ckpt", "folder": "checkpoints"}, 403,
     "confirmation_required"),
])
async def test_download_route_refuses_bad_input(client, hub: FakeHub, comfy_dir: Path, body, status, code) -> None:
    hub.add_file("acme/m", "x.safetensors", b"x")
    hub.add_file("acme/m", "x.ckpt", b"x")
    before = sorted((comfy_dir / "models").rglob("*"))
    resp = await client.post("/mend/models/download", json=body)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"]["code"] == code
    assert sorted((comfy_dir / "models").rglob("*")) == before
    assert await client.mend.tasks.list() == []


async def test_pasted_url_refused_on_a_public_server(aiohttp_client, comfy_dir, small_catalog, mend_for, hub) -> None:
    mend = mend_for(comfy_dir, small_catalog)
    mend.host.listen_addresses = lambda: ["0.0.0.0"]
    mend.extras["download_policy"] = policy_for(hub.endpoint, extra_hosts=("files.example",))
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    resp = await client.post("/mend/models/download", json={"url": "https://files.example/x.safetensors",
                                                            "folder": "loras"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    # Hugging Face is a catalog: still allowed on a public server
    hub.add_file("acme/m", "ok.safetensors", safetensors_bytes(8))
    resp = await client.post("/mend/models/download", json={
        "url": "https://huggingface.co/acme/m/resolve/main/ok.safetensors", "folder": "loras"})
    assert resp.status == 202
    await mend.tasks.wait((await resp.json())["id"], timeout=30)


# -- the templates corpus -------------------------------------------------------------------------

def _hf_models(corpus: Path) -> dict[str, list[tuple[str, str]]]:
    """template file -> [(model name, HF url)] from its models metadata (nodes' and the workflow's)."""
    out: dict[str, list[tuple[str, str]]] = {}

    def walk(o, found):
        if isinstance(o, dict):
            for m in o.get("models", []) if isinstance(o.get("models"), list) else []:
                if isinstance(m, dict) and isinstance(m.get("url"), str) and "huggingface.co" in m["url"]:
                    found.append((m.get("name"), m["url"]))
            for v in o.values():
                walk(v, found)
        elif isinstance(o, list):
            for v in o:
                walk(v, found)

    for path in sorted(corpus.glob("*.json")):
        found: list = []
        try:
            walk(json.loads(path.read_text(encoding="utf-8")), found)
        except ValueError:
            continue
        if found:
            out[path.name] = found
    return out


async def test_templates_propose_the_workflow_hf_source_first(aiohttp_client, comfy_dir, mend_for, hub,
                                                              tmp_path: Path) -> None:
    from ..conftest import shared_path

    corpus = shared_path("corpus", "templates")
    catalog = shared_path("catalog")
    templates = _hf_models(corpus)
    assert len(templates) > 50
    for models in templates.values():
        for _name, url in models:
            repo_id, _rev, path = parse_hf_url(url, hub.endpoint)
            hub.add_file(repo_id, path, safetensors_bytes(8), downloads=10)
            # a decoy: the same file name in a more popular repository
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            hub.add_file(f"zz-mirror/{stem}-copy", path, safetensors_bytes(8, 1), downloads=10**6)
    mend = mend_for(comfy_dir, catalog)
    mend.extras["download_policy"] = policy_for(hub.endpoint)
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    checked = 0
    for name in templates:
        wf = json.loads((corpus / name).read_text(encoding="utf-8"))
        resp = await client.post("/mend/models/search", json={"workflow": wf, "all": True})
        assert resp.status == 200, (name, await resp.text())
        body = await resp.json()
        assert not body["search"]["errors"], name
        for model in body["missing_models"]:
            meta_url = (model.get("meta") or {}).get("url")
            if not meta_url or "huggingface.co" not in meta_url:
                continue
            top = model["candidates"][0]
            repo_id, _rev, path = parse_hf_url(meta_url, hub.endpoint)
            assert top["url"] == f"https://huggingface.co/{repo_id}/resolve/main/{quote(path)}", (name, top)
            assert top["reason"] == "workflow_metadata"
            assert top["verified"] is True and top["sha256"], (name, model["value"])
            # the decoy was found too, but ranked after the workflow's own source
            assert any(c["reason"] == "huggingface" and c["repo_id"].startswith("zz-mirror/")
                       for c in model["candidates"][1:]), (name, model["value"])
            checked += 1
    assert checked > 100
    await asyncio.sleep(0)
