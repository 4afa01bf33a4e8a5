"""A heron App with WebSocket routes for the integration tests; it says on stderr what its handlers saw."""

from __future__ import annotations

import asyncio
import sys

from heron import App, HTTPError, Request, Response, WebSocket

app = App()


def note(text: str) -> None:
    print(f"wsapp: {text}", file=sys.stderr, flush=True)


@app.websocket("/echo")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)
    note(f"closed {ws.close_code} {ws.close_reason!r}")


@app.websocket("/rooms/{room:int}")
async def room(ws: WebSocket, room: int) -> None:
    preferred = [p for p in ("chat.v2", "chat.v1") if p in ws.subprotocols]
    await ws.accept(subprotocol=preferred[0] if preferred else None, headers={"X-Room": str(room)})
    await ws.send_json({"room": room, "subprotocol": ws.subprotocol, "query": ws.request.query_string})
    message = await ws.receive_json()
    await ws.send_json({"got": message})
    await ws.close(4000, "done")


@app.get("/rooms/{room:int}")
async def room_page(request: Request, room: int) -> str:
    return f"room {room} over HTTP\n"


@app.websocket("/refuse")
async def refuse(ws: WebSocket) -> None:
    note("refusing")


@app.websocket("/teapot")
async def teapot(ws: WebSocket) -> Response:
    return Response(b"no\n", 418)


@app.websocket("/private")
async def private(ws: WebSocket) -> None:
    if ws.request.headers.get("authorization") != "Bearer t0ken":
        raise HTTPError(401, headers=[("WWW-Authenticate", "Bearer")])
    await ws.accept()
    await ws.send_text("welcome")


@app.websocket("/slow-accept")
async def slow_accept(ws: WebSocket) -> None:
    await asyncio.sleep(30)


@app.websocket("/sleepy")
async def sleepy(ws: WebSocket) -> None:
    """Accepts, then does not read for a long time: the client's messages must wait, not pile up."""
    await ws.accept()
    note("sleepy accepted")
    await asyncio.sleep(30)


@app.websocket("/server-closes")
async def server_closes(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("bye")
    await ws.close(1000, "server says bye")
    note(f"close answered {ws.close_code}")


@app.websocket("/fails")
async def fails(ws: WebSocket) -> None:
    await ws.accept()
    raise RuntimeError("deliberate failure after accept")


@app.websocket("/binary-only")
async def binary_only(ws: WebSocket) -> None:
    await ws.accept()
    data = await ws.receive_bytes()
    await ws.send_bytes(data[::-1])


@app.websocket("/burst")
async def burst(ws: WebSocket) -> None:
    """Many small messages in one go, a ping among them, then a close: they must arrive in order."""
    await ws.accept()
    count = int(ws.request.query.get("count", "1000"))
    for i in range(count):
        await ws.send_text(f"{i:05d}" + "." * 95)
        if i == count // 2:
            await ws.ping(b"halfway")
    await ws.send_bytes(b"end")
    await ws.close(1000, "burst done")
