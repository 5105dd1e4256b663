"""Where ``mend resolve`` runs its installs and downloads: in this process, or on the Mend server that
owns the state (``core/server_beacon.py``). It says which, in one line, before any work starts."""

from __future__ import annotations

from ..core.errors import BadRequest
from ..core.server_beacon import owner
from ..core.services import Mend
from .server_client import ServerClient


async def choose_server(mend: Mend, explicit: str | None = None) -> ServerClient | None:
    """The server to hand the work to (``--server``, else the state's owner), or None to work here."""
    state = mend.state_dir
    url = explicit or owner(state)
    if url is None:
        print(f"mode: standalone — no Mend server owns {state}; installs and downloads run in this process")
        return None
    if not url:
        raise BadRequest(f"another Mend process runs tasks from {state} and did not say where it listens: "
                         "pass its ComfyUI's address with --server URL", field="--server")
    client = await ServerClient.connect(url)
    why = "as asked (--server)" if explicit else f"it owns {state}"
    print(f"mode: server — handing installs and downloads to the Mend server at {client.url} ({why}); "
          "its panel shows them too")
    return client
