"""Which token belongs to which download host, and which setting supplies it.

Tokens go only to the host they belong to: Hugging Face (or its ``HF_ENDPOINT`` mirror) gets
``HF_TOKEN`` (or the token ``hf auth login`` saved), Civitai gets ``CIVITAI_TOKEN``; every other host
gets none. The download (``core/download/http.py``) and the link probe (``link_probe.py``) both ask here,
so a probe says exactly what the download would send.

    >>> token_setting("https://civitai.com/api/download/models/1", DownloadPolicy())
    'CIVITAI_TOKEN'
    >>> token_setting("https://files.example/x.safetensors", DownloadPolicy()) is None
    True
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .source_policy import DownloadPolicy


def hf_token() -> str | None:
    """``HF_TOKEN`` or the token ``huggingface-cli login`` saved; never logged."""
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # an unreadable token file must not break downloads of public files
        return os.environ.get("HF_TOKEN") or None


def token_setting(url: str, policy: DownloadPolicy) -> str | None:
    """The setting whose token this URL's host gets (``HF_TOKEN``, ``CIVITAI_TOKEN``), or None.

    The ``HF_ENDPOINT`` mirror is matched by host and port: another service on the mirror's machine
    is not the mirror, and gets no Hugging Face token.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "huggingface.co" or parts.netloc.lower() == urlsplit(policy.hf_endpoint).netloc.lower():
        return "HF_TOKEN"
    if host == "civitai.com" or host.endswith(".civitai.com"):
        return "CIVITAI_TOKEN"
    return None


def token_for(url: str, policy: DownloadPolicy) -> str | None:
    """The token that belongs to this URL's host: Hugging Face (or its mirror) or Civitai."""
    setting = token_setting(url, policy)
    if setting == "HF_TOKEN":
        return hf_token()
    if setting == "CIVITAI_TOKEN":
        return os.environ.get("CIVITAI_TOKEN") or None
    return None
