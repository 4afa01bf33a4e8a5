"""The benchmark app: the endpoints bench/run.py checks and loads, as a heron App.

Same endpoints and byte-identical bodies as the anchor servers' apps in bench/apps/.

GET /plaintext, /json, /user/{name}, /static/{file}; POST /echo. All handlers
are ``async def`` so they run on the event loop.
"""

from __future__ import annotations

import json
import os

from heron import App, HTTPError, Request, Response

app = App()
STATIC_DIR = os.environ.get("BENCH_STATIC_DIR", "")
TEXT = "text/plain; charset=utf-8"


@app.get("/plaintext")
async def plaintext(request: Request) -> Response:
    return Response(b"Hello, World!", content_type=TEXT)


@app.get("/json")
async def json_message(request: Request) -> Response:
    return Response(json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode(),
                    content_type="application/json")


@app.get("/user/{name}")
async def user(request: Request, name: str) -> Response:
    return Response(f"Hello, {name}!".encode(), content_type=TEXT)


@app.get("/static/{name}")
async def static(request: Request, name: str) -> Response:
    if name.startswith(".") or not STATIC_DIR:
        raise HTTPError(404)
    try:
        with open(os.path.join(STATIC_DIR, name), "rb") as f:
            return Response(f.read(), content_type="application/octet-stream")
    except OSError:
        raise HTTPError(404) from None


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), content_type="application/octet-stream")
