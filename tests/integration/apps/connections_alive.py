"""A test app that counts heron's connection objects still in memory, with the cycle collector off.

``gc.disable()`` at import: from then on an object is freed only when nothing
refers to it, so a connection left in a reference cycle after it closed stays
in memory and is counted. GET /alive answers how many ``HTTPConnection``
objects exist (this request's own included); GET /plaintext is a small page.
"""

from __future__ import annotations

import gc

from heron import App, JSONResponse, Request, Response
from heron.server.connection import HTTPConnection

gc.disable()
app = App()


@app.get("/alive")
async def alive(request: Request) -> Response:
    return JSONResponse({"connections": sum(isinstance(o, HTTPConnection) for o in gc.get_objects())})


@app.get("/plaintext")
async def plaintext(request: Request) -> Response:
    return Response(b"Hello, World!", content_type="text/plain")
