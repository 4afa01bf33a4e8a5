"""The benchmark app: the endpoints bench/run.py checks and loads, as a heron App.

Same endpoints and byte-identical bodies as the anchor servers' apps in bench/apps/.

GET /plaintext, /json, /user/{name}; POST /echo; POST /upload (a multipart form read
with ``request.form()``, for bench/upload.py). These handlers are ``async def``
so they run on the event loop. /static/{file} is heron's ``StaticFiles`` over
BENCH_STATIC_DIR (set by run.py; its file system calls run in heron's thread pool),
the same files nginx serves, so the static scenarios measure what a heron user gets
from ``App.static``, not a hand-made handler. WebSocket /ws echoes every message,
text as text and binary as binary (bench/websocket.py loads it).
"""

from __future__ import annotations

import os
import time

from heron import App, JSONResponse, Request, Response, WebSocket

app = App()
STATIC_DIR = os.environ.get("BENCH_STATIC_DIR", "")
TEXT = "text/plain; charset=utf-8"
if STATIC_DIR:  # StaticFiles refuses a missing directory; unset, /static is a 404
    app.static("/static", STATIC_DIR)


@app.get("/plaintext")
async def plaintext(request: Request) -> Response:
    return Response(b"Hello, World!", content_type=TEXT)


@app.get("/json")
async def json_message(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})  # compact: the anchors' bytes exactly


@app.get("/user/{name}")
async def user(request: Request, name: str) -> Response:
    return Response(f"Hello, {name}!".encode(), content_type=TEXT)


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), content_type="application/octet-stream")


@app.post("/upload")
async def upload(request: Request) -> Response:
    """Read the form (files spooled to disk past 1 MiB) and say what arrived and how long it took."""
    started = time.perf_counter()
    form = await request.form(max_upload_bytes=1 << 40)
    files = form.files()
    return JSONResponse({"size": sum(f.size for f in files), "files": len(files),
                         "form_seconds": round(time.perf_counter() - started, 3),
                         "on_disk": sum(not f.in_memory for f in files)})


@app.websocket("/ws")
async def ws_echo(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)
