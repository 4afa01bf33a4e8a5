"""The request object handlers receive (messages layer).

A ``Request`` wraps the parsed head and a body stream supplied by whichever
server drives it; it holds no global or thread-local state, so a handler
can pass it on explicitly and tests can build one without a socket.

Everything derived from the head (decoded path, query, cookies) is
computed on first use and cached; the body is read once and kept. The
body decoders (``text``, ``json``, ``form``) come in two forms with one
implementation: ``await request.json()`` in ``async def`` handlers, and
``request.read_json()`` in plain ``def`` handlers running in the thread
pool. Each is the body (``body()`` or ``read()``) passed through the same
pure function, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, NoReturn, TypeVar
from urllib.parse import unquote

from heron.errors import HTTPError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.messages.contracts import BodyStream, Upgrader, WebSocketChannel
from heron.messages.cookies import parse_cookie_header
from heron.messages.forms import FormData, decode_urlencoded, form_kind, read_multipart
from heron.messages.query import MultiDict, parse_urlencoded
from heron.messages.session import Session
from heron.protocol.events import RequestHead
from heron.protocol.headers import Headers, parse_media_type
from heron.protocol.wshandshake import is_upgrade

T = TypeVar("T")


class Request:
    """One HTTP request as a handler sees it.

    ``path`` is percent-decoded (``raw_path`` keeps the bytes as sent);
    ``path_params`` holds what the router matched. The body is read at most
    once: ``await request.body()`` (or ``request.read()`` from a thread-pool
    handler) returns it whole, ``request.stream()`` yields it piece by piece.
    Reading the body is what makes the server send ``100 Continue``.
    """

    __slots__ = (
        "head", "headers", "client", "server", "scheme", "path_params", "root_path", "_body_stream", "_body", "_loop", "_path",
        "_query", "_cookies", "_streamed", "limits", "_upgrader", "_form", "_session",
    )

    def __init__(
        self,
        head: RequestHead,
        body_stream: BodyStream,
        *,
        client: tuple[str, int] | None = None,
        server: tuple[str, int] | None = None,
        scheme: str = "http",
        root_path: str = "",
        loop: asyncio.AbstractEventLoop | None = None,
        limits: Limits = DEFAULT_LIMITS,
        upgrader: Upgrader | None = None,
    ) -> None:
        self.head = head
        self.limits = limits
        """The server's caps; ``form()`` reads the form limits from them."""
        self.headers = Headers(head.headers)
        self.client = client
        self.server = server
        """The address of heron's own socket that took the request (None when unknown, e.g. a Unix socket)."""
        self.scheme = scheme
        self.path_params: dict[str, Any] = {}
        self.root_path = root_path
        """The (decoded) prefix the app is mounted at: ``--root-path``, then the mounts this request went through
        (``/api`` inside ``app.mount("/api", sub)``)."""
        self._body_stream = body_stream
        self._body: bytes | None = None
        self._loop = loop
        self._path: str | None = None
        self._query: MultiDict[str] | None = None
        self._cookies: dict[str, str] | None = None
        self._streamed = False
        self._upgrader = upgrader
        self._form: FormData | None = None
        self._session: Session | None = None

    @property
    def method(self) -> str:
        return self.head.method

    @property
    def raw_path(self) -> str:
        """The path as sent, still percent-encoded."""
        return self.head.path

    @property
    def path(self) -> str:
        """The percent-decoded path (UTF-8, invalid sequences replaced)."""
        if self._path is None:
            raw = self.head.path
            self._path = unquote(raw, errors="replace") if "%" in raw else raw
        return self._path

    @property
    def query_string(self) -> str:
        """The query string as sent, without ``?``, still percent-encoded ("" if none)."""
        return self.head.query

    @property
    def query(self) -> MultiDict[str]:
        """The query string as a multi-valued, case-sensitive mapping (decoded as UTF-8).

        ``request.query.get("page", "1")`` is the first value or the
        default, ``request.query.get_all("tag")`` every value. See
        ``heron.messages.query.parse_urlencoded`` for the exact rules.
        """
        query = self._query
        if query is None:
            query = self._query = parse_urlencoded(self.head.query)
        return query

    @property
    def cookies(self) -> dict[str, str]:
        """Cookie name to value, from every ``Cookie`` header (RFC 6265 section 5.4).

        When a name repeats, the first value wins (the client lists the most
        specific path first). Pairs that cannot be read are skipped; values
        are as sent, not decoded.
        """
        cookies = self._cookies
        if cookies is None:
            cookies = self._cookies = parse_cookie_header(self.headers.get_all("cookie"))
        return cookies

    @property
    def session(self) -> Session:
        """The client's session (``heron.web.sessions``); ``RuntimeError`` if no session middleware runs."""
        if self._session is None:
            raise RuntimeError("request.session needs the session middleware: app.add_middleware(sessions(...))")
        return self._session

    @session.setter
    def session(self, session: Session) -> None:
        self._session = session

    @property
    def has_session(self) -> bool:
        """Whether a session middleware gave this request a session."""
        return self._session is not None

    @property
    def host(self) -> str:
        """Host (and port) the request is for: the absolute-form target's authority, else
        the Host header, which the parser has already checked against RFC 9112's grammar.
        "" for an HTTP/1.0 request without one."""
        return self.head.authority

    @property
    def url(self) -> str:
        """``scheme://host/path?query`` as the client asked for it, still percent-encoded.

        Built from the raw path and query (never the decoded ones, which
        could hold ``?`` or ``#``) and ``host``. ``scheme`` is what heron
        itself listens on, or with ``--proxy-headers`` what a trusted proxy
        says the client used (docs/proxy.md). ``OPTIONS *`` and CONNECT
        have no path; theirs is ``/``.
        """
        head = self.head
        url = f"{self.scheme}://{head.authority}{head.path if head.path.startswith('/') else '/'}"
        return f"{url}?{head.query}" if head.query else url

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters ("" if none was sent)."""
        value = self.headers.get("content-type")
        return parse_media_type(value)[0] if value is not None else ""

    @property
    def http_version(self) -> str:
        return self.head.http_version

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, without holding it all in memory.

        Streaming consumes the body: afterwards (even after stopping early)
        ``body()`` and the decoders raise ``RuntimeError``, since what they
        would see is no longer the whole body. After ``body()``, ``stream()``
        yields the kept body in one piece.
        """
        if self._body is not None:
            if self._body:
                yield self._body
            return
        self._check_not_streamed()
        self._streamed = True
        while chunk := await self._body_stream.read_chunk():
            yield chunk

    def wrap_body(self, wrap: Callable[[BodyStream], BodyStream], headers: Headers) -> None:
        """Read the body through ``wrap(body stream)`` from now on, described by ``headers``.

        For a layer that changes the body as it is read, such as decoding
        a Content-Encoding (heron/web/requestcoding.py); only before anything
        has read the body.
        """
        if self._body is not None or self._streamed:
            raise RuntimeError("the request body was already read")
        self._body_stream = wrap(self._body_stream)
        self.headers = headers

    @property
    def is_websocket(self) -> bool:
        """The request is a WebSocket handshake (``Upgrade: websocket``) on a connection that can take one."""
        return self._upgrader is not None and is_upgrade(self.head)

    async def accept_websocket(self, subprotocol: str | None = None,
                               headers: list[tuple[str, str]] | None = None) -> WebSocketChannel:
        """Accept the WebSocket this request asks for (``101 Switching Protocols``) and talk through it.

        ``HTTPError`` 400 or 426 if the request is not a valid handshake
        (RFC 6455 section 4.2.1: the message says what is wrong),
        ``ValueError`` for a ``subprotocol`` the client did not offer,
        ``RuntimeError`` where no connection can take one (a test client's plain request).
        """
        if self._upgrader is None:
            raise RuntimeError("this request did not come on a connection that can become a WebSocket")
        return await self._upgrader.accept_websocket(subprotocol, headers)

    @property
    def is_disconnected(self) -> bool:
        """Whether the client has already closed its connection, or its sending side (see ``disconnected``)."""
        return self._body_stream.gone

    async def disconnected(self) -> None:
        """Return once the client has closed its connection, or its sending side.

        For long polls and streams: race it against the work, and stop
        when the client is no longer there to receive the answer. A client
        that only half-closed still gets whatever is sent.
        """
        await self._body_stream.wait_disconnected()

    def _check_not_streamed(self) -> None:
        if self._streamed:
            raise RuntimeError("the request body was already consumed by request.stream()")

    async def body(self) -> bytes:
        """The whole body (bounded by the server's ``max_body_bytes``).

        Pieces after the first are added to one buffer as they come, not
        kept as a list of objects: a body costs about twice its size at
        the end (the buffer and the bytes made from it), however many
        pieces it came in.
        """
        if self._body is None:
            self._check_not_streamed()
            self._body = self._body_stream.take_if_complete()  # usual for small bodies: here with the head
            if self._body is None:
                self._body = await self._read_all()
        return self._body

    async def _read_all(self) -> bytes:
        read_chunk = self._body_stream.read_chunk
        first = await read_chunk()
        chunk = await read_chunk() if first else b""
        if not chunk:
            return first
        collected = bytearray(first)
        while chunk:
            collected += chunk
            chunk = await read_chunk()
        return bytes(collected)

    def received_body(self) -> bytes | None:
        """The whole body if it has already arrived (then kept, as ``body()`` keeps it); None if not yet.

        Never waits, so it may be called on the event loop; a handler
        about to hand the request to a thread uses it to spare the thread
        a round trip to the loop for a body that is already here.
        """
        if self._body is None and not self._streamed:
            self._body = self._body_stream.take_if_complete()
        return self._body

    def read(self) -> bytes:
        """The whole body, for plain ``def`` handlers running in the thread pool.

        Blocks the calling thread while the event loop reads the socket;
        calling it on the event loop itself would deadlock, so that raises.
        """
        if self._body is not None:
            return self._body
        return self._wait_for(self.body(), "Request.read() blocks: use 'await request.body()' in async handlers")

    def _wait_for(self, coroutine: Coroutine[Any, Any, T], on_loop: str) -> T:
        """Run ``coroutine`` on the request's event loop and block this (thread-pool) thread until it is done."""
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("this request has no event loop to read its body from")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coroutine.close()
            raise RuntimeError(on_loop)
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    async def text(self) -> str:
        """The body decoded with the Content-Type's charset (UTF-8 when none is given).

        Raises ``HTTPError`` 415 for a charset Python does not know and 400
        for bytes that are not valid in the charset.
        """
        return decode_text(await self.body(), self.headers.get("content-type"))

    def read_text(self) -> str:
        """``text()`` for plain ``def`` handlers (blocks like ``read()``)."""
        return decode_text(self.read(), self.headers.get("content-type"))

    async def json(self) -> Any:
        """The body parsed as JSON (RFC 8259).

        Raises ``HTTPError`` 415 unless the Content-Type is
        ``application/json`` or ``<type>/<subtype>+json``, and 400 for a
        body that is not JSON (including an empty body, ``NaN``, or nesting
        too deep to parse). The 400's message gives the position of the
        error, never the body.
        """
        return decode_json(await self.body(), self.headers.get("content-type"))

    def read_json(self) -> Any:
        """``json()`` for plain ``def`` handlers (blocks like ``read()``)."""
        return decode_json(self.read(), self.headers.get("content-type"))

    async def form(self, **limits: int) -> FormData:
        """The fields and files of a form body: ``application/x-www-form-urlencoded`` or ``multipart/form-data``.

        Fields are ``str``, files ``UploadFile`` (docs/forms.md). A
        multipart body is read as it arrives, files spooled to disk past
        ``upload_memory_bytes``, and closed when the request ends. Raises
        ``HTTPError`` 415 for any other Content-Type, 413 past a form limit
        (``max_form_fields``, ``max_form_files``, ``max_form_field_bytes``,
        ``max_upload_bytes``, ``max_part_header_bytes``, ``max_part_headers``)
        and 400 for a malformed multipart body. Read once and kept.

        Keyword arguments replace those form limits for this call (an
        upload route may take ``max_upload_bytes=2**30``); the body as a
        whole stays within the server's ``max_body_bytes``.
        """
        form = self._form
        if form is None:
            content_type = self.headers.get("content-type")
            caps = self.limits.replace(**limits) if limits else self.limits
            if form_kind(content_type) == "urlencoded":
                form = decode_urlencoded(await self.body(), caps)
            else:
                assert content_type is not None
                form = await read_multipart(self.stream(), content_type, caps)
            self._form = form
        return form

    def read_form(self, **limits: int) -> FormData:
        """``form()`` for plain ``def`` handlers (blocks like ``read()``)."""
        if self._form is not None:
            return self._form
        return self._wait_for(self.form(**limits), "Request.read_form() blocks: use 'await request.form()' in async handlers")

    def close(self) -> None:
        """Release what reading the request took: the uploaded files' content. The server calls it
        once the response is sent (or the exchange failed); calling it again does nothing."""
        if self._form is not None:
            self._form.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.head.target}>"


