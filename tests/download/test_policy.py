"""The download policy: hosts, schemes, redirects' hosts, pickle confirmation, remote risk, safe target paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mend.core.catalog.source_policy import DownloadPolicy, check_relpath, target_path
from mend.core.errors import ConfirmationRequired, Forbidden, HostNotAllowed, InvalidField, UnknownFolder, UnsafePath


@pytest.mark.parametrize("url", [
    "https://huggingface.co/a/b/resolve/main/x.safetensors",
    "https://cdn-lfs-us-1.hf.co/repos/x", "https://cas-bridge.xethub.hf.co/x",
    "https://civitai.com/api/download/models/1",
    "https://civitai-delivery-worker-prod.abc123.r2.cloudflarestorage.com/x",
    "https://raw.githubusercontent.com/o/r/main/x.pth", "https://objects.githubusercontent.com/x",
    "https://hf-mirror.com/a/b/resolve/main/x.safetensors",  # the HF_ENDPOINT host
])
def test_allowed_hosts(url: str) -> None:
    assert DownloadPolicy(hf_endpoint="https://hf-mirror.com").check_url(url) == url


@pytest.mark.parametrize(("url", "error"), [
    ("http://huggingface.co/x", InvalidField),
    ("file:///etc/passwd", InvalidField),
    ("ftp://huggingface.co/x", InvalidField),
    ("https://user:pw@huggingface.co/x", InvalidField),
    ("https://huggingface.co.evil.com/x", HostNotAllowed),
    ("https://evilhuggingface.co/x", HostNotAllowed),
    ("https://example.com/x.safetensors", HostNotAllowed),
    ("http://127.0.0.1:8000/x", InvalidField),  # loopback http only with the test setting
    ("", InvalidField),
    (None, InvalidField),
])
def test_refused_urls(url, error) -> None:
    with pytest.raises(error):
        DownloadPolicy().check_url(url)


def test_operator_hosts_and_loopback_test_setting() -> None:
    policy = DownloadPolicy(extra_hosts=("*.example.com", "files.lan"), allow_http_loopback=True)
    assert policy.check_url("https://a.b.example.com/x")
    assert policy.check_url("https://files.lan/x")
    with pytest.raises(HostNotAllowed):
        policy.check_url("https://example.com.other/x")
    with pytest.raises(InvalidField):
        policy.check_url("http://files.lan/x")  # http stays refused off loopback
    with pytest.raises(HostNotAllowed):
        policy.check_url("http://127.0.0.1:9/x")  # loopback http allowed, but the host still has to be


def test_pickle_needs_confirmation() -> None:
    for name in ("m.ckpt", "m.pt", "m.pth", "m.bin", "sub/M.PTH"):
        with pytest.raises(ConfirmationRequired):
            DownloadPolicy.check_pickle(name, confirmed=False)
        DownloadPolicy.check_pickle(name, confirmed=True)
    DownloadPolicy.check_pickle("m.safetensors", confirmed=False)


def test_remote_risk() -> None:
    policy = DownloadPolicy(extra_hosts=("files.lan",))
    pasted = "https://files.lan/x.safetensors"
    policy.check_remote_risk(pasted, [])  # the CLI: nothing listens
    policy.check_remote_risk(pasted, ["127.0.0.1", "::1"])
    with pytest.raises(Forbidden):
        policy.check_remote_risk(pasted, ["0.0.0.0"])
    policy.check_remote_risk("https://huggingface.co/a/b/resolve/main/x", ["0.0.0.0"])  # a catalog
    policy.check_remote_risk(pasted, ["0.0.0.0"], catalogued=True)  # Manager's model list
    DownloadPolicy(allow_remote_risk=True).check_remote_risk(pasted, ["0.0.0.0"])


@pytest.mark.parametrize("bad", ["../x.safetensors", "a/../../x", "/etc/x", "C:/x", "a\\b", "", "a//b", "./x",
                                 ".hidden", "x.safetensors.part", "a/./b", "a\0b"])
def test_unsafe_relpaths(bad: str) -> None:
    with pytest.raises((UnsafePath, InvalidField)):
        check_relpath(bad)


def test_target_path(tmp_path: Path) -> None:
    loras = tmp_path / "loras"
    (loras / "sub").mkdir(parents=True)
    folders = {"loras": [loras]}
    assert target_path(folders, "loras", "sub/x.safetensors") == loras.resolve() / "sub" / "x.safetensors"
    with pytest.raises(UnknownFolder):
        target_path(folders, "nope", "x.safetensors")
    (loras / "escape").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        target_path(folders, "loras", "escape/x.safetensors")
