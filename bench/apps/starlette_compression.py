"""bench/compression.py's Starlette apps, run by uvicorn: ``GZipMiddleware`` in front of the routes
heron_compression.py has, answering the same bytes. ``app`` has Starlette's defaults
(compresslevel 9); ``app_level6`` uses heron's level, so that both servers do the same zlib work."""
from __future__ import annotations

from collections.abc import AsyncIterator

import compression_bodies as bodies
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


async def json_1k(request: Request) -> Response:
    return Response(bodies.JSON_1K, media_type="application/json")


async def json_100k(request: Request) -> Response:
    return Response(bodies.JSON_100K, media_type="application/json")


async def stream_1m(request: Request) -> Response:
    return StreamingResponse(pieces(), media_type="application/x-ndjson")


async def pieces() -> AsyncIterator[bytes]:
    for piece in bodies.STREAM:
        yield piece


def make(gzip: Middleware) -> Starlette:
    routes = [Route("/json-1k", json_1k), Route("/json-100k", json_100k), Route("/stream-1m", stream_1m)]
    return Starlette(routes=routes, middleware=[gzip])


app = make(Middleware(GZipMiddleware))
app_level6 = make(Middleware(GZipMiddleware, compresslevel=6))
