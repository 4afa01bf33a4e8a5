"""A plain ASGI 3 app (no framework, no heron import) that probes the ASGI ``websocket`` scope.

tests/integration/test_asgi_websocket.py runs it under ``python -m heron``.
Each WebSocket path does one thing the ASGI WebSocket spec (2.4) allows;
what happens inside the app (the messages ``receive`` gave, the exception
``send`` raised) is recorded under the ``tag`` query parameter and read
back over HTTP with ``GET /events?tag=...``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

EVENTS: dict[str, list[Any]] = {}


def record(scope: dict[str, Any], event: Any) -> None:
    tag = query(scope).get("tag")
    if tag:
        EVENTS.setdefault(tag, []).append(event)


def query(scope: dict[str, Any]) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True).items()}


def text(value: Any) -> Any:
    """``value`` with bytes as latin-1 text, so that a scope can be sent as JSON."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    if isinstance(value, dict):
        return {k: text(v) for k, v in value.items()}
    return value


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            scope["state"]["started"] = True
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "http":
        body = json.dumps(EVENTS.get(query(scope).get("tag", ""), [])).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
    else:
        connect = await receive()
        record(scope, connect["type"])
        await PATHS[scope["path"]](scope, receive, send)


# -- accepted ---------------------------------------------------------------------------------


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accept (with the subprotocol and header the query names), echo each message, record the disconnect."""
    wanted = query(scope)
    accept: dict[str, Any] = {"type": "websocket.accept", "headers": [(b"x-probe", b"accepted")]}
    if "subprotocol" in wanted:
        accept["subprotocol"] = wanted["subprotocol"]
    await send(accept)
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})
    record(scope, message)


async def scope_report(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accept and send the scope as one text message (bytes as latin-1), then close normally."""
    report = {k: text(v) for k, v in scope.items() if k not in ("state", "extensions")}
    report["types"] = {k: type(v).__name__ for k, v in scope.items()}
    report["state"] = sorted(scope["state"])
    report["extensions"] = sorted(scope.get("extensions") or {})
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps(report)})
    await send({"type": "websocket.close"})


async def server_close(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accept, say goodbye, close with 4001; record what ``receive`` gives after the close."""
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "bytes": b"bye"})
    await send({"type": "websocket.close", "code": 4001, "reason": "probe is done"})
    record(scope, await receive())


async def send_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Wait for the client to leave, then send: the spec says that raises an OSError."""
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass
    try:
        await send({"type": "websocket.send", "text": "anyone there?"})
    except OSError as exc:
        record(scope, f"OSError {type(exc).__name__}")
    else:
        record(scope, "sent")


async def raise_after_accept(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "about to fail"})
    raise RuntimeError("asgi_ws_probe: deliberate failure after accept")


async def ticks(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Send a message every 20 ms without reading until the connection is gone; record how that surfaced."""
    await send({"type": "websocket.accept"})
    try:
        for i in range(500):
            await send({"type": "websocket.send", "text": f"tick {i}"})
            await asyncio.sleep(0.02)
    except OSError:
        record(scope, "send raised")
        record(scope, await receive())


# -- refused ----------------------------------------------------------------------------------


async def close_before_accept(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "websocket.close", "code": 1008})


async def return_before_accept(scope: dict[str, Any], receive: Any, send: Any) -> None:
    return


async def raise_before_accept(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("asgi_ws_probe: deliberate failure before accept")


async def denial(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The WebSocket Denial Response extension: an HTTP answer of the app's own, body in two parts."""
    await send({"type": "websocket.http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Token")]})
    await send({"type": "websocket.http.response.body", "body": b"members ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"only\n"})


async def bad_accept_header(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An accept whose header value would split the response: refused by the server, the app fails."""
    await send({"type": "websocket.accept", "headers": [(b"x-probe", b"ok\r\nSet-Cookie: stolen=1")]})


async def accept_twice(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "websocket.accept"})
    try:
        await send({"type": "websocket.accept"})
    except RuntimeError as exc:
        record(scope, f"RuntimeError {exc}")
    await send({"type": "websocket.close", "code": 1000})


PATHS = {
    "/echo": echo,
    "/scope": scope_report,
    "/server-close": server_close,
    "/send-after-disconnect": send_after_disconnect,
    "/raise-after-accept": raise_after_accept,
    "/ticks": ticks,
    "/close-before-accept": close_before_accept,
    "/return-before-accept": return_before_accept,
    "/raise-before-accept": raise_before_accept,
    "/denial": denial,
    "/bad-accept-header": bad_accept_header,
    "/accept-twice": accept_twice,
}
