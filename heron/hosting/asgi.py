"""Running an ASGI 3 app behind heron's connection driver (hosting layer).

Each request becomes an ``http`` scope (``heron.hosting.asgiscope``) and a task running
``app(scope, receive, send)``. ``receive`` hands out the request body as
the connection reads it; ``send`` turns the app's messages into a
``Response``:

- ``http.response.start`` then one ``http.response.body`` without
  ``more_body``: a complete response, sent as one buffer;
- more body messages, or trailers: a ``StreamingResponse`` fed through a
  ``BodyChannel``, so ``send`` waits while the client is slow to read and
  raises ``ClientDisconnected`` (an ``OSError``, ASGI spec 2.4) once it is gone.

The app's task goes on after its last body message: that is where
Starlette's background tasks run, after the client has its answer.

Lifespan (``startup``/``shutdown``, run once per worker process) follows
the ASGI lifespan spec: an app that raises on the lifespan scope without
answering does not support it, which is fine unless ``lifespan="on"``;
``lifespan.startup.failed`` stops the server with the app's message.
``state`` set during startup is shallow-copied into every request's scope.

A request that asks for a WebSocket becomes a ``websocket`` scope instead
(``heron.hosting.asgiws``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from heron.errors import ClientDisconnected, HTTPError, StartupFailed
from heron.hosting.asgiscope import ASGIApp, Message, build_scope, header_text
from heron.hosting.asgiws import serve_websocket
from heron.hosting.channel import BodyChannel
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse

__all__ = ["ASGIAdapter"]

logger = logging.getLogger("heron.error")

_DISCONNECT: Final = {"type": "http.disconnect"}


class ASGIAdapter:
    """``handle(request) -> Response`` (and lifespan ``startup``/``shutdown``) for an ASGI 3 app."""

    def __init__(self, app: ASGIApp, *, lifespan: str = "auto") -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f"lifespan must be auto, on or off, got {lifespan!r}")
        self.app = app
        self.lifespan = lifespan
        self.state: dict[str, Any] = {}
        """What the app stored in the lifespan scope's ``state``; each request's scope gets a copy."""
        self._lifespan: _Lifespan | None = None

    async def handle(self, request: Request) -> Response:
        if request.is_websocket:
            return await serve_websocket(self.app, request, self.state)
        exchange = _Exchange(request)
        scope = build_scope(request, self.state)
        task = asyncio.ensure_future(self.app(scope, exchange.receive, exchange.send))
        task.add_done_callback(exchange.app_done)
        return await exchange.response

    async def startup(self) -> None:
        if self.lifespan == "off":
            return
        lifespan = _Lifespan(self.app, self.state)
        supported = await lifespan.startup()
        if supported:
            self._lifespan = lifespan
        elif self.lifespan == "on":
            raise StartupFailed(f"the ASGI app does not support lifespan events (--lifespan on): {lifespan.error}")
        else:
            logger.info("the ASGI app does not support lifespan events; going on without them")

    async def shutdown(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()


class _Exchange:
    """One request's ``receive`` and ``send``, and the response they produce."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.response: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._body: AsyncIterator[bytes] | None = None  # request.stream(), made only for a body still arriving
        self._left = request.head.content_length  # None: chunked, the end is known only when it comes
        self._body_done = False
        self.failure: BaseException | None = None  # reading the body failed (413, 408, bad framing)
        self._status: int | None = None
        self._headers: list[tuple[str, str]] = []
        self._trailers_expected = False
        self._streaming: StreamingResponse | None = None
        self._channel: BodyChannel | None = None
        self._complete = False  # the app sent its last message
        self._sent: asyncio.Event | None = None  # set with _complete, for a receive() waiting on it
        self._head_only = request.method == "HEAD"

    # -- receive ---------------------------------------------------------------------------

    async def receive(self) -> Message:
        """The next piece of the body; once it is all read, wait for the client to leave.

        When the answer is already known, it is returned without suspending:
        Starlette's ``is_disconnected`` calls this inside a cancelled scope
        and sees only what comes back at once.
        """
        if not self._body_done and self.failure is None:
            data = self.request.received_body()  # all here already (no body is one message too: spec "Request")
            if data is not None:
                self._body_done = True
                return {"type": "http.request", "body": data, "more_body": False}
            try:
                self._body = self._body or self.request.stream()
                data = await anext(self._body, b"")
            except (HTTPError, ClientDisconnected) as exc:
                self.failure = exc
                return dict(_DISCONNECT)
            if self._left is not None:
                self._left -= len(data)
                self._body_done = self._left <= 0
            else:
                self._body_done = not data
            return {"type": "http.request", "body": data, "more_body": not self._body_done}
        if not self._complete and self.failure is None and not self.request.is_disconnected:
            # Wait until the client leaves or the response is complete (spec: then it is "disconnected").
            sent = self._sent = self._sent or asyncio.Event()
            waits = [asyncio.ensure_future(self.request.disconnected()), asyncio.ensure_future(sent.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        return dict(_DISCONNECT)

    # -- send ---------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self._complete:
            raise RuntimeError(f"ASGI message {kind!r} after the response was complete")
        if kind == "http.response.start":
            self._start(message)
        elif kind == "http.response.body":
            await self._send_body(message)
        elif kind == "http.response.trailers":
            self._send_trailers(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _start(self, message: Message) -> None:
        if self._status is not None:
            raise RuntimeError("http.response.start sent twice")
        status = message["status"]
        if not isinstance(status, int):
            raise TypeError(f"ASGI status must be an int, got {status!r}")
        self._headers = [(header_text(name), header_text(value)) for name, value in message.get("headers", ())]
        self._trailers_expected = bool(message.get("trailers", False))
        self._status = status

    async def _send_body(self, message: Message) -> None:
        if self._status is None:
            raise RuntimeError("http.response.body sent before http.response.start")
        body = message.get("body", b"")
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError(f"ASGI body must be bytes, got {type(body).__name__}")
        more = bool(message.get("more_body", False))
        last = not more and not self._trailers_expected
        channel = self._channel
        if channel is None:
            if last:
                self._finish()
                self._answer(Response(bytes(body), self._status, self._headers))
                return
            channel = self._open_stream()
        if channel.closed:
            if self._head_only:
                if last:
                    self._finish()
                return  # HEAD: the connection sent the head and wants no body; that is no error
            raise ClientDisconnected("the client is gone")
        await channel.send(bytes(body))
        if last:
            self._finish()
            channel.finish()

    def _send_trailers(self, message: Message) -> None:
        if not self._trailers_expected:
            raise RuntimeError("http.response.trailers sent without trailers=True in http.response.start")
        channel = self._channel if self._channel is not None else self._open_stream()
        streaming = self._streaming
        assert streaming is not None
        trailers = [(header_text(name), header_text(value)) for name, value in message.get("headers", ())]
        streaming.trailers = (streaming.trailers or []) + trailers
        if not message.get("more_trailers", False):
            self._finish()
            channel.finish()

    def _finish(self) -> None:
        self._complete = True
        if self._sent is not None:
            self._sent.set()

    def _open_stream(self) -> BodyChannel:
        assert self._status is not None
        channel = self._channel = BodyChannel()
        self._streaming = StreamingResponse(channel, self._status, self._headers, content_type=None)
        self._answer(self._streaming)
        return channel

    def _answer(self, response: Response) -> None:
        if self.failure is not None:
            self.response.set_exception(self.failure)  # the server answers 413/408 itself, and closes
        elif not self.response.done():
            self.response.set_result(response)

    # -- the app's task ---------------------------------------------------------------------

    def app_done(self, task: asyncio.Future[None]) -> None:
        """The app returned or raised: end a stream it left open, or answer for it if it never did."""
        error = None if task.cancelled() else task.exception()
        if not self.response.done():
            # A body that could not be read explains whatever the app did next.
            self.response.set_exception(
                self.failure or error or RuntimeError("the ASGI app returned without sending a response"))
            return
        channel = self._channel
        if not self._complete and channel is not None:
            channel.finish(error or RuntimeError("the ASGI app returned before its response was complete"))
        elif error is not None and not isinstance(error, ClientDisconnected):
            logger.error("ASGI app failed after its response was sent", exc_info=error)


class _Lifespan:
    """The lifespan scope's task and its two events (ASGI lifespan spec 2.0)."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        await self._replies.put(message)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:
            self.error = exc
        finally:
            await self._replies.put({"type": "heron.lifespan.ended"})

    async def _event(self, name: str) -> Message:
        """Send ``lifespan.<name>`` and wait for the app's answer (or for it to end)."""
        await self._inbox.put({"type": f"lifespan.{name}"})
        return await self._replies.get()

    async def startup(self) -> bool:
        """Run startup; False if the app does not take lifespan events. ``StartupFailed`` if it failed."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        reply = await self._event("startup")
        kind = reply["type"]
        if kind == "lifespan.startup.complete":
            return True
        if kind == "lifespan.startup.failed":
            raise StartupFailed(str(reply.get("message", "")) or "the app reported lifespan.startup.failed")
        return False  # ended (or raised) without answering: lifespan not supported

    async def shutdown(self) -> None:
        """Run shutdown; failures are logged (the server is stopping anyway)."""
        reply = await self._event("shutdown")
        kind = reply["type"]
        if kind == "lifespan.shutdown.failed":
            logger.error("ASGI lifespan shutdown failed: %s", reply.get("message", ""))
        elif kind != "lifespan.shutdown.complete":
            logger.error("ASGI app ended its lifespan without completing shutdown", exc_info=self.error)
        if self._task is not None:
            await asyncio.wait([self._task], timeout=1.0)
