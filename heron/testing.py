"""Testing heron apps: an in-process client and a real server in a thread.

``TestClient(app)`` calls the app directly, without sockets, the way a
unit test wants: fast, deterministic, with a cookie jar. It still runs
every response header through the protocol writer's checks, so a header
that the server would refuse fails the test too. ``client.websocket(path)``
opens a WebSocket the same way: the handshake is checked as the server
checks it, and messages go both ways whole, without frames (the codec,
compression, pings and the WebSocket limits are the server's: test them
with ``live_server`` and a real client).

``live_server(app)`` runs the real server (event loop, parser, writer,
timeouts) on a free loopback port in a background thread, for tests that
want real clients; ``heron.pytest_plugin`` wraps it as a fixture.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json as jsonlib
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

from heron.errors import ClientDisconnected
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse
from heron.protocol.events import RequestHead
from heron.protocol.headers import Headers, parse_digits
from heron.protocol.multipart import encode_multipart
from heron.protocol.writer import validate_headers
from heron.protocol.wshandshake import accept_headers, read_upgrade
from heron.server.config import ServerConfig
from heron.serving import servable, serving_in_thread
from heron.web.websocket import WebSocketDisconnect

__all__ = ["TestClient", "TestResponse", "TestWebSocket", "WebSocketRefused", "live_server"]


class _MemoryBody:
    """A request body held in memory, handed out in one piece; its client never leaves."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read_chunk(self) -> bytes:
        data, self._data = self._data, b""
        return data

    def take_if_complete(self) -> bytes:
        data, self._data = self._data, b""
        return data

    @property
    def gone(self) -> bool:
        return False

    async def wait_disconnected(self) -> None:
        await asyncio.get_running_loop().create_future()  # never: an in-process client stays to the end


