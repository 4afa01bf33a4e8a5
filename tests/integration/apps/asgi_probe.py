"""A plain ASGI 3 app (no framework, no heron import) that reports what the server gave it.

tests/integration/test_asgi.py runs it under ``python -m heron``. Each
path probes one part of the ASGI HTTP and lifespan specs; what happens
inside the app (messages received, exceptions raised by ``send``, work
done after the response) is recorded in ``EVENTS`` under a ``tag`` the
test chooses, and read back with ``GET /events?tag=...``.

Environment:

- ``ASGI_PROBE_LIFESPAN``: ``ok`` (default: startup puts ``started`` in
  the lifespan state), ``fail`` (answers ``lifespan.startup.failed``) or
  ``raise`` (raises on the lifespan scope: no lifespan support);
- ``ASGI_PROBE_MARKER``: a file written when ``lifespan.shutdown`` arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs

EVENTS: dict[str, list[Any]] = {}
LIFESPAN: list[str] = []
"""Every lifespan message type received, in order."""

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


def record(tag: str, event: Any) -> None:
    if tag:
        EVENTS.setdefault(tag, []).append(event)


def query(scope: dict[str, Any]) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True).items()}


async def send_json(send: Any, data: Any, status: int = 200) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Any) -> tuple[bytes, list[tuple[int, bool]]]:
    """The whole body, and (length, more_body) of each http.request message."""
    pieces: list[bytes] = []
    messages: list[tuple[int, bool]] = []
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        pieces.append(message.get("body", b""))
        messages.append((len(message.get("body", b"")), message.get("more_body", False)))
        if not message.get("more_body", False):
            return b"".join(pieces), messages


# -- lifespan ----------------------------------------------------------------------------------


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    mode = os.environ.get("ASGI_PROBE_LIFESPAN", "ok")
    if mode == "raise":
        raise RuntimeError("asgi_probe: this app does not do lifespan")
    while True:
        message = await receive()
        LIFESPAN.append(message["type"])
        if message["type"] == "lifespan.startup":
            if mode == "fail":
                await send({"type": "lifespan.startup.failed", "message": "asgi_probe: the cache is unreachable"})
                return
            scope["state"]["started"] = "by lifespan.startup"
            scope["state"]["shared"] = {"counter": 0}
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            marker = os.environ.get("ASGI_PROBE_MARKER")
            if marker:
                with open(marker, "w") as file:
                    file.write(f"shutdown after {LIFESPAN}\n")
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- http --------------------------------------------------------------------------------------


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    return value


async def scope_report(scope: dict[str, Any], receive: Any, send: Any) -> None:
    report = {k: _text(v) for k, v in scope.items() if k not in ("state", "extensions")}
    report["types"] = {k: type(v).__name__ for k, v in scope.items()}
    report["header_types"] = sorted({type(x).__name__ for pair in scope["headers"] for x in pair})
    report["state"] = sorted(scope.get("state", {}))
    report["extensions"] = sorted(scope.get("extensions") or {})
    await send_json(send, report)


async def state(scope: dict[str, Any], receive: Any, send: Any) -> None:
    st = scope["state"]
    report = {"keys": sorted(st), "started": st.get("started")}
    st["mutated-by-request"] = True  # a shallow copy per request: the next request must not see this
    await send_json(send, report)


async def receive_report(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body, messages = await read_body(receive)
    await send_json(send, {"messages": messages, "length": len(body), "body_head": body[:64].decode("latin-1"),
                           "sum": sum(body) % 65521})


async def long_poll(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, then wait in receive() until the client goes away; record what receive() returned."""
    tag = query(scope).get("tag", "")
    await read_body(receive)
    record(tag, "waiting")
    started = time.monotonic()
    message = await receive()
    record(tag, {"type": message["type"], "after": round(time.monotonic() - started, 3)})


