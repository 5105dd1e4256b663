"""``mend sync MANIFEST --comfyui DIR``: install and download what a manifest pins, verify, report.

Runs the sync as background tasks of this process (journaled beside the ComfyUI's manifest, so a
killed run resumes its downloads when run again), parallel within the task limits, with one overall
progress bar and a summary table; or, when a Mend server owns that state (a running ComfyUI), on that
server over HTTP, followed with the same bar (``cli/handoff.py``). ``--dry-run`` prints the plan with
sizes and changes nothing.
Exit codes: 0 the ComfyUI matches the manifest, 1 something could not be done, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..core.environment.shared_cache import shared_cache_dir
from ..core.environment.sync import (
    SyncPlan,
    finish_sync,
    load_manifest,
    plan_sync,
    register_runners,
    settle,
    start_sync,
)
from ..core.services import Mend
from ..core.tasks.manager import EVENT
from .common import add_comfyui_options, build_mend
from .freeze import _size
from .handoff import choose_server
from .server_client import ServerClient


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="install every pack and download every model a manifest pins")
    p.add_argument("source", type=Path, metavar="MANIFEST", help="a manifest written by mend freeze")
    p.add_argument("--dry-run", action="store_true", help="print the plan with sizes; change nothing")
    p.add_argument("--shared-cache", type=Path, metavar="DIR",
                   help="download into DIR (by sha256) and link into the model folders "
                        "(default: $MEND_SHARED_MODEL_CACHE)")
    p.add_argument("--max-downloads", type=int, metavar="N", help="downloads at once (default: $MEND_MAX_DOWNLOADS, 3)")
    p.add_argument("--server", metavar="URL",
                   help="run the sync on this Mend server (default: the one that owns the state, if one runs)")
    add_comfyui_options(p)


async def run(args: argparse.Namespace) -> int:
    manifest = await asyncio.to_thread(load_manifest, args.source)
    mend = build_mend(args)
    if args.max_downloads:
        mend.tasks.limits["download"] = max(1, args.max_downloads)
    cache = shared_cache_dir(args.shared_cache)
    plan = await plan_sync(mend, manifest, shared_cache=cache)
    if args.dry_run:
        print(render_plan(plan))
        return 0 if all(i.action in ("present", "install", "download", "link") for i in plan.items) else 1
    client = await choose_server(mend, args.server)
    if client is not None:
        try:
            plan = await sync_on_server(client, mend, args.source)
        finally:
            await client.close()
        print(render_plan(plan, done=True))
        return 0 if plan.ok else 1
    register_runners(mend)  # before the journal is replayed: a killed run's downloads resume
    try:
        with OverallBar(plan) as bar:
            unsubscribe = mend.tasks.subscribe(bar)
            try:
                await start_sync(mend, plan)
                bar.watching({i.task_id for i in plan.items if i.task_id})
                await finish_sync(mend, plan)
            finally:
                unsubscribe()
    finally:
        await mend.close()
        await asyncio.to_thread(mend.manifest.close)
    print(render_plan(plan, done=True))
    return 0 if plan.ok else 1


async def sync_on_server(client: ServerClient, mend: Mend, source: Path) -> SyncPlan:
    """The sync run by the server that owns the state (``POST /mend/manifest/sync``), followed here with the
    same overall bar. The server plans it again and uses its own shared cache setting."""
    own = source.resolve() == mend.manifest_path.resolve()
    text = None if own else await asyncio.to_thread(source.read_text, encoding="utf-8")
    _, answer = await client.request("POST", "/mend/manifest/sync", {} if own else {"manifest": text})
    plan = SyncPlan.from_json(answer["plan"])
    with OverallBar(plan) as bar:
        ids = [i.task_id for i in plan.items if i.task_id]
        bar.watching(set(ids))
        final = await client.follow(ids, bar) if ids else {}
    for item in plan.to_do:
        task = final.get(item.task_id or "")
        if task is not None:
            settle(item, task["state"], task.get("result"), task.get("error"))
    return plan


class OverallBar:
    """One tqdm bar for the whole sync: bytes fetched across every model task, packs installed as a postfix."""

    def __init__(self, plan: SyncPlan) -> None:
        self.plan = plan
        self.ids: set[str] = set()
        self.done: dict[str, float] = {}
        self.packs = sum(1 for i in plan.items if i.action == "install")
        self.packs_done = 0
        self.bar: Any = None

    def __enter__(self) -> OverallBar:
        self.bar = tqdm(desc="sync", total=self.plan.bytes_to_fetch or None, unit="B", unit_scale=True,
                        unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def watching(self, ids: set[str]) -> None:
        self.ids = ids

    def __call__(self, event: str, data: dict, client_id: str | None = None) -> None:
        if event != EVENT or (self.ids and data.get("id") not in self.ids):
            return
        if data.get("kind") == "install":
            if data.get("state") == "completed":
                self.packs_done += 1
        else:
            done = (data.get("progress") or {}).get("done") or 0
            self.done[data["id"]] = max(self.done.get(data["id"], 0), done)
            total = sum(self.done.values())
            self.bar.update(max(0, total - self.bar.n))
        if self.packs:
            self.bar.set_postfix_str(f"packs {self.packs_done}/{self.packs}", refresh=False)
        self.bar.refresh()


def render_plan(plan: SyncPlan, *, done: bool = False) -> str:
    rows = [("KIND", "NAME", "SIZE", "ACTION" if not done else "RESULT", "DETAIL")]
    for i in plan.items:
        result = i.outcome or i.action
        detail = (i.error or {}).get("message") or i.detail
        rows.append((i.kind, i.name, _size(i.size) if i.kind == "model" else "", result, detail))
    widths = [min(48, max(len(r[c]) for r in rows)) for c in range(4)]
    lines = ["  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4] for r in rows]
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.summary().items()))
    if done:
        lines.append(f"{'OK' if plan.ok else 'INCOMPLETE'}: {counts}")
    else:
        lines.append(f"plan: {counts}; {_size(plan.bytes_to_fetch)} to download"
                     + (f" into the shared cache {plan.shared_cache}" if plan.shared_cache else ""))
    return "\n".join(lines)