# -- body decoders: pure functions of the body and its Content-Type ----------------------


def decode_text(body: bytes, content_type: str | None) -> str:
    """``body`` as text in the charset the Content-Type names (UTF-8 by default).

    An unknown charset is 415 Unsupported Media Type (RFC 9110 section
    15.5.16: the server cannot read content in that format); bytes the
    charset cannot decode are 400. Neither message repeats the client's
    bytes or charset name.
    """
    charset = parse_media_type(content_type)[1].get("charset", "utf-8") if content_type else "utf-8"
    try:
        name = codecs.lookup(charset).name
        # bytes.decode also refuses codecs that are not charsets (base64, zlib, rot13).
        return body.decode(name)
    except LookupError:
        raise HTTPError(415, "unsupported charset in Content-Type") from None
    except ValueError:  # UnicodeDecodeError, and what odd codecs such as idna raise
        raise HTTPError(400, f"request body is not valid {name}") from None


def decode_json(body: bytes, content_type: str | None) -> Any:
    """``body`` parsed as JSON, if the Content-Type says it is JSON.

    ``json.loads`` reads UTF-8 (and the UTF-16/32 that RFC 8259 section
    8.1 no longer allows but some clients still send). ``NaN`` and
    ``Infinity`` are refused: they are not JSON, and no other parser would
    accept what the app might echo back.
    """
    media_type = parse_media_type(content_type)[0] if content_type else ""
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPError(415, "expected Content-Type: application/json")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise HTTPError(400, f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError):  # bad encoding, huge integers, deep nesting
        raise HTTPError(400, "request body is not valid JSON") from None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")
