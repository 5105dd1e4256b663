"""``mend resolve WORKFLOW --comfyui DIR``: answer what a workflow lacks, one question at a time.

Every answer is written at once (manifest, and the workflow file when a model is resolved), so a
Ctrl+C loses nothing: the next run asks only what is still open. Answers: a candidate's number, an
https URL (a model's source), ``o`` (optional: the workflow runs without it), ``s`` (skip for now).
``--yes`` accepts every certain (auto) match without asking. Exit codes: 0 nothing left open,
1 something is (skipped, unknown, unanswered because stdin is closed), 2 bad input, 130 interrupted.

The question source is injectable (``run(args, ask=...)``): tests answer with a function.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.act import carry_out, plan_work
from ..core.catalog.install_plan import describe_body
from ..core.decide.decisions import Decision, analyze_settled, apply_decision
from ..core.errors import FileExists, HostNotAllowed, InvalidField, ManifestCorrupt, MendError, UnusableLink
from ..core.resolve.analyze import AnalysisReport
from ..core.resolve.nodes import MissingNode
from ..core.resolve.target import OpenItem, WorkflowTarget, open_items, target_from_cli
from ..core.services import Mend
from .common import add_comfyui_options, build_mend
from .freeze import _size
from .handoff import choose_server
from .progress import TaskBars


@dataclass(frozen=True)
class Question:
    item: OpenItem
    number: int
    total: int
    text: str


Ask = Callable[[Question], str]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resolve", help="decide, one question at a time, where each missing thing comes from")
    p.add_argument("workflow", type=Path, help="a workflow JSON file (UI or API format); rewritten as models resolve")
    p.add_argument("--yes", action="store_true", help="accept every certain (auto) match without asking")
    p.add_argument("--ask-skipped", action="store_true", help="ask again what earlier runs skipped")
    p.add_argument("--no-fetch", action="store_true", help="only record decisions; install and download nothing")
    p.add_argument("--server", metavar="URL",
                   help="queue installs and downloads on this Mend server (default: the one that owns the state, "
                        "if one runs; else they run in this process)")
    add_comfyui_options(p, comfyui_required=False)


def ask_stdin(question: Question) -> str:
    print(question.text)
    return input("> ")


async def run(args: argparse.Namespace, ask: Ask | None = None) -> int:
    ask = ask or ask_stdin
    mend = build_mend(args)
    target = target_from_cli(mend.host, args.workflow)
    await mend.catalogs.refresh()
    report = await analyze_settled(mend, target, use_registry=not args.no_registry)
    items = open_items(report, include_skipped=args.ask_skipped)
    saved, unanswered = 0, 0
    try:
        for number, item in enumerate(items, 1):
            if args.yes and item.mark:
                print(f"left alone: {item.label}: only {item.mark} nodes use it, a run does not need it")
                continue
            if args.yes and item.auto:
                decision = Decision(item.kind, item.ref, "candidate", 0)
                try:
                    result = await asyncio.to_thread(apply_decision, mend, target, report, decision)
                except (UnusableLink, HostNotAllowed, FileExists) as exc:  # the link cannot work, or another
                    print(f"left open: {item.label}: {exc.message}", file=sys.stderr)  # file has its name
                    continue
                print(f"auto: {item.label} -> {_describe(item, 0)}")
                if line := link_line(result):
                    print(f"  link: {line}")
            elif unanswered:  # stdin closed: only certain matches are taken from here on
                unanswered += 1
                continue
            else:
                question = Question(item, number, len(items), render_question(item, number, len(items)))
                try:
                    await _ask_until_applied(mend, target, report, question, ask)
                except EOFError:  # a script, a pipe, no terminal: not an interruption
                    unanswered = 1
                    continue
            saved += 1
        if unanswered:
            print(f"no answers: stdin is closed, {unanswered} question{'s' * (unanswered != 1)} left open "
                  "(answer them on a terminal)", file=sys.stderr)
        work = await plan_work(mend, target.id, report)
        print(f"saved {saved} decisions for {target.id}; {len(work.packs) + len(work.files)} to install or download")
        for body in work.packs:
            print(f"  install_pack: {describe_body(body)}")
        for note in work.notes:
            print(f"    {note}")
        for jobs in work.files:
            nodes = ", ".join(j["ref"].rsplit("/", 1)[0] for j in jobs)
            print(f"  download_model: {jobs[0]['folder']}/{jobs[0]['path']} from {jobs[0]['url']} (nodes {nodes})")
        failed = await fetch_pending(mend, target, report, args.server) if work and not args.no_fetch else 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"\nsaved {saved} decisions, run again to continue", file=sys.stderr)
        return 130
    finally:
        await mend.close()
        await asyncio.to_thread(mend.manifest.close)  # fold the decision log into the TOML now
    left = [i for i in open_items(await analyze_settled(mend, target, use_registry=False), include_skipped=True)
            if not i.mark]
    if left:
        print(f"{len(left)} blocking item{'s' * (len(left) != 1)} still open: "
              + "; ".join(i.label for i in left), file=sys.stderr)
    return 1 if left or failed else 0


async def fetch_pending(mend: Mend, target: WorkflowTarget, report: AnalysisReport, server: str | None = None) -> int:
    """Install and download what the decisions need, with a progress bar per task; returns failures.

    Here, or on the Mend server that owns the state (``choose_server``): the output says which.
    """
    bars = TaskBars()
    client = await choose_server(mend, server)
    unsubscribe = mend.tasks.subscribe(bars) if client is None else (lambda: None)
    try:
        outcome = await carry_out(mend, target.id, report, execute=client.executor(bars) if client else None)
    finally:
        unsubscribe()
        bars.close()
        if client is not None:
            await client.close()
    failed = 0
    for item in outcome["installs"]:
        if item["state"] != "completed":
            failed += 1
            print(f"  install failed: {describe_body(item['request'])}: {(item.get('error') or {}).get('message')}",
                  file=sys.stderr)
    for item in outcome["downloads"]:
        if not item.get("ok"):
            failed += 1
            print(f"  download failed: {item.get('file')}: {(item.get('error') or {}).get('message')}",
                  file=sys.stderr)
    if any(i["state"] == "completed" for i in outcome["installs"]):
        print("restart ComfyUI to load the new node packs")
    return failed


async def _ask_until_applied(mend: Mend, target: WorkflowTarget, report: AnalysisReport, question: Question,
                             ask: Ask) -> None:
    """Ask until an answer is valid and written; a bad answer is explained and asked again."""
    while True:
        answer = ask(question).strip()
        try:
            decision = parse_answer(question.item, answer)
            try:
                result = await asyncio.to_thread(apply_decision, mend, target, report, decision)
            except FileExists as exc:
                decision = _answer_existing(question, decision, exc, ask)
                if decision is None:
                    continue  # the question again
                result = await asyncio.to_thread(apply_decision, mend, target, report, decision)
            if line := link_line(result):
                print(f"  link: {line}")
            return
        except ManifestCorrupt:
            raise
        except MendError as exc:
            print(f"  {exc.message}; try again", file=sys.stderr)


def link_line(result: dict) -> str:
    """What a probed link's server said it would send: ``x.safetensors, 2.0 GB, resumable``; else empty."""
    probe = result.get("probe")
    if not probe:
        return ""
    parts = [probe.get("filename") or "a file", _size(probe.get("size")) if probe.get("size") is not None else ""]
    parts.append("resumable" if probe.get("ranges") else "not resumable")
    if probe.get("outcome") != "usable":
        parts.append(probe.get("message", ""))
    return ", ".join(p for p in parts if p)


