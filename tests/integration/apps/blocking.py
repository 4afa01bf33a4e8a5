"""A test app with plain ``def`` handlers, which run in the server's bounded thread pool."""

from __future__ import annotations

import sys
import time

from heron import App, Request, Response

app = App()


@app.get("/block")
def block(request: Request) -> Response:
    """Hold a pool thread for ``s`` seconds (time.sleep: a blocking call, as in real code)."""
    print("blocking: block started", file=sys.stderr, flush=True)
    time.sleep(float(request.query.get("s", "1")))
    return Response("unblocked\n")


@app.post("/upload")
def upload(request: Request) -> Response:
    """Read the body from a pool thread (Request.read blocks while the loop reads the socket)."""
    return Response(f"read {len(request.read())}\n")


@app.get("/ping")
async def ping(request: Request) -> Response:
    return Response("pong\n")