class TestResponse:
    """What the app answered: status, headers, and the whole body."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = Headers(headers)
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status}>"


class TestClient:
    """Drive an app in-process: ``client.get("/user/ada").text``.

    Cookies the app sets are kept and sent back on later requests (a
    ``Max-Age=0`` cookie deletes one). Use it as a context manager to run
    the app's startup and shutdown hooks, if it has any. ``app`` is
    anything ``heron.serve`` takes: a heron App or handler, a WSGI or an
    ASGI app.
    """

    __test__ = False

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        self.app = app
        self._served = servable(app, ServerConfig())
        parts = urlsplit(base_url)
        self.scheme = parts.scheme or "http"
        self.host = parts.netloc or "testserver"
        self.cookies: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="heron-testclient", daemon=True)
        self._thread.start()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __enter__(self) -> TestClient:
        self._run(self._served.startup())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._run(self._served.shutdown())
        finally:
            self.close()

    def close(self) -> None:
        """Stop the client's event loop thread."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str = b"",
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        cookies: Mapping[str, str] | None = None,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> TestResponse:
        """Send one request to the app and return its answer. ``data`` is sent as an urlencoded form, or
        with ``files`` (name to ``(filename, content, content_type)``) as ``multipart/form-data``."""
        head, raw = self._head(method, path, query, headers, body, json, data, cookies, files)
        return self._run(self._send(head, raw, client))  # type: ignore[no-any-return]

    def websocket(self, path: str, *, subprotocols: Iterable[str] = (), query: Mapping[str, str] | None = None,
                  headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                  cookies: Mapping[str, str] | None = None, client: tuple[str, int] = ("127.0.0.1", 50000),
                  timeout: float = 10.0) -> TestWebSocket:
        """Open a WebSocket to ``path``: ``with client.websocket("/chat") as ws: ws.send("hi")``.

        Returns once the app has accepted; ``WebSocketRefused`` (with the
        ``response``) if it answered with HTTP instead, as a browser would see.
        """
        fields = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        fields += [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                   ("Sec-WebSocket-Key", base64.b64encode(os.urandom(16)).decode())]
        if subprotocols:
            fields.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        head, _ = self._head("GET", path, query, fields, b"", None, None, cookies)
        channel = _MemoryWebSocket(head)
        request = Request(head, _MemoryBody(b""), client=client, scheme=self.scheme, loop=self._loop,
                          upgrader=channel)
        handled = asyncio.run_coroutine_threadsafe(self._served_websocket(request, channel), self._loop)
        either: list[concurrent.futures.Future[Any]] = [channel.accepted, handled]
        concurrent.futures.wait(either, timeout, concurrent.futures.FIRST_COMPLETED)
        if channel.accepted.done():
            return TestWebSocket(self._loop, channel, handled, timeout)
        if not handled.done():
            handled.cancel()
            raise TimeoutError(f"the app neither accepted nor refused the WebSocket within {timeout} s")
        refusal = handled.result()
        assert refusal is not None  # a client that was never accepted cannot have left
        raise WebSocketRefused(refusal)

    async def _served_websocket(self, request: Request, channel: _MemoryWebSocket) -> TestResponse | None:
        """Run the app for a handshake; once it is done, close what it left open, as the server does.
        None if the client had left while the app still talked (which the server lets pass quietly too)."""
        try:
            response = await self._served.handle(request)
        except ClientDisconnected:
            return None
        if channel.accepted.done():
            await channel.close(1011 if response.status >= 500 else 1000)
        validate_headers(response.headers)
        return TestResponse(response.status, response.headers, await _collect(response))

    def _head(self, method: str, path: str, query: Mapping[str, str] | None,
              headers: Mapping[str, str] | Iterable[tuple[str, str]] | None, body: bytes | str, json: Any,
              data: Mapping[str, str] | None, cookies: Mapping[str, str] | None,
              files: Mapping[str, tuple[str, bytes, str]] | None = None) -> tuple[RequestHead, bytes]:
        """The request head as the parser would make it, and the body."""
        fields = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        if json is not None:
            body = jsonlib.dumps(json).encode()
            fields.append(("Content-Type", "application/json"))
        elif files is not None:
            boundary = f"heron-test-{os.urandom(12).hex()}"
            body = encode_multipart([*(data or {}).items(), *files.items()], boundary)
            fields.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
        elif data is not None:
            body = urlencode(data).encode()
            fields.append(("Content-Type", "application/x-www-form-urlencoded"))
        raw = body.encode() if isinstance(body, str) else body
        jar = {**self.cookies, **(cookies or {})}
        if jar:
            fields.append(("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items())))
        if raw:
            fields.append(("Content-Length", str(len(raw))))
        fields.insert(0, ("Host", self.host))
        path, _, query_string = path.partition("?")
        if query:
            query_string = "&".join(filter(None, [query_string, urlencode(query)]))
        target = path + ("?" + query_string if query_string else "")
        upgrade = ",".join(value for name, value in fields if name.lower() == "upgrade")  # as the parser joins them
        head = RequestHead(method.upper(), target, path, query_string, "1.1", fields, self.host,
                           True, False, len(raw), False, upgrade=upgrade)
        return head, raw

    async def _send(self, head: RequestHead, raw: bytes, client: tuple[str, int]) -> TestResponse:
        request = Request(head, _MemoryBody(raw), client=client, scheme=self.scheme, loop=self._loop)
        try:
            response: Response = await self._served.handle(request)
            response.settle_cookies(self.scheme == "https")
            validate_headers(response.headers)
            body = await _collect(response)
        finally:
            request.close()  # as the server does once the exchange is over
        if head.method == "HEAD" or response.status in (204, 304):
            body = b""
        self._store_cookies(response.headers)
        return TestResponse(response.status, response.headers, body)

    def _store_cookies(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(value)
            for key, morsel in parsed.items():
                if _expired(morsel["max-age"], morsel["expires"]):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


class WebSocketRefused(Exception):
    """The app answered a WebSocket handshake with HTTP instead of accepting it: ``response`` is that answer."""

    def __init__(self, response: TestResponse) -> None:
        super().__init__(f"the WebSocket was refused with {response.status}")
        self.response = response


class _MemoryWebSocket:
    """The ``Upgrader`` and ``WebSocketChannel`` of an in-process WebSocket: whole messages through two queues.

    The app's side runs on the client's event loop; the test's side reads
    ``to_client`` from its own thread, so that one is a thread-safe queue.
    """

    def __init__(self, head: RequestHead) -> None:
        self.head = head
        self.accepted: concurrent.futures.Future[list[tuple[str, str]]] = concurrent.futures.Future()
        self.to_app: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.to_client: queue.Queue[tuple[str | bytes | None, int, str]] = queue.Queue()
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._ended = False

    async def accept_websocket(self, subprotocol: str | None = None,
                               headers: list[tuple[str, str]] | None = None) -> _MemoryWebSocket:
        if self.accepted.done():
            raise RuntimeError("the WebSocket handshake was already answered")
        fields = accept_headers(read_upgrade(self.head), subprotocol)  # HTTPError, ValueError: as the server
        if headers:
            validate_headers(headers)
            fields += headers
        self.subprotocol = subprotocol
        self.accepted.set_result(fields)
        return self

    async def receive(self) -> str | bytes | None:
        """Messages sent before the close come first, then None, for good."""
        if self._ended:
            return None
        message = await self.to_app.get()
        self._ended = message is None
        return message

    async def send(self, data: str | bytes) -> None:
        if self.close_code is not None:
            raise ClientDisconnected("the WebSocket is closed")
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"a WebSocket message is str or bytes, not {type(data).__name__}")
        self.to_client.put((data, 0, ""))

    async def ping(self, payload: bytes = b"") -> None:
        if len(payload) > 125:
            raise ValueError("a ping's payload is at most 125 bytes")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The app closes: the test client answers at once."""
        if self.close_code is None:
            self.closed(code, reason)
            self.to_client.put((None, code, reason))

    def closed(self, code: int, reason: str) -> None:
        """Either side closed: the app's ``receive`` returns None from now on."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self.to_app.put_nowait(None)


class TestWebSocket:
    """The test's end of an in-process WebSocket (``TestClient.websocket``): send and receive whole messages.

    ``receive`` raises ``WebSocketDisconnect`` once the app has closed (or
    returned: 1000, or 1011 if it failed); leaving the ``with`` block
    closes it from the client's side (1000) and waits for the app to end.
    """

    __test__ = False

    def __init__(self, loop: asyncio.AbstractEventLoop, channel: _MemoryWebSocket,
                 handled: concurrent.futures.Future[TestResponse | None], timeout: float) -> None:
        self._loop = loop
        self._channel = channel
        self._handled = handled
        self.timeout = timeout
        self.headers = Headers(channel.accepted.result())
        """The ``101 Switching Protocols`` answer's headers."""
        self.subprotocol = channel.subprotocol
        self.close_code: int | None = None
        """The app's close code, once it has closed."""
        self.close_reason = ""

    def send(self, message: str | bytes) -> None:
        if not isinstance(message, (str, bytes)):
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        if self._channel.close_code is None:  # a message sent after a close is lost, as on the wire
            self._loop.call_soon_threadsafe(self._channel.to_app.put_nowait, message)

    def send_json(self, data: Any) -> None:
        self.send(jsonlib.dumps(data))

    def receive(self) -> str | bytes:
        """The app's next message; ``WebSocketDisconnect`` once it has closed, ``TimeoutError`` if nothing comes."""
        try:
            message, code, reason = self._channel.to_client.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"no WebSocket message from the app within {self.timeout} s") from None
        if message is None:
            self.close_code, self.close_reason = code, reason
            self._channel.to_client.put((None, code, reason))  # every later receive says so too
            raise WebSocketDisconnect(code, reason)
        return message

    def receive_text(self) -> str:
        message = self.receive()
        assert isinstance(message, str), f"expected a text message, got {message!r}"
        return message

    def receive_bytes(self) -> bytes:
        message = self.receive()
        assert isinstance(message, bytes), f"expected a binary message, got {message!r}"
        return message

    def receive_json(self) -> Any:
        return jsonlib.loads(self.receive())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client's side and wait for the app's handler to end."""
        self._loop.call_soon_threadsafe(self._channel.closed, code, reason)
        self._handled.result(self.timeout)

    def __enter__(self) -> TestWebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _expired(max_age: str, expires: str) -> bool:
    """Whether Set-Cookie attributes delete the cookie (RFC 6265 section 5.3: Max-Age wins)."""
    if max_age:
        return max_age.startswith("-") or not parse_digits(max_age, 1)  # not a number, negative or 0: gone
    if expires:
        try:
            return parsedate_to_datetime(expires) <= datetime.now(timezone.utc)
        except (TypeError, ValueError):
            return False
    return False


async def _collect(response: Response) -> bytes:
    """The whole body of any kind of response, read the way the server reads it."""
    if not isinstance(response, StreamingResponse):
        return response.body
    try:
        return b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.discard()


@contextmanager
def live_server(app: Any, config: ServerConfig | None = None, **settings: Any) -> Iterator[str]:
    """Serve ``app`` for real on a free 127.0.0.1 port in a background thread; yields its base URL.

    The server is the one ``python3 -m heron`` runs (same parser, writer,
    timeouts and limits), stopped gracefully when the block ends. ``app``
    is anything the command line serves: a heron App, a WSGI or an ASGI
    app (whose startup and shutdown hooks, or lifespan, run too).
    """
    with serving_in_thread(app, replace(config or ServerConfig(access_log=False), **settings)) as url:
        yield url
