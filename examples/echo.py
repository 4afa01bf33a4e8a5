"""An app that shows the server what it received; tests and conformance probes use it.

Run it with ``python3 -m heron examples/echo.py:app --port 8000``.

- any method on ``/echo``: JSON with method, decoded path, raw query, headers,
  body length and SHA-256 (the body read whole, Content-Length or chunked);
- ``GET /plaintext``: ``Hello, World!``;
- any method on ``/status/{code}``: that status (empty body for 204, 304); a
  1xx is not a final status, so the server refuses it from a handler with 500;
- ``GET /header?name=X&value=Y``: response header X set to Y, appended to
  ``response.headers`` directly so that it skips the check ``Response``
  makes when headers are given to it: this is how tests prove that the
  server, at send time, still refuses a value that would split the response;
- ``GET /stream?n=N``: N chunks ``chunk{i}`` with no length given;
- ``GET /raise``: an exception in the handler (the server answers 500);
- WebSocket ``/ws``: every message echoed, text as text, binary as binary.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from heron import App, HTTPError, JSONResponse, Request, Response, StreamingResponse, WebSocket

app = App()
ALL_METHODS = ["*"]  # every method, including extension methods such as PROPFIND
MAX_STREAM_CHUNKS = 100_000


@app.route("/echo", methods=ALL_METHODS)
async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "headers": [[name, value] for name, value in request.headers.raw],
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    })


@app.get("/plaintext")
async def plaintext(request: Request) -> Response:
    return Response(b"Hello, World!", content_type="text/plain")


@app.route("/status/{code:int}", methods=ALL_METHODS)
async def status(request: Request, code: int) -> Response:
    if not 100 <= code <= 599:
        raise HTTPError(400, "status must be 100-599")
    if code < 200 or code in (204, 304):
        return Response(b"", code)
    return Response(f"{code}\n", code)


@app.get("/header")
async def header(request: Request) -> Response:
    query = request.query
    response = Response(b"ok\n", content_type="text/plain")
    response.headers.append((query.get("name", ""), query.get("value", "")))  # unchecked on purpose
    return response


@app.get("/stream")
async def stream(request: Request) -> Response:
    try:
        n = int(request.query.get("n", "3"))
    except ValueError:
        raise HTTPError(400, "n must be an integer") from None
    if not 0 <= n <= MAX_STREAM_CHUNKS:
        raise HTTPError(400, f"n must be 0-{MAX_STREAM_CHUNKS}")

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(n):
            yield b"chunk%d\n" % i

    return StreamingResponse(chunks())


@app.get("/raise")
async def fail(request: Request) -> Response:
    raise RuntimeError("deliberate failure from /raise")


@app.websocket("/ws")
async def ws_echo(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)
