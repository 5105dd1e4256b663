"""Install several decided packs and wait for them: what ``mend resolve`` on a headless server calls.

Each pack becomes an ``install`` task on ``mend.tasks`` (the same runner, journal, limits and events
as the HTTP route), so a CLI run and the panel report installs the same way.

    outcomes = await install_decided_packs(mend, [{"id": "comfyui-videohelpersuite", "version": "1.7.9"},
                                                  {"repository": "https://github.com/a/b", "commit": "abc123"}])
    # [{"request": {...}, "state": "completed", "task_id": "...", "result": {...}}, {..., "error": {...}}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..catalog.install_plan import install_body
from ..catalog.node_map import Pack
from ..errors import MendError
from .pack_task import install_runner
from .request import InstallRequest


def request_for(pack: Pack | Mapping[str, Any], version: str | None = None) -> dict[str, Any]:
    """A route-shaped body for a catalog ``Pack`` (registry id when it has one, and its repository)."""
    if isinstance(pack, Mapping):
        return dict(pack)
    return install_body(pack, version)


async def install_decided_packs(mend: Any, packs: Iterable[Pack | Mapping[str, Any]], *,
                                client_id: str | None = None, timeout: float | None = None) -> list[dict]:
    """Queue one install per pack, wait for all, and say how each ended (never raises for one pack)."""
    runner = install_runner(mend)
    outcomes: list[dict] = []
    submitted = []
    for pack in packs:
        body = request_for(pack)
        try:
            params = InstallRequest.parse(body, runner.policy).to_params()
            task = await mend.tasks.submit("install", params, client_id=client_id)
        except MendError as exc:
            outcomes.append({"request": body, "state": "refused", "error": exc.to_json()["error"]})
            continue
        submitted.append((body, task))
    for body, task in submitted:
        done = await mend.tasks.wait(task.id, timeout=timeout)
        outcome = {"request": body, "state": done.state, "task_id": done.id}
        data = done.to_json()
        if done.state == "completed":
            outcome["result"] = data.get("result")
        else:
            outcome["error"] = data.get("error")
        outcomes.append(outcome)
    return outcomes
