"""The link probe against a real loopback file host: one named outcome per thing a server can answer."""

from __future__ import annotations

import asyncio
import socket

import pytest

from mend.core.catalog.link_check import LinkChecker, error_for, is_hugging_face
from mend.core.catalog.link_probe import LinkProbe, probe_link
from mend.core.catalog.link_tokens import token_setting
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.host import SUPPORTED_PT_EXTENSIONS

from ..link_server import FILE, LinkHost

POLICY = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))


async def probe(links: LinkHost, path: str, policy: DownloadPolicy = POLICY, folder: str | None = "loras"):
    return await asyncio.to_thread(probe_link, links.base + path, policy, folder=folder,
                                   extensions=SUPPORTED_PT_EXTENSIONS)


async def test_a_file_is_usable_with_its_size_name_and_ranges(links):
    got = await probe(links, "/files/x.safetensors")
    assert (got.outcome, got.size, got.filename, got.ranges) == ("usable", len(FILE), "x.safetensors", True)
    assert links.requests == [("HEAD", "/files/x.safetensors", None)]  # one small request, no body


@pytest.mark.parametrize("kind", ["nohead", "signed"])
async def test_a_refused_head_falls_back_to_one_byte(links, kind):
    got = await probe(links, f"/{kind}/x.safetensors")
    assert (got.outcome, got.size, got.status) == ("usable", len(FILE), 206)
    assert links.requests[-1] == ("GET", f"/{kind}/x.safetensors", "bytes=0-0")


async def test_the_name_comes_from_content_disposition(links):
    got = await probe(links, "/download?id=7")
    assert (got.outcome, got.filename) == ("usable", "real name.safetensors")


async def test_redirects_are_followed_to_the_file(links):
    got = await probe(links, "/to/files/y.safetensors")
    assert (got.outcome, got.filename) == ("usable", "y.safetensors")


@pytest.mark.parametrize(("path", "outcome", "status"), [
    ("/login/x.safetensors", "needs_login", 401),
    ("/private/x.safetensors", "needs_login", 403),
    ("/gone/x.safetensors", "not_found", 404),
    ("/removed/x.safetensors", "not_found", 410),
    ("/page/x.safetensors", "web_page", 200),
    ("/archive/x.safetensors", "wrong_kind", 200),
    ("/picture/x.safetensors", "wrong_kind", 200),
    ("/busy/x.safetensors", "unconfirmed", 503),
    ("/loop", "rejected", None),
])
async def test_each_answer_has_its_named_outcome(links, path, outcome, status):
    got = await probe(links, path)
    assert (got.outcome, got.status) == (outcome, status), got
    assert got.message and got.host == "127.0.0.1"
    assert (error_for(got) is None) == (outcome == "unconfirmed")


async def test_a_login_says_that_mend_has_no_token_for_an_unknown_host(links):
    got = await probe(links, "/login/x.safetensors")
    assert got.token_setting is None and "no token" in got.message
    error = error_for(got)
    assert (error.status, error.code) == (422, "link_needs_login")
    assert error.to_json()["error"]["probe"]["status"] == 401


def test_the_token_settings_mend_knows():
    policy = DownloadPolicy()
    assert token_setting("https://civitai.com/api/download/models/9", policy) == "CIVITAI_TOKEN"
    assert token_setting("https://huggingface.co/a/b/resolve/main/x", policy) == "HF_TOKEN"
    assert token_setting("https://github.com/a/b/releases/download/v1/x.pth", policy) is None


async def test_wrong_kind_needs_a_folder_rule(links):
    assert (await probe(links, "/archive/x.safetensors", folder=None)).outcome == "wrong_kind"  # a zip by type
    got = await asyncio.to_thread(probe_link, links.base + "/files/x.safetensors", POLICY, folder="configs",
                                  extensions=frozenset({".yaml"}))
    assert got.outcome == "wrong_kind" and "configs lists .yaml" in got.message


async def test_a_redirect_to_a_host_not_allowed_is_refused(links):
    got = await probe(links, "/away")
    assert got.outcome == "refused" and got.host == "evil.example"
    assert error_for(got).code == "host_not_allowed"


def test_private_addresses_are_refused_unless_the_operator_allowed_the_host():
    policy = DownloadPolicy(hosts=("localhost",))  # allowed by name, but it resolves inside the machine
    got = probe_link("https://localhost:9/x.safetensors", policy)
    assert got.outcome == "refused" and "MEND_DOWNLOAD_HOSTS" in got.message
    operator = DownloadPolicy(hosts=(), extra_hosts=("localhost",))
    assert probe_link("https://localhost:9/x.safetensors", operator, timeout=2).outcome == "unreachable"


def test_unreachable_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    got = probe_link(f"http://127.0.0.1:{port}/x.safetensors", POLICY)
    assert got.outcome == "unreachable" and "refused" in got.message and "\n" not in got.message
    offline = probe_link("https://files.invalid/x.safetensors", DownloadPolicy(extra_hosts=("*.invalid",)))
    assert offline.outcome == "unreachable" and "does not resolve" in offline.message
    assert error_for(offline).code == "link_unreachable"


def test_hugging_face_links_are_left_to_the_hub():
    policy = DownloadPolicy(hf_endpoint="http://127.0.0.1:8123")
    assert is_hugging_face("https://huggingface.co/a/b/resolve/main/x.safetensors", policy)
    assert is_hugging_face("https://cdn-lfs.hf.co/x", policy)
    assert is_hugging_face("http://127.0.0.1:8123/a/b/resolve/main/x", policy)
    assert not is_hugging_face("http://127.0.0.1:9000/files/x", policy)
    assert LinkChecker(policy).probe("https://huggingface.co/a/b/resolve/main/x.safetensors") is None


async def test_answers_are_cached_briefly(links):
    now = [0.0]
    checker = LinkChecker(POLICY, lambda folder: SUPPORTED_PT_EXTENSIONS, clock=lambda: now[0])
    url = links.base + "/files/x.safetensors"
    first = await checker.aprobe(url, "loras")
    assert await checker.aprobe(url, "loras") is first and len(links.requests) == 1
    now[0] += 61
    await checker.aprobe(url, "loras")
    assert len(links.requests) == 2
    busy = links.base + "/busy/x.safetensors"
    await checker.aprobe(busy)
    now[0] += 6  # a failed server is asked again soon
    await checker.aprobe(busy)
    assert sum(1 for _, p, _ in links.requests if p.startswith("/busy")) == 4  # HEAD, then GET, twice



def test_the_link_probed_is_the_one_a_download_fetches():
    asked = []

    def record(url, policy, **kwargs):
        asked.append(url)
        return LinkProbe(url, "usable", "ok", "raw.githubusercontent.com")

    checker = LinkChecker(DownloadPolicy(), probe=record)
    checker.probe("https://github.com/o/r/blob/main/models/x.pth")
    assert asked == ["https://raw.githubusercontent.com/o/r/main/models/x.pth"]  # not GitHub's HTML page
    # a Civitai page is named by Civitai's API when the download is set up; its file is probed then
    assert checker.probe("https://civitai.com/models/12?modelVersionId=3") is None
    checker.probe("https://civitai.com/api/download/models/3")
    assert asked[-1] == "https://civitai.com/api/download/models/3"


def test_the_hugging_face_token_goes_to_the_mirror_itself_not_its_neighbours():
    policy = DownloadPolicy(hf_endpoint="http://127.0.0.1:8123")
    assert token_setting("http://127.0.0.1:8123/a/b/resolve/main/x.safetensors", policy) == "HF_TOKEN"
    assert token_setting("http://127.0.0.1:9000/files/x.safetensors", policy) is None
