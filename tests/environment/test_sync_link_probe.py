"""``mend sync``'s model tasks ask each manifest source what it would send: a source that cannot work makes
way for the next one without a byte fetched, and a lone one fails at once by name."""

from __future__ import annotations

import hashlib

import pytest

from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.run import LocalContext
from mend.core.environment.sync_model import sync_model_runner
from mend.core.errors import MendError

from ..link_server import FILE, LinkHost


@pytest.fixture
async def setup(aiohttp_server, comfy_dir, small_catalog, mend_for):
    links = LinkHost()
    server = await aiohttp_server(links.app())
    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["download_policy"] = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))
    return links, str(server.make_url("")).rstrip("/"), sync_model_runner(mend), comfy_dir / "models" / "loras"


async def test_a_source_that_needs_a_login_makes_way_for_the_next(setup):
    links, base, runner, loras = setup
    sources = [f"{base}/login/s.safetensors", f"{base}/files/s.safetensors"]
    result = await runner.run({"folder": "loras", "relpath": "s.safetensors", "sources": sources,
                               "sha256": hashlib.sha256(FILE).hexdigest()}, LocalContext("sync"))
    assert result["source"] == sources[1] and (loras / "s.safetensors").read_bytes() == FILE
    assert links.downloads("/login") == 0


async def test_a_lone_source_that_is_gone_fails_by_name(setup):
    links, base, runner, loras = setup
    with pytest.raises(MendError) as failed:
        await runner.run({"folder": "loras", "relpath": "g.safetensors", "sources": [f"{base}/gone/g.safetensors"]},
                         LocalContext("sync"))
    assert failed.value.code == "link_not_found"
    assert links.downloads() == 0 and list(loras.iterdir()) == []
