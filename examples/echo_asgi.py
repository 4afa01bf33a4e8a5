"""examples/echo.py written as a plain ASGI 3 app: no framework, no heron import.

Run it with ``python3 -m heron examples/echo_asgi.py:app --port 8000``, or
under any other ASGI server. It answers every endpoint of examples/echo.py
with the same statuses, headers and bodies (the router's rules included:
404, 405 with ``Allow``, automatic ``OPTIONS``, and the 308 that drops a
trailing slash), so the same conformance probes can run through heron's
ASGI adapter; examples/echo_wsgi.py does the same for WSGI.

ASGI gives the request headers in the order received but with lower-case
names (``scope["headers"]``), so ``/echo`` reports ``["x-request-id", "1"]``
where heron's echo reports ``["X-Request-ID", "1"]``; values, order and
repeated fields are as received.

A WebSocket handshake arrives as a ``websocket`` scope: ``/ws`` accepts it
and echoes every message, text as text and binary as binary; any other
path closes before accepting, which the server answers with 403 (heron's
echo app would answer such a request as plain HTTP).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[..., Awaitable[None]]

TEXT = "text/plain; charset=utf-8"
GET_ONLY = ("GET", "HEAD", "OPTIONS")  # the Allow header of a GET route (HEAD and OPTIONS come free)
MAX_STREAM_CHUNKS = 100_000
MAX_STATUS_DIGITS = 18  # as heron's {code:int} converter


class Reply(Exception):
    """A canned answer (an error, a redirect) raised from anywhere in the app."""

    def __init__(self, status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()) -> None:
        self.status, self.body, self.headers = status, body, list(headers)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":  # nothing to set up or tear down, but say so
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await (websocket_echo(receive, send) if scope["path"] == "/ws" else refuse_websocket(send))
        return
    method, path = scope["method"], scope["path"]
    try:
        if method == "OPTIONS" and path == "*":  # OPTIONS * asks about the server as a whole
            raise Reply(204, headers=[("Allow", ", ".join(GET_ONLY))])
        handler, arg = route(method, path, scope)
        await handler(scope, receive, send, *arg)
    except Reply as reply:
        headers = [*reply.headers, ("Content-Type", TEXT)] if reply.body else reply.headers
        await respond(send, reply.status, reply.body, headers)


def route(method: str, path: str, scope: Scope) -> tuple[Handler, tuple[Any, ...]]:
    """The handler for ``path`` and its argument; raises the 404, 405 or 308 that heron's router would."""
    found = match(method, path)
    if found is not None:
        return found
    raw_path = scope.get("raw_path") or path.encode("utf-8")
    if path.endswith("/") and raw_path.endswith(b"/") and len(path) > 1 and match(method, path[:-1]):
        query = scope["query_string"].decode("latin-1")
        raise Reply(308, headers=[("Location", raw_path[:-1].decode("latin-1") + ("?" + query if query else ""))])
    if path in GET_ROUTES:
        if method == "OPTIONS":
            raise Reply(204, headers=[("Allow", ", ".join(GET_ONLY))])
        raise Reply(405, b"Method Not Allowed\n", [("Allow", ", ".join(GET_ONLY))])
    raise Reply(404, b"Not Found\n")


def match(method: str, path: str) -> tuple[Handler, tuple[Any, ...]] | None:
    if path == "/echo":
        return echo, ()
    code = path.removeprefix("/status/")
    if code != path and code.isascii() and code.isdigit() and len(code) <= MAX_STATUS_DIGITS:
        return status, (int(code),)
    if path in GET_ROUTES and method in ("GET", "HEAD"):
        return GET_ROUTES[path], ()
    return None


async def respond(send: Send, code: int, body: bytes, headers: list[tuple[str, str]],
                  more_body: bool = False) -> None:
    """Send the head and ``body``; header names and values go as latin-1 bytes, unchecked."""
    await send({"type": "http.response.start", "status": code,
                "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]})
    await send({"type": "http.response.body", "body": body, "more_body": more_body})


def first(scope: Scope, name: str, default: str) -> str:
    """The first value of query parameter ``name`` (``+`` is a space, UTF-8 escapes decoded)."""
    query: str = scope["query_string"].decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            return value
    return default


# -- the endpoints ---------------------------------------------------------------------


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    digest, length = hashlib.sha256(), 0
    more_body = True
    while more_body:  # the whole body, chunked or not, a message at a time
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the client left, or its body could not be read: the server answers that
        digest.update(message.get("body", b""))
        length += len(message.get("body", b""))
        more_body = message.get("more_body", False)
    body = json.dumps({
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in scope["headers"]],
        "body_len": length,
        "body_sha256": digest.hexdigest(),
    }, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    await respond(send, 200, body, [("Content-Type", "application/json")])


async def plaintext(scope: Scope, receive: Receive, send: Send) -> None:
    await respond(send, 200, b"Hello, World!", [("Content-Type", "text/plain")])


async def status(scope: Scope, receive: Receive, send: Send, code: int) -> None:
    if not 100 <= code <= 599:
        raise Reply(400, b"status must be 100-599\n")
    if code < 200 or code in (204, 304):
        await respond(send, code, b"", [])
    else:
        await respond(send, code, f"{code}\n".encode(), [("Content-Type", TEXT)])


async def header(scope: Scope, receive: Receive, send: Send) -> None:
    name, value = first(scope, "name", ""), first(scope, "value", "")
    await respond(send, 200, b"ok\n", [("Content-Type", "text/plain"), (name, value)])  # unchecked on purpose


async def stream(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        n = int(first(scope, "n", "3"))
    except ValueError:
        raise Reply(400, b"n must be an integer\n") from None
    if not 0 <= n <= MAX_STREAM_CHUNKS:
        raise Reply(400, f"n must be 0-{MAX_STREAM_CHUNKS}\n".encode())
    # more_body=True from the first message: a stream with no length, chunked by the server, even when n=0.
    await respond(send, 200, b"", [("Content-Type", TEXT)], more_body=True)
    for i in range(n):
        await send({"type": "http.response.body", "body": b"chunk%d\n" % i, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def fail(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("deliberate failure from /raise")


async def websocket_echo(receive: Receive, send: Send) -> None:
    """``/ws``: accept, then send back each message as it came until the client closes."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})


async def refuse_websocket(send: Send) -> None:
    await send({"type": "websocket.close"})


GET_ROUTES: dict[str, Handler] = {"/plaintext": plaintext, "/header": header, "/stream": stream, "/raise": fail}
