"""Over HTTP: a decided or requested download whose file name holds another file is asked, never "done".

``POST /mend/decisions`` and ``POST /mend/models/download`` answer ``409 file_exists`` (what is there,
why Mend cannot tell, a suggested name, the choices) and change nothing; with ``on_existing`` the user's
answer is carried out: ``keep``, ``rename`` (the widget and the task name the new file), ``replace``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from mend.server_routes import setup

from ..hf_server import FakeHub, safetensors_bytes, served_hub

OLD = safetensors_bytes(2_000, 1)
NEW = safetensors_bytes(300, 2)


@pytest.fixture
async def hub(aiohttp_server):
    return await served_hub(aiohttp_server)


@pytest.fixture
async def env(aiohttp_client, comfy_dir, small_catalog, mend_for, hub: FakeHub):
    from mend.core.catalog.source_policy import DownloadPolicy

    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True,
                                                    extra_hosts=("localhost",))  # a plain host, probed
    app = web.Application()
    setup(app, mend)
    (comfy_dir / "models" / "loras" / "fake-lora.safetensors").write_bytes(OLD)  # from another URL, earlier
    wf = comfy_dir / "user" / "default" / "workflows" / "w.json"
    wf.parent.mkdir(parents=True, exist_ok=True)
    wf.write_text(json.dumps({"nodes": [{"id": 145, "type": "LoraLoader",
                                         "widgets_values": ["Nsfw\\lost.safetensors", 1.0, 1.0]}], "links": []}))
    entry = hub.add_file("other/files", "fake-lora.safetensors", NEW)
    return await aiohttp_client(app), mend, wf, f"{hub.endpoint}/cdn/{entry.sha256}?name=other/fake-lora.safetensors"


def loras(comfy_dir: Path) -> Path:
    return comfy_dir / "models" / "loras"


def decision(url: str, **extra) -> dict:
    return {"workflow": "w.json", "model": "145/lora_name", "action": "url", "url": url,
            "path": "fake-lora.safetensors", **extra}


async def test_a_pasted_url_onto_another_file_is_asked_and_nothing_changes(env, comfy_dir, hub):
    client, mend, wf, url = env
    before = wf.read_text()
    resp = await client.post("/mend/decisions", json=decision(url))
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "file_exists", body
    err = body["error"]
    assert err["field"] == "on_existing" and err["choices"] == ["keep", "rename", "replace"]
    assert err["existing"]["path"] == "fake-lora.safetensors" and err["existing"]["size"] == len(OLD)
    assert err["existing"]["same"] is False and err["existing"]["suggested"] == "fake-lora-cdn.safetensors"
    assert wf.read_text() == before and mend.manifest.resolutions("w.json")["models"] == {}
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                             "filename": "fake-lora.safetensors"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "file_exists"
    assert await mend.tasks.list() == [] and hub.requests == []
    assert (loras(comfy_dir) / "fake-lora.safetensors").read_bytes() == OLD


async def test_rename_points_the_widget_at_the_new_file(env, comfy_dir):
    client, mend, wf, url = env
    resp = await client.post("/mend/decisions", json=decision(url, on_existing="rename"))
    body = await resp.json()
    assert resp.status == 200, body
    assert body["stored"]["path"] == "fake-lora-cdn.safetensors" and body["existing"]["same"] is False
    assert json.loads(wf.read_text())["nodes"][0]["widgets_values"][0] == "fake-lora-cdn.safetensors"
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                             "filename": "fake-lora.safetensors",
                                                             "on_existing": "rename"})
    task = await resp.json()
    assert resp.status == 202 and task["params"]["relpath"] == "fake-lora-cdn.safetensors", task
    done = await mend.tasks.wait(task["id"], timeout=30)
    assert done.state == "completed" and done.result["status"] == "downloaded"
    assert (loras(comfy_dir) / "fake-lora-cdn.safetensors").read_bytes() == NEW
    assert (loras(comfy_dir) / "fake-lora.safetensors").read_bytes() == OLD


async def test_keep_is_the_users_word_and_costs_no_request(env, comfy_dir, hub):
    client, mend, _wf, url = env
    resp = await client.post("/mend/decisions", json=decision(url, on_existing="keep"))
    assert resp.status == 200 and (await resp.json())["stored"]["on_existing"] == "keep"
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                             "filename": "fake-lora.safetensors",
                                                             "on_existing": "keep"})
    done = await mend.tasks.wait((await resp.json())["id"], timeout=30)
    assert done.result["status"] == "present" and done.result["kept"] is True and hub.requests == []
    # recorded from this URL with this size: the next request for it is known to be the same file
    again = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                              "filename": "fake-lora.safetensors"})
    assert again.status == 202
    done = await mend.tasks.wait((await again.json())["id"], timeout=30)
    assert done.result["status"] == "present" and done.result["verified"] is True


async def test_replace_swaps_in_the_verified_new_file(env, comfy_dir):
    client, mend, _wf, url = env
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                             "filename": "fake-lora.safetensors",
                                                             "on_existing": "replace"})
    done = await mend.tasks.wait((await resp.json())["id"], timeout=30)
    assert done.state == "completed" and done.result["replaced"] == "fake-lora.safetensors.replaced"
    assert (loras(comfy_dir) / "fake-lora.safetensors").read_bytes() == NEW
    assert (loras(comfy_dir) / "fake-lora.safetensors.replaced").read_bytes() == OLD


async def test_a_matching_sha256_is_the_same_file(env, comfy_dir):
    import hashlib

    client, mend, _wf, url = env
    body = {"url": url, "folder": "loras", "filename": "fake-lora.safetensors",
            "sha256": hashlib.sha256(OLD).hexdigest()}
    resp = await client.post("/mend/models/download", json=body)
    assert resp.status == 202
    done = await mend.tasks.wait((await resp.json())["id"], timeout=30)
    assert done.result["status"] == "present" and done.result["verified"] is True


@pytest.mark.parametrize("value", ["overwrite", 1, True])
async def test_a_bad_on_existing_is_a_named_400(env, value):
    client, _mend, _wf, url = env
    for route, body in (("/mend/decisions", decision(url, on_existing=value)),
                        ("/mend/models/download", {"url": url, "folder": "loras", "on_existing": value})):
        resp = await client.post(route, json=body)
        err = (await resp.json())["error"]
        assert resp.status == 400 and err["code"] == "invalid_field" and err["field"] == "on_existing"


async def test_a_hugging_face_link_to_the_very_file_there_is_no_question(env, comfy_dir, hub):
    client, mend, _wf, _url = env
    hub.add_file("acme/e7", "fake-lora.safetensors", OLD)  # the hub's file *is* the one on disk
    link = "https://huggingface.co/acme/e7/resolve/main/fake-lora.safetensors"
    resp = await client.post("/mend/decisions", json=decision(link))
    body = await resp.json()
    assert resp.status == 200, body
    assert body["existing"]["same"] is True and "sha256 matches" in body["existing"]["why"]
    resp = await client.post("/mend/models/download", json={"url": link, "folder": "loras",
                                                             "filename": "fake-lora.safetensors"})
    done = await mend.tasks.wait((await resp.json())["id"], timeout=30)
    assert done.result["status"] == "present" and done.result["verified"] is True
    assert hub.sent["fake-lora.safetensors"] == 0


async def test_a_probed_links_size_names_the_difference(env, comfy_dir, hub):
    """A plain link on another host is probed first (HEAD); its size says plainly that the file differs."""
    client, _mend, _wf, _url = env
    link = hub.endpoint.replace("127.0.0.1", "localhost") + "/files/fake-lora.safetensors"
    resp = await client.post("/mend/models/download", json={"url": link, "folder": "loras",
                                                             "filename": "fake-lora.safetensors"})
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "file_exists", body
    assert body["error"]["existing"]["why"] == f"it holds {len(OLD)} bytes where the source sends {len(NEW)}"
    assert [r[0] for r in hub.requests] == ["HEAD"] and hub.sent["fake-lora.safetensors"] == 0
