"""Where *Ensure Model* downloads from: a Hugging Face repo and file, or a URL, turned into one URL.

    >>> model_url("acme/loras", "split/x.safetensors")
    ('https://huggingface.co/acme/loras/resolve/main/split/x.safetensors', 'x.safetensors')
    >>> model_url("acme/loras/split/x.safetensors")[0]
    'https://huggingface.co/acme/loras/resolve/main/split/x.safetensors'
    >>> model_url("https://huggingface.co/acme/loras/blob/v2/x.safetensors?download=true")
    ('https://huggingface.co/acme/loras/resolve/v2/x.safetensors?download=true', 'x.safetensors')

Hugging Face URLs are written against ``huggingface.co``; the download engine fetches them from the
``HF_ENDPOINT`` mirror when one is set. Whether a host is allowed is the download policy's call.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

HF_URL = "https://huggingface.co"
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def model_url(source: str, repo_file: str = "", revision: str = "main") -> tuple[str, str]:
    """(download URL, the file's own name) for a URL, ``owner/repo`` + ``repo_file``, or ``owner/repo/path``."""
    from ..core.errors import InvalidField

    source = (source or "").strip()
    repo_file = (repo_file or "").strip().lstrip("/")
    revision = (revision or "").strip() or "main"
    if not source:
        raise InvalidField("source is empty: give a Hugging Face repo (owner/name) or a URL", field="source")
    if "://" in source and not source.startswith("hf://"):
        return _from_url(source)
    parts = source.removeprefix("hf://").strip("/").split("/")
    if repo_file:
        if len(parts) != 2:
            raise InvalidField(f"{source!r} is not a repo id (owner/name) to take {repo_file!r} from", field="source")
        path = repo_file
    elif len(parts) >= 3:
        path = "/".join(parts[2:])
    else:
        raise InvalidField(f"{source!r} names a repo but no file: fill in repo_file", field="repo_file")
    if not all(_REPO_PART.match(p) for p in parts[:2]):
        raise InvalidField(f"{'/'.join(parts[:2])!r} is not a Hugging Face repo id", field="source")
    if any(p in ("", ".", "..") for p in path.split("/")):
        raise InvalidField(f"{path!r} is not a file path inside the repo", field="repo_file")
    url = f"{HF_URL}/{parts[0]}/{parts[1]}/resolve/{quote(revision, safe='')}/{quote(path)}"
    return url, posixpath.basename(path)


def _from_url(url: str) -> tuple[str, str]:
    from ..core.errors import InvalidField

    parts = urlsplit(url)
    path = parts.path
    if (parts.hostname or "").lower() in ("huggingface.co", "hf.co"):
        # a page link (".../blob/main/x") downloads from ".../resolve/main/x"
        path = re.sub(r"^(/[^/]+/[^/]+)/blob/", r"\1/resolve/", path)
    name = posixpath.basename(unquote(path))
    if not name:
        raise InvalidField(f"{url!r} does not end in a file name: fill in file_name", field="source")
    return urlunsplit(parts._replace(path=path, fragment="")), name