EXISTING_ANSWERS = {"k": "keep", "keep": "keep", "n": "rename", "new": "rename", "rename": "rename",
                    "r": "replace", "replace": "replace"}


def _answer_existing(question: Question, decision: Decision, exc: FileExists, ask: Ask) -> Decision | None:
    """Another file holds the name the download would take: keep it, save the new one beside it, or
    replace it (``docs/downloads.md``); anything else asks the first question again."""
    existing = exc.details.get("existing") or {}
    where = f"{existing.get('folder')}/{existing.get('path')}"
    text = (f"  {where} already exists ({existing.get('size')} bytes) and {existing.get('why')}.\n"
            f"  k) keep it: it is the same file, download nothing\n"
            f"  n) save the new one as {existing.get('suggested')} (the workflow names that file)\n"
            f"  r) replace it: download, verify, then move the old one aside to {existing.get('path')}.replaced\n"
            f"  anything else: back to the question")
    choice = EXISTING_ANSWERS.get(ask(Question(question.item, question.number, question.total, text)).strip().lower())
    if choice is None:
        return None
    return Decision(decision.kind, decision.ref, decision.action, decision.candidate, decision.url,
                    decision.folder, decision.path, choice)


def parse_answer(item: OpenItem, answer: str) -> Decision:
    lowered = answer.lower()
    if lowered in ("o", "optional"):
        return Decision(item.kind, item.ref, "optional")
    if lowered in ("s", "skip"):
        return Decision(item.kind, item.ref, "skip")
    if answer.isdigit():
        count = len(item.item.candidates)
        if not 1 <= int(answer) <= count:
            choices = f"1 to {count}" if count > 1 else "1" if count else "no number (there is no candidate)"
            raise InvalidField(f"{answer} is not one of the choices: type {choices}, "
                               + ("an https URL, " if item.kind == "model" else "") + "o or s", field="answer")
        return Decision(item.kind, item.ref, "candidate", int(answer) - 1)
    if "://" in answer and item.kind == "model":
        return Decision(item.kind, item.ref, "url", url=answer)
    hint = "a number, an https URL, o or s" if item.kind == "model" else "a number, o or s"
    raise InvalidField(f"{answer!r} is not an answer: type {hint}", field="answer")


def render_question(item: OpenItem, number: int, total: int) -> str:
    if isinstance(item.item, MissingNode):
        node = item.item
        head = f"[{number}/{total}] missing node type {node.type} (nodes {', '.join(node.node_ids[:6])})"
    else:
        ref = item.item.ref
        nodes = ", ".join(item.node_ids)
        folder = f"{ref.folder}, folder guessed from a name" if ref.folder and ref.folder_guessed else (
            ref.folder or "folder unknown")
        head = f"[{number}/{total}] missing model {ref.value} ({folder}) in " \
               f"node{'s' * (len(item.node_ids) > 1)} {nodes} {ref.node_type}"
    if item.mark:
        head += f" — only {item.mark} nodes use it (a run does not need it)"
    lines = [head]
    count = len(item.item.candidates)
    lines += [f"  {k + 1}) {_describe(item, k)}" for k in range(count)]
    if not count:
        lines.append("  no known source")
    extra = "paste an https URL, " if item.kind == "model" else ""
    lines.append(f"  {extra}o) optional, s) skip for now" + (" (auto: 1)" if item.auto else ""))
    return "\n".join(lines)


def _describe(item: OpenItem, k: int) -> str:
    c = item.item.candidates[k]
    if isinstance(item.item, MissingNode):
        version = f" @ {c.version}" if c.version else ""
        return f"{c.pack.title}{version} — {c.explain()}"
    where = c.path if c.kind == "local" else c.url
    return f"{c.kind} {c.folder}/{c.relpath} — {c.reason}: {where}"
