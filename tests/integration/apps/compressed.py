"""A test app behind the compression middleware: text, JSON, and a stream that pauses between pieces; it decodes
gzip request bodies too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from heron import App, Request, Response, StreamingResponse
from heron.web.compression import compression

app = App(decompress_requests=True)
app.add_middleware(compression())
TEXT = "heron compresses what shrinks. " * 1000


@app.get("/text")
async def text(request: Request) -> Response:
    return Response(TEXT, headers=[("ETag", '"t1"')])


@app.get("/json")
async def data(request: Request) -> Any:
    return {"numbers": list(range(5000))}


@app.get("/events")
async def events(request: Request) -> StreamingResponse:
    """Server-Sent Events: one now, the next a second later."""
    async def stream() -> AsyncIterator[str]:
        yield "data: first\n\n"
        await asyncio.sleep(1.0)
        yield "data: second\n\n"
    return StreamingResponse(stream(), content_type="text/event-stream")


@app.post("/count")
async def count(request: Request) -> Any:
    """How many (decoded) bytes the body held."""
    return {"bytes": len(await request.body())}
