"""Who receives progress text in a real ComfyUI, for a node of another pack (``tests/e2e/progress_text_pack``).

Two websocket clients with their own ``client_id`` (two browser tabs) and one API-only client (no
``client_id``) each queue a *Progress Text Probe* (node id 1 in all three prompts) that calls ComfyUI's
own ``send_progress_text`` with ``sid=None``. Mend's policy (docs/for-extension-authors.md):
each client gets its own prompt's binary frames and ``mend.progress_text`` twins; the API-only prompt's
are a broadcast, so its script still receives them; a socket following all prompts gets labelled
copies of the twins and no binary frame of other prompts.
"""

from __future__ import annotations

from collections import Counter

import aiohttp

from .ws_client import Client, wait_for_history

COUNT = 6


def probe(label: str, count: int = COUNT, delay: float = 0.05) -> dict:
    return {"1": {"class_type": "ProgressTextProbe", "inputs": {"label": label, "count": count, "delay": delay}}}


def sent(label: str, count: int = COUNT) -> list[tuple[str, str]]:
    """What the probe sends: (node id, text) for each call, in order."""
    return [("1", f"{label} {i}/{count}") for i in range(1, count + 1)]


async def test_each_client_receives_its_own_prompts_text_and_an_api_prompt_stays_broadcast(comfyui):
    async with aiohttp.ClientSession() as session:
        a, b = Client(comfyui, session), Client(comfyui, session)
        api = Client(comfyui, session, api_only=True)
        watcher = Client(comfyui, session)  # a tab with the jobs view's "all clients" switch on
        for client in (a, b, api, watcher):
            await client.connect()
        await watcher.follow_all()
        pa = await a.queue(probe("A"))
        pb = await b.queue(probe("B"))
        pc = await api.queue(probe("C"))
        await a.wait_for(lambda: pa in a.finished)
        await b.wait_for(lambda: pb in b.finished)
        history = await wait_for_history(comfyui, pc)
        assert history["status"]["status_str"] == "success", comfyui.log()[-3000:]
        await api.wait_for(lambda: len(api.texts) >= COUNT)
        for client in (a, b, watcher):  # the broadcast of C reached every socket
            await client.wait_for(lambda c=client: sum(t.endswith(f"/{COUNT}") and t.startswith("C ")
                                                       for _n, t in c.texts) == COUNT)

    # binary frames: A's only to a, B's only to b, C's (no client id) to every socket
    assert a.texts == sent("A") + sent("C")
    assert b.texts == sent("B") + sent("C")
    assert api.texts == sent("C")
    assert watcher.texts == sent("C")  # following gives twins, never other prompts' binary frames
    # the sum over the clients that queued equals what was sent: each text once, to its own client
    frames = Counter(a.texts + b.texts)
    assert all(frames[t] == 1 for t in sent("A") + sent("B"))

    # twins: the same recipients, each labelled with its prompt and how it was addressed
    def twins(client: Client) -> list[tuple[str, str, str]]:
        return [(t["prompt_id"], t["text"], t["scope"]) for t in client.mend_texts()]

    own = {pa: "A", pb: "B"}
    for client, prompt in ((a, pa), (b, pb)):
        assert twins(client) == ([(prompt, t, "client") for _n, t in sent(own[prompt])]
                                 + [(pc, t, "broadcast") for _n, t in sent("C")])
    assert twins(api) == [(pc, t, "broadcast") for _n, t in sent("C")]
    assert twins(watcher) == ([(pa, t, "follow") for _n, t in sent("A")] + [(pb, t, "follow") for _n, t in sent("B")]
                              + [(pc, t, "broadcast") for _n, t in sent("C")])
    assert {(t["node_id"], t["display_node_id"]) for c in (a, b, api, watcher) for t in c.mend_texts()} == {("1", "1")}
    assert a.id not in str(watcher.json) and b.id not in str(watcher.json)  # no client id is handed out
