"""bench/compression.py's heron app: the compression middleware with its defaults in front of
three routes, each answering the bytes of ``compression_bodies`` (encoding JSON is not what is
measured). The twin of starlette_compression.py."""
from __future__ import annotations

from collections.abc import AsyncIterator

import compression_bodies as bodies

from heron import App, Request, Response, StreamingResponse
from heron.web.compression import compression

app = App()
app.add_middleware(compression())


@app.get("/json-1k")
async def json_1k(request: Request) -> Response:
    return Response(bodies.JSON_1K, content_type="application/json")


@app.get("/json-100k")
async def json_100k(request: Request) -> Response:
    return Response(bodies.JSON_100K, content_type="application/json")


@app.get("/stream-1m")
async def stream_1m(request: Request) -> Response:
    return StreamingResponse(pieces(), content_type="application/x-ndjson")


async def pieces() -> AsyncIterator[bytes]:
    for piece in bodies.STREAM:
        yield piece
