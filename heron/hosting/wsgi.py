"""Running a WSGI app (PEP 3333) behind heron's connection driver (hosting layer).

The adapter turns each ``Request`` into an environ, calls the app in the
server's bounded thread pool (WSGI is blocking by design), and turns what
the app produced into a ``Response``:

- a body known to be complete once the app returns (a list or tuple, or
  as many bytes as the app's own ``Content-Length``) is collected in the
  thread and sent as one buffer: one thread hop per request;
- a ``wsgi.file_wrapper`` around a regular file goes out with sendfile;
- anything else (a generator, ``write()`` calls) streams through a
  ``ThreadBodyChannel``: the head leaves with the first non-empty piece
  (PEP 3333, "Buffering and Streaming"), and the thread blocks while the
  client is slow to read.

``wsgi.input`` reads the body from the event loop a piece at a time, so
a large upload is never held whole; reading past the end returns b"", for
Content-Length and chunked bodies alike (``wsgi.input_terminated``).
If reading the body failed (too large, too slow, bad framing), the app's
answer is dropped and the server answers the failure itself: the app may
have caught the error, but the client must still learn it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from heron.blocking import run_blocking
from heron.hosting.channel import ThreadBodyChannel
from heron.hosting.wsgifiles import FileWrapper, close_iterable
from heron.hosting.wsgiinput import InputStream
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse
from heron.protocol.headers import parse_digits
from heron.protocol.writer import MAX_CONTENT_LENGTH

__all__ = ["WSGIAdapter", "build_environ"]

logger = logging.getLogger("heron.error")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SPECIAL_HEADERS: Final = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class WSGIAdapter:
    """``handle(request) -> Response`` for a WSGI application."""

    def __init__(self, app: WSGIApp, *, multiprocess: bool = False) -> None:
        self.app = app
        self.multiprocess = multiprocess

    async def handle(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        environ = build_environ(request, loop, multiprocess=self.multiprocess)
        exchange = _Exchange(self.app, environ, request.method == "HEAD", loop)
        done = run_blocking(exchange.run)
        done.add_done_callback(exchange.ran)
        return await exchange.response

    async def startup(self) -> None:
        """Nothing: WSGI has no startup or shutdown events."""

    async def shutdown(self) -> None:
        """Nothing: WSGI has no startup or shutdown events."""


def build_environ(request: Request, loop: asyncio.AbstractEventLoop, *, multiprocess: bool = False) -> dict[str, Any]:
    """The PEP 3333 environ for ``request``.

    Strings are "bytes as latin-1" as the PEP requires: ``PATH_INFO`` is
    the percent-decoded path's bytes, so a UTF-8 path reaches Django and
    Flask intact (they re-encode to latin-1 and decode UTF-8). Header
    names holding ``_`` are left out: ``X_User`` and ``X-User`` would both
    become ``HTTP_X_USER``, which lets a client forge a header a proxy
    set (nginx and gunicorn drop them too). Repeated headers are joined
    with ", " (``; `` for Cookie, RFC 6265 section 5.4).
    """
    head = request.head
    script_name = request.root_path
    raw_path = head.path if head.path.startswith("/") else ""
    path_info = unquote_to_bytes(raw_path).decode("latin-1") if "%" in raw_path else raw_path
    if script_name and (path_info == script_name or path_info.startswith(script_name + "/")):
        path_info = path_info[len(script_name):]  # the server put --root-path in front: it is SCRIPT_NAME's
    host, port = _server_name(request)
    client = request.client or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": head.method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": head.query,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/" + head.http_version,
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "RAW_URI": head.target,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": InputStream(request, loop),
        "wsgi.errors": _ErrorStream(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }
    for name, value in head.headers:
        lname = name.lower()
        if "_" in lname:
            continue
        key = _SPECIAL_HEADERS.get(lname) or "HTTP_" + lname.upper().replace("-", "_")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ", ") + value
        environ[key] = value
    return environ


def _server_name(request: Request) -> tuple[str, str]:
    """SERVER_NAME and SERVER_PORT: from the Host the client asked for, as PEP 3333's URL reconstruction expects."""
    host = request.host
    default = "443" if request.scheme == "https" else "80"
    if not host:  # HTTP/1.0 without Host: PEP 3333 wants them never empty, so our own address
        server = request.server or ("localhost", int(default))
        return server[0], str(server[1])
    if host.startswith("["):  # an IPv6 literal
        name, _, rest = host.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else default
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, default)