async def after_complete(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer, then call receive() again: the response is complete, so http.disconnect at once."""
    tag = query(scope).get("tag", "")
    await read_body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": [*TEXT, (b"content-length", b"4")]})
    await send({"type": "http.response.body", "body": b"done"})
    started = time.monotonic()
    message = await asyncio.wait_for(receive(), 5)
    record(tag, {"type": message["type"], "after": round(time.monotonic() - started, 3)})


async def complete(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await read_body(receive)
    await send({"type": "http.response.start", "status": 201,
                "headers": [*TEXT, (b"content-length", b"9"), (b"x-probe", b"complete"), (b"x-probe", b"twice")]})
    await send({"type": "http.response.body", "body": b"complete\n"})


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers without calling receive()."""
    await send({"type": "http.response.start", "status": 200, "headers": [*TEXT, (b"content-length", b"6")]})
    await send({"type": "http.response.body", "body": b"hello\n"})


async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    q = query(scope)
    tag = q.get("tag", "")
    pieces, pause = int(q.get("n", "3")), float(q.get("sleep", "0"))
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    try:
        for i in range(pieces):
            if i and pause:
                await asyncio.sleep(pause)
            await send({"type": "http.response.body", "body": b"piece %d;" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except Exception as exc:
        record(tag, f"send raised {type(exc).__name__}")
        raise
    record(tag, "stream finished")


async def trailers(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "trailers": True,
                "headers": [*TEXT, (b"trailer", b"x-checksum, x-count")]})
    await send({"type": "http.response.body", "body": b"hello ", "more_body": True})
    await send({"type": "http.response.body", "body": b"trailers", "more_body": False})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc123")], "more_trailers": True})
    await send({"type": "http.response.trailers", "headers": [(b"x-count", b"2")], "more_trailers": False})


async def send_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stream until send() fails because the client left; record the exception."""
    tag = query(scope).get("tag", "")
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"first;", "more_body": True})
    record(tag, "first sent")
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": b"more;", "more_body": True})
    except OSError as exc:
        record(tag, f"OSError {type(exc).__name__}")
        return
    except Exception as exc:  # noqa: BLE001 - recorded: the wrong kind of exception
        record(tag, f"not an OSError: {type(exc).__name__}")
        return
    record(tag, "send never raised")


async def raise_before_start(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("asgi_probe secret detail 5678")


async def raise_mid_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"partial;", "more_body": True})
    await asyncio.sleep(0.1)
    raise RuntimeError("asgi_probe failure in the middle of a stream")


async def no_response(scope: dict[str, Any], receive: Any, send: Any) -> None:
    return


async def message_after_completion(scope: dict[str, Any], receive: Any, send: Any) -> None:
    tag = query(scope).get("tag", "")
    await send({"type": "http.response.start", "status": 200, "headers": [*TEXT, (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"whole"})
    try:
        await send({"type": "http.response.body", "body": b"one message too many"})
    except Exception as exc:
        record(tag, f"raised {type(exc).__name__}")
        raise
    record(tag, "accepted")


async def background(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer, then keep working: the client must not wait for the work."""
    tag = query(scope).get("tag", "")
    await send({"type": "http.response.start", "status": 200, "headers": [*TEXT, (b"content-length", b"8")]})
    await send({"type": "http.response.body", "body": b"answered"})
    record(tag, "response sent")
    await asyncio.sleep(float(query(scope).get("sleep", "0.5")))
    record(tag, "background work done")


async def events(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send_json(send, EVENTS.get(query(scope).get("tag", ""), []))


async def lifespan_events(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send_json(send, LIFESPAN)


ROUTES = {
    "/state": state,
    "/receive": receive_report,
    "/long-poll": long_poll,
    "/after-complete": after_complete,
    "/complete": complete,
    "/hello": hello,
    "/stream": stream,
    "/trailers": trailers,
    "/send-after-disconnect": send_after_disconnect,
    "/raise-before-start": raise_before_start,
    "/raise-mid-stream": raise_mid_stream,
    "/no-response": no_response,
    "/message-after-completion": message_after_completion,
    "/background": background,
    "/events": events,
    "/lifespan": lifespan_events,
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    assert scope["type"] == "http", scope["type"]
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]  # ASGI 2.4: path includes root_path; routing happens below it
    if "/scope" in path:  # anywhere: a test of root_path must see a wrong path, not a 404
        await scope_report(scope, receive, send)
        return
    handler = ROUTES.get(path)
    if handler is None:
        await send({"type": "http.response.start", "status": 404, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"no such probe\n"})
        return
    await handler(scope, receive, send)
