"""Offline, a download says so at once, like an install: a host name that does not resolve fails the first
attempt with ``cannot reach <host>: are you offline?`` and is not retried; a refused connection (a server
restarting) is still retried, and said in words, never as an exception class name."""

from __future__ import annotations

import socket
from pathlib import Path

from mend.core.catalog.hashing import HashCache
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.host_standalone import StandaloneHost
from mend.core.tasks.manager import TaskManager

NO_SUCH_HOST = "mend-no-such-host.invalid"  # .invalid never resolves (RFC 2606): no traffic leaves the machine


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def download(comfy_dir: Path, tmp_path: Path, url: str, hf_endpoint: str = "https://huggingface.co"):
    policy = DownloadPolicy(hf_endpoint=hf_endpoint, allow_http_loopback=True, extra_hosts=(NO_SUCH_HOST,))
    manager = TaskManager(tmp_path / "state", backoff=(0.01, 0.02))
    manager.register(DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None), policy=policy))
    try:
        task = await manager.submit("download", {"url": url, "folder": "loras", "relpath": "x.safetensors"})
        return await manager.wait(task.id, timeout=60)
    finally:
        await manager.close()


async def test_a_host_that_does_not_resolve_fails_at_once_saying_offline(comfy_dir, tmp_path):
    done = await download(comfy_dir, tmp_path, f"https://{NO_SUCH_HOST}/x.safetensors")
    assert done.state == "failed" and done.attempt == 1, done.to_json()
    # a link that is not Hugging Face's is probed first (link_unreachable); Hugging Face's fails in the transfer
    assert done.error["code"] in ("link_unreachable", "host_unreachable") and done.error["retryable"] is False
    assert done.error["message"].startswith(f"cannot reach {NO_SUCH_HOST}: are you offline?")
    assert not list((comfy_dir / "models" / "loras").iterdir())


async def test_a_refused_connection_is_retried_and_said_in_words(comfy_dir, tmp_path):
    """A Hugging Face file (its mirror: a closed loopback port) is fetched without a probe: the transfer retries."""
    done = await download(comfy_dir, tmp_path, "https://huggingface.co/acme/m/resolve/main/x.safetensors",
                          hf_endpoint=f"http://127.0.0.1:{closed_port()}")
    assert done.state == "failed" and done.attempt > 1, done.to_json()
    assert done.error["message"] == "cannot reach 127.0.0.1: the connection was refused"
