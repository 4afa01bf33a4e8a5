"""A test app whose async handlers take their time, for shutdown, 100-continue and worker tests.

Handlers print a marker to stderr when they start, so a test can wait for
"the request is in flight" instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import os
import sys

from collections.abc import AsyncIterator

from heron import App, Request, Response, StreamingResponse

app = App()


def _seconds(request: Request) -> float:
    return float(request.query.get("s", "1"))


@app.get("/sleep")
async def sleep(request: Request) -> Response:
    print("slow: sleep started", file=sys.stderr, flush=True)
    await asyncio.sleep(_seconds(request))
    return Response("slept\n")


@app.post("/read-later")
async def read_later(request: Request) -> Response:
    """Wait, then read the body: 100 Continue must not be sent before the read."""
    print("slow: read-later started", file=sys.stderr, flush=True)
    await asyncio.sleep(_seconds(request))
    body = await request.body()
    return Response(f"read {len(body)}\n")


@app.get("/pid")
async def pid(request: Request) -> Response:
    return Response(f"{os.getpid()}\n")


@app.get("/broken-stream")
async def broken_stream(request: Request) -> Response:
    """A stream whose generator fails after the head and two chunks went out."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        yield b"second\n"
        raise RuntimeError("deliberate failure in the middle of a stream")

    return StreamingResponse(chunks())


@app.get("/marked-stream")
async def marked_stream(request: Request) -> Response:
    """A stream that says on stderr when its generator starts and when it is closed."""

    async def chunks() -> AsyncIterator[bytes]:
        try:
            print("slow: stream generator running", file=sys.stderr, flush=True)
            yield b"produced\n"
        finally:
            print("slow: stream generator closed", file=sys.stderr, flush=True)

    return StreamingResponse(chunks())


@app.get("/loop")
async def loop_kind(request: Request) -> Response:
    """The module of the running event loop's class: which --loop is in use."""
    return Response(type(asyncio.get_running_loop()).__module__ + "\n")


@app.get("/wait-for-disconnect")
async def wait_for_disconnect(request: Request) -> Response:
    """A long poll that gives up when its client leaves, and says so on stderr."""
    print("slow: waiting for the client to leave", file=sys.stderr, flush=True)
    try:
        await asyncio.wait_for(request.disconnected(), _seconds(request))
    except asyncio.TimeoutError:
        return Response("still here\n")
    print("slow: the client left", file=sys.stderr, flush=True)
    return Response("nobody will read this\n")


@app.get("/trailers")
async def trailers(request: Request) -> Response:
    """A chunked body whose trailer section carries a digest computed while it streamed."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        yield b"second\n"
        response.trailers = [("Digest-Chunks", "2")]

    response = StreamingResponse(chunks())
    return response
