"""What only Starlette does here: app.state set by the lifespan, and the state it yields, seen by requests.

The flows every hosted app shares (JSON, forms and uploads parsed by
python-multipart, sessions, StreamingResponse and its failure mid-stream,
generators stopped when the client goes away, background tasks, lifespan
token and shutdown, disconnects, errors, keep-alive, root path, ...) are
checked on the Starlette app too, in test_hosted_apps.py.
"""

from __future__ import annotations

import time

import requests

from .hosted_support import STARLETTE, module_server
from .support import Server

server = module_server(STARLETTE)


def test_lifespan_startup_state_is_seen_by_requests(server: Server) -> None:
    before = time.time()
    state = requests.get(server.url("/state"), timeout=5).json()
    assert state["started_at"] < before  # app.state, set before the server took requests
    assert state["greeting"] == "hello from the lifespan"  # request.state, from the state the lifespan yielded
