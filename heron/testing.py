"""Testing heron apps: an in-process client and a real server in a thread.

``TestClient(app)`` calls the app directly, without sockets, the way a
unit test wants: fast, deterministic, with a cookie jar. It still runs
every response header through the protocol writer's checks, so a header
that the server would refuse fails the test too.

``live_server(app)`` runs the real server (event loop, parser, writer,
timeouts) on a free loopback port in a background thread, for tests that
want real clients; ``heron.pytest_plugin`` wraps it as a fixture.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse
from heron.protocol.events import RequestHead
from heron.protocol.headers import Headers, parse_digits
from heron.protocol.writer import validate_headers
from heron.server.config import ServerConfig
from heron.serving import servable, serving_in_thread

__all__ = ["TestClient", "TestResponse", "live_server"]


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
        cookies: Mapping[str, str] | None = None,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> TestResponse:
        """Send one request to the app and return its answer."""
        fields = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        if json is not None:
            body = jsonlib.dumps(json).encode()
            fields.append(("Content-Type", "application/json"))
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
        head = RequestHead(method.upper(), target, path, query_string, "1.1", fields, self.host,
                           True, False, len(raw), False)
        return self._run(self._send(head, raw, client))  # type: ignore[no-any-return]

    async def _send(self, head: RequestHead, raw: bytes, client: tuple[str, int]) -> TestResponse:
        request = Request(head, _MemoryBody(raw), client=client, scheme=self.scheme, loop=self._loop)
        response: Response = await self._served.handle(request)
        validate_headers(response.headers)
        body = await _collect(response)
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