class _Exchange:
    """One call of the app, from the pool thread, and what it answered."""

    def __init__(self, app: WSGIApp, environ: dict[str, Any], head_only: bool,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.environ = environ
        self.input: InputStream = environ["wsgi.input"]
        self.loop = loop
        self.response: asyncio.Future[Response] = loop.create_future()
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False  # the head went to the connection
        self.channel: ThreadBodyChannel | None = None
        self.length: int | None = None  # the app's Content-Length, if it gave one
        self.head_only = head_only
        self.handed_off = False  # the response closes the app's iterable (a file sent later), not run()

    # -- on the event loop ----------------------------------------------------------------

    def ran(self, done: asyncio.Future[Response | None]) -> None:
        """The thread finished: deliver its complete response (or its error) unless streaming began."""
        error = done.exception()  # retrieved even when streaming already answered, so never "unretrieved"
        if self.response.done():
            return
        if error is not None:
            self.response.set_exception(error)
        else:
            result = done.result()
            assert result is not None
            self.response.set_result(result)

    async def _open_stream(self) -> None:
        """Hand the connection a streaming response; runs on the loop for the thread, once."""
        assert self.status is not None
        channel = ThreadBodyChannel(self.loop)
        # Bad headers raise here, before anything is sent: the thread's error becomes a 500.
        response = StreamingResponse(channel, self.status, self.headers, content_type=None)
        self.channel = channel
        self.response.set_result(response)

    # -- in the pool thread -----------------------------------------------------------------

    def run(self) -> Response | None:
        """Call the app and consume its answer; a complete response, or None once streaming."""
        result: Iterable[bytes] | None = None
        try:
            result = self.app(self.environ, self.start_response)
            response = self._consume(result)
        except BaseException as exc:
            failure = self.input.failure
            if self.channel is None and failure is not None and exc is not failure:
                raise failure from exc  # the app failed because its body did: answer that
            self._fail(exc)
            raise
        finally:
            if result is not None and not self.handed_off:
                close_iterable(result)
        return response

    def _fail(self, exc: BaseException) -> None:
        """The app failed after its stream began: the connection is cut, the response cannot be taken back."""
        if self.channel is not None:
            self.channel.finish_from_thread(exc)

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: ExcInfo | None = None) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``: may be called again only with ``exc_info``, before the head is sent."""
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise RuntimeError("start_response() called a second time without exc_info")
        if not isinstance(status, str) or len(status) < 4 or parse_digits(status[:3], 999) is None or status[3] != " ":
            raise ValueError(f"WSGI status must be a str like '200 OK', got {status!r}")
        if not isinstance(headers, list):
            raise TypeError(f"WSGI headers must be a list of (name, value) tuples, got {type(headers).__name__}")
        self.status = int(status[:3])
        self.headers = headers
        self.length = None
        for name, value in headers:
            if isinstance(name, str) and name.lower() == "content-length" and isinstance(value, str):
                self.length = parse_digits(value, MAX_CONTENT_LENGTH)
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable: sends the head (once), then ``data``; blocks only while the
        client is more than ``HIGH_WATER`` bytes behind, and raises ``ConnectionError`` once it is gone."""
        if self.status is None:
            raise RuntimeError("write() called before start_response()")
        if not isinstance(data, bytes):
            raise TypeError(f"write() takes bytes, got {type(data).__name__}")
        self._send(data)

    def _send(self, data: bytes) -> None:
        self.input.raise_failure()  # a body that failed is answered by the server, not by this head
        if not data:
            return
        self.sent = True
        if self.channel is None:
            asyncio.run_coroutine_threadsafe(self._open_stream(), self.loop).result()
        assert self.channel is not None
        self.channel.send_from_thread(data)

    def _consume(self, result: Iterable[bytes]) -> Response | None:
        if self.status is None and not isinstance(result, (list, tuple)):
            result = _Prefetched(result)  # start_response may be called on the first next()
        if self.status is None:
            raise RuntimeError("the WSGI app returned without calling start_response()")
        if self.channel is None and isinstance(result, FileWrapper):
            response = result.as_response(self.status, self.headers, self.length)
            if response is not None:
                self.input.raise_failure()
                self.handed_off = True
                return response
        if self.channel is None and isinstance(result, (list, tuple)):
            return self._complete(result)
        return self._iterate(result)

    def _complete(self, pieces: Iterable[bytes]) -> Response:
        """A body already whole in memory: one response, Content-Length framed."""
        body = b"".join(_checked(pieces))
        self.input.raise_failure()
        if self.length is not None and len(body) > self.length:
            body = body[:self.length]  # PEP 3333: never more than the app's Content-Length
        assert self.status is not None
        self.sent = True
        return Response(body, self.status, self.headers)

    def _iterate(self, result: Iterable[bytes]) -> Response | None:
        """Stream what the iterable yields; stop once the app's Content-Length is met.

        For HEAD the first non-empty piece is enough: it proves the head is
        final, and nothing after it would be sent.
        """
        collected: list[bytes] = []
        size = 0
        for data in _checked(result):
            if not data:
                continue
            if self.length is not None:
                data = data[:self.length - size]
            size += len(data)
            complete = self.length is not None and size >= self.length
            if self.channel is None and self.head_only:
                break
            if self.channel is None and complete:
                collected.append(data)  # the whole body is known: send it in one piece
            else:
                self._send(data)
            if complete:
                break
        self.input.raise_failure()
        if self.channel is not None:
            self.channel.finish_from_thread()
            return None
        assert self.status is not None
        self.sent = True
        if self.head_only:
            return StreamingResponse((), self.status, self.headers, content_type=None)
        return Response(b"".join(collected), self.status, self.headers)


def _checked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for data in pieces:
        if not isinstance(data, bytes):
            raise TypeError(f"a WSGI app must yield bytes, got {type(data).__name__}")
        yield data


class _Prefetched:
    """An iterable whose first piece was taken early, because the app calls start_response lazily.

    A generator app runs no code, ``start_response`` included, until its
    first ``next()``; the head cannot be known before that.
    """

    def __init__(self, result: Iterable[bytes]) -> None:
        self._result = result
        self._iterator = iter(result)
        self._first = next(self._iterator, None)

    def __iter__(self) -> Iterator[bytes]:
        if self._first is not None:
            yield self._first
        yield from self._iterator

    def close(self) -> None:
        close_iterable(self._result)


class _ErrorStream(io.TextIOBase):
    """``wsgi.errors``: text the app writes goes to heron's error log, a record per line."""

    def __init__(self) -> None:
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            logger.error("%s", line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            logger.error("%s", self._partial)
            self._partial = ""
