"""Remote look-ups for the missing models of an analysis: Hugging Face, on request only.

Analysis itself never touches the network for models (it must stay fast); ``POST /mend/models/search``
calls ``search_report`` on its result. Two things happen, concurrently across models:

- every download candidate whose URL is on Hugging Face (the workflow's own link, Manager's list) is
  confirmed with ``paths-info``: it gains its sha256 and size, or, when the hub says the file is not
  there, becomes ``unavailable`` (behind every other source), or, when the repository is gated and no
  token opens it, becomes ``gated`` (never certain: the download would need a licence and a token);
- every other download link (the workflow's own, Manager's list) is probed (``link_check``: one HEAD,
  cached): it gains its size and ``probe`` (file name, ranges), or, when its server says a download cannot
  work (a login, a 404, a web page, the wrong kind of file, no answer), becomes ``link_problem`` (behind
  every other source, never certain) with the probe's named outcome and message;
- models without a certain source (or all, with ``all=True``) are searched by file name; hits are
  added as ``huggingface`` candidates, ranked exact name > repository or author the workflow names
  > downloads > likes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..catalog.huggingface import GatedFile, HfFile, HuggingFaceSource, LookupFailed, parse_hf_url
from ..catalog.link_check import LinkChecker, is_hugging_face
from .analyze import AnalysisReport
from .models import MissingModel, ModelCandidate, normalise_value, sort_candidates

CONCURRENCY = 4  # models looked up at once


@dataclass
class Hints:
    """Repositories and authors the workflow already uses: a hit there is more likely the intended file."""

    repos: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    @classmethod
    def from_urls(cls, urls: Iterable[str | None], endpoint: str) -> Hints:
        hints = cls()
        for url in urls:
            parsed = parse_hf_url(url, endpoint) if url else None
            if parsed and parsed[0] not in hints.repos:
                hints.repos.append(parsed[0])
                author = parsed[0].split("/")[0]
                if author not in hints.authors:
                    hints.authors.append(author)
        return hints


def needs_search(model: MissingModel) -> bool:
    """No local match and no download source the ranking is sure of."""
    return not any(c.confidence >= 0.9 for c in model.candidates)


def hf_candidate(model: MissingModel, f: HfFile) -> ModelCandidate:
    value = normalise_value(model.ref.value)
    return ModelCandidate(
        "download", "huggingface", model.ref.folder, value, url=f.url, size=f.size, sha256=f.sha256,
        source="huggingface",
        details={"repo_id": f.repo_id, "repo_path": f.path, "downloads": f.downloads, "likes": f.likes,
                 "verified": not f.details.get("gated"), **f.details},
    )


async def probe_candidate(c: ModelCandidate, links: LinkChecker) -> None:
    """Ask a download link that is not the hub's what it would send, and note the answer on the candidate."""
    probe = await links.aprobe(c.url or "", c.folder)
    if probe is None:
        return
    c.details["probe"] = probe.to_json()
    if probe.downloadable:
        c.size = c.size or probe.size
    else:
        c.details.update({"verified": False, "was": c.reason})
        c.reason = "link_problem"


async def search_model(model: MissingModel, hf: HuggingFaceSource, hints: Hints, *, force: bool = False,
                       links: LinkChecker | None = None) -> None:
    """Confirm the model's links and add search hits, in place; look-up failures are noted."""
    errors: list[str] = []
    known: set[tuple[str, str]] = set()
    for c in model.candidates:
        parsed = parse_hf_url(c.url, hf.endpoint) if c.kind == "download" and c.url else None
        if parsed is None:
            if links is not None and c.kind == "download" and c.url and not is_hugging_face(c.url, links.policy):
                await probe_candidate(c, links)
            continue
        repo_id, revision, path = parsed
        known.add((repo_id, path))
        try:
            info = await hf.afile_info(repo_id, path, revision)
        except GatedFile:
            c.details.update({"gated": True, "was": c.reason, "repo_id": repo_id, "repo_path": path})
            c.reason = "gated"
            continue
        except LookupFailed as exc:
            errors.append(str(exc))
            continue
        if info is None:
            c.details.update({"verified": False, "was": c.reason})
            c.reason = "unavailable"
        else:
            c.sha256 = c.sha256 or info.sha256
            c.size = c.size or info.size
            c.details.update({"verified": True, "repo_id": repo_id, "repo_path": path})
            if c.url != info.url:  # "?download=true", a blob link, a stray "tree/": download the file itself
                c.details["original_url"], c.url = c.url, info.url
    if force or needs_search(model):
        try:
            hits = await hf.asearch(model.ref.value, repos=hints.repos, authors=hints.authors)
        except LookupFailed as exc:
            errors.append(str(exc))
            hits = []
        model.candidates += [hf_candidate(model, f) for f in hits if (f.repo_id, f.path) not in known]
    sort_candidates(model.candidates)
    if errors:
        model.search_errors = errors  # type: ignore[attr-defined]


async def search_report(report: AnalysisReport, hf: HuggingFaceSource, *, force: bool = False,
                        links: LinkChecker | None = None) -> dict:
    """Search every missing model of ``report`` (in place); returns a summary for the route's answer."""
    urls = [m.url for m in report.workflow.models] + [m.url for n in report.workflow.nodes for m in n.models] + [
        c.url for m in report.missing_models for c in m.candidates if c.url]
    hints = Hints.from_urls(urls, hf.endpoint)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(model: MissingModel) -> None:
        async with limit:
            await search_model(model, hf, hints, force=force, links=links)

    await asyncio.gather(*(one(m) for m in report.missing_models))
    return {"endpoint": hf.endpoint, "searched": len(report.missing_models), "hints": hints.repos,
            "errors": sorted({e for m in report.missing_models for e in getattr(m, "search_errors", [])})}
