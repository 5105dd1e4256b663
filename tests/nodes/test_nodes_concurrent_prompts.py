"""Two prompts running Ensure Model → Model Info at once (same node ids, two clients): nothing mixes.

The issue's report — tab B's Model Info showing ``file: ensure_a.safetensors`` — came from progress
text, not from data: Model Info shows its summary as progress text on its node, and ComfyUI sent that
frame to every tab, so B's node 2 painted A's summary. Here both prompts run concurrently on one
server-shaped object with Mend's real wrapper installed: each node's results, each text's recipient
and each twin's prompt id must be its own prompt's.
"""

from __future__ import annotations

import asyncio
import struct
import sys
import types

import pytest

from mend.core import progress_text
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.nodes.ensure_model import ensure_model, node_reporter
from mend.nodes.model_info import MendModelInfo
from mend.nodes.model_source import model_url

from ..hf_server import FakeHub, safetensors_bytes, served_hub
from ..test_progress_text import comfy_utils  # noqa: F401 (fixture)

REPO_ID = "acme/loras"
TEXT = 3


class CapturingServer:
    """``PromptServer`` as far as the nodes and the wrapper use it; ``send_sync`` records instead of sending."""

    def __init__(self, mend) -> None:
        self.mend = mend
        self.sent: list[tuple[object, object, str | None]] = []
        self.sockets = {"client-a": object(), "client-b": object()}
        self.client_id = self.last_prompt_id = None
        self.prompt_queue = types.SimpleNamespace(currently_running={
            1: (1, "prompt-a", {}, {"client_id": "client-a"}, [], {}),
            2: (2, "prompt-b", {}, {"client_id": "client-b"}, [], {}),
        })

    def send_sync(self, event, data, sid=None) -> None:
        self.sent.append((event, data, sid))

    def send_progress_text(self, text, node_id, sid=None) -> None:  # ComfyUI 0.8.0's body
        if isinstance(text, str):
            text = text.encode("utf-8")
        node = str(node_id).encode("utf-8")
        self.send_sync(TEXT, struct.pack(">I", len(node)) + node + text, sid)

    def frames(self, sid: str) -> list[str]:
        out = []
        for event, data, to in self.sent:
            if event == TEXT and to == sid:
                n, = struct.unpack(">I", data[:4])
                out.append(data[4 + n:].decode())
        return out

    def twins(self, sid: str) -> list[dict]:
        return [data for event, data, to in self.sent if event == progress_text.EVENT and to == sid]


@pytest.fixture
async def hub(aiohttp_server) -> FakeHub:
    return await served_hub(aiohttp_server)


@pytest.fixture
def server(comfy_dir, small_catalog, mend_for, monkeypatch) -> CapturingServer:
    server = CapturingServer(mend_for(comfy_dir, small_catalog))
    progress_text.install(server, features=dict)
    prompt_server = types.SimpleNamespace(instance=server)
    monkeypatch.setitem(sys.modules, "server", types.SimpleNamespace(PromptServer=prompt_server))
    return server


async def test_two_concurrent_prompts_outputs_and_texts_never_mix(hub, server, comfy_utils):
    files = {"a": safetensors_bytes(2 * 1024 * 1024, seed=1), "b": safetensors_bytes(3 * 1024 * 1024, seed=2)}
    for key, data in files.items():
        hub.add_file(REPO_ID, f"ensure_{key}.safetensors", data)
        hub.fault(f"ensure_{key}.safetensors", "trickle", piece=64 * 1024, delay=0.03)  # ~2 MB/s: both at once
    runner = DownloadRunner(server.mend.host, hashes=server.mend.hashes,
                            policy=DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True))

    async def prompt(key: str) -> dict:
        """One prompt's node 1 (Ensure Model, async) then node 2 (Model Info, on a worker thread)."""
        name = f"ensure_{key}.safetensors"
        with comfy_utils.CurrentNodeContext(f"prompt-{key}", "1", None):
            await ensure_model(server.mend, url=model_url(REPO_ID, name)[0], folder="loras", name=name,
                               interrupted=lambda: False, report=node_reporter(name), runner=runner)

        def model_info() -> dict:
            with comfy_utils.CurrentNodeContext(f"prompt-{key}", "2", None):
                return MendModelInfo().inspect("loras", name)

        return await asyncio.to_thread(model_info)

    out_a, out_b = await asyncio.gather(prompt("a"), prompt("b"))
    for key, out in (("a", out_a), ("b", out_b)):
        other = "b" if key == "a" else "a"
        summary = out["result"][0]
        assert f"file: ensure_{key}.safetensors" in summary and f"ensure_{other}" not in summary
        assert out["ui"]["text"] == [summary]
        frames, twins = server.frames(f"client-{key}"), server.twins(f"client-{key}")
        assert frames and all(f"ensure_{key}" in t and f"ensure_{other}" not in t for t in frames), frames
        assert frames[-1] == summary  # what B's node 2 shows last is B's own summary
        assert [t["text"] for t in twins] == frames
        assert {(t["prompt_id"], t["scope"]) for t in twins} == {(f"prompt-{key}", "client")}
        assert any("%" in t for t in frames), frames  # the downloads reported progress while both ran
    assert not server.frames(None) and not server.twins(None)  # nothing was broadcast
