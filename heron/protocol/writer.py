"""Response serialisation and body framing (protocol layer, sans-IO).

``ResponseWriter`` turns one response into bytes: the status line and
headers, then the body framed the one way the request allows. The writer,
not the application, owns framing and connection management (RFC 9112
sections 6 and 9): it picks Content-Length or chunked, sends no body where
none may be sent (HEAD, 1xx, 204, 304), and says ``Connection: close`` when
the connection will not be reused. Header names and values are checked
here, at the last moment before bytes leave, so no code path can split a
response with a CR or LF.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Final, NamedTuple

from heron.errors import reason_phrase
from heron.protocol.headers import parse_digits, split_comma_list

# RFC 9110 section 5.6.2: field names are tokens.
_TOKENS: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: a field value is visible characters, SP, HTAB and obs-text. CR, LF and
# NUL would split or cut the response; the other controls are no more valid, and the parser
# refuses all of them in requests, so the writer does the same for responses.
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Framing and connection fields belong to the writer: the app's are read
# (Content-Length checked, Connection: close honoured), never copied as they are.
_SERVER_OWNED: Final = frozenset({"transfer-encoding", "connection", "keep-alive", "content-length"})
_NOTABLE: Final = _SERVER_OWNED | {"date", "server"}  # the fields _app_fields must look at

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HeaderError(ValueError):
    """A response header the writer refuses to send (it would corrupt the response)."""


def format_http_date(epoch_seconds: float) -> str:
    """IMF-fixdate (RFC 9110 section 5.6.7), e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``.

    Fractions of a second are floored, as ``time.gmtime`` does: truncating
    toward zero would put -0.5 in 1970 instead of the last second of 1969.
    """
    t = datetime.fromtimestamp(math.floor(epoch_seconds), timezone.utc)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.weekday()], t.day, _MONTHS[t.month], t.year, t.hour, t.minute, t.second,
    )


def _status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status).encode("ascii"))


_STATUS_LINES: Final = {status: _status_line(status) for status in range(100, 600)}


_CHECKED: Final[set[tuple[str, str]]] = set()
"""Fields that passed ``validate_headers`` lately: most responses repeat the same ones."""
_MAX_CHECKED: Final = 4096


def validate_headers(headers: list[tuple[str, str]]) -> None:
    """Raise ``HeaderError`` unless every name is a token and no value holds a control
    character (CR, LF, NUL or any other but HTAB).

    A field already seen valid is not checked again: a response's headers
    are checked when the app builds it and again here in the writer, and
    the same Content-Type or ETag comes back request after request. The
    memory is bounded (forgotten whole when full); set operations are
    atomic, so pool threads may share it.
    """
    checked = _CHECKED
    for field in headers:
        try:
            if field in checked:
                continue
        except TypeError:  # not hashable (a list pair): checked the long way, never remembered
            pass
        name, value = field
        if not isinstance(name, str) or not isinstance(value, str):
            raise HeaderError(f"header names and values must be str, got {name!r}: {type(value).__name__}")
        if _TOKENS.fullmatch(name) is None:
            raise HeaderError(f"invalid header name {name!r}")
        if _FORBIDDEN_IN_VALUE.search(value):
            raise HeaderError(f"header {name!r} has a control character (CR, LF, NUL, ...) in its value")
        if type(field) is tuple and type(name) is str and type(value) is str:
            if len(checked) >= _MAX_CHECKED:
                checked.clear()
            checked.add(field)


def _encode_fields(headers: list[tuple[str, str]]) -> bytes:
    try:
        return "".join([f"{name}: {value}\r\n" for name, value in headers]).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HeaderError("header values must be latin-1; encode other text (RFC 8187)") from exc


class _AppFields(NamedTuple):
    """What the writer takes from an app's headers: the fields it sends as they are, encoded, and
    what the server-owned ones said."""

    encoded: bytes  # the fields sent as they are, serialised in order
    declared: int | None  # the Content-Length the app set, if it set one
    options: tuple[str, ...]  # Connection options other than close/keep-alive
    close: bool  # Connection: close
    sets_date: bool
    sets_server: bool


MAX_CONTENT_LENGTH: Final = 10**18
"""A Content-Length this large or larger is refused: no body is that long, and an app echoing a client's
digits into the field must not reach ``int()`` with thousands of them."""

_PREPARED: Final[dict[tuple[tuple[str, str], ...], _AppFields]] = {}
"""Header lists already worked out, by their fields: a server sends a few header sets over and over
(a Content-Type; a static file's validators), and each then costs a dict lookup, not its checks and
encoding again. Only lists of exact ``(str, str)`` tuples go in, so a hit always stands for fields
checked here; forgotten whole when full, as ``_CHECKED`` is."""
_MAX_PREPARED: Final = 1024


def _app_fields(headers: list[tuple[str, str]]) -> _AppFields:
    """Check ``headers`` and take the server-owned fields out (HeaderError for a bad one)."""
    key = tuple(headers)
    try:
        prepared = _PREPARED.get(key)
    except TypeError:  # an unhashable field (a list pair): worked out every time, never remembered
        prepared, key = None, ()
    if prepared is not None:
        return prepared
    validate_headers(headers)
    fields: list[tuple[str, str]] = []
    declared: int | None = None
    options: list[str] = []
    close = sets_date = sets_server = False
    for field in headers:
        name, value = field
        lname = name.lower()
        if lname not in _NOTABLE:  # most fields: kept as they are, nothing to read
            fields.append(field)
        elif lname == "content-length":
            length = parse_digits(value, MAX_CONTENT_LENGTH)
            if length is None or length == MAX_CONTENT_LENGTH:
                raise HeaderError(f"invalid Content-Length {value[:40]!r}")
            if declared is not None and length != declared:
                raise HeaderError("conflicting Content-Length values")
            declared = length
        elif lname == "connection":
            # RFC 9110 section 7.6.1: "close" is honoured and "keep-alive" is the
            # writer's to say; other options (Upgrade on a 101) belong to the app.
            for option in split_comma_list(value):
                lowered = option.lower()
                if lowered == "close":
                    close = True
                elif lowered != "keep-alive":
                    options.append(option)
        elif lname == "date":
            sets_date = True
            fields.append(field)
        elif lname == "server":
            sets_server = True
            fields.append(field)
        # transfer-encoding and keep-alive are the writer's: dropped
    prepared = _AppFields(_encode_fields(fields), declared, tuple(options), close, sets_date, sets_server)
    if key and all(type(f) is tuple and type(f[0]) is str and type(f[1]) is str for f in key):
        if len(_PREPARED) >= _MAX_PREPARED:
            _PREPARED.clear()
        _PREPARED[key] = prepared
    return prepared


_DATE_AND_SERVER: Final[dict[tuple[str, str], bytes]] = {}


def _date_and_server(date: str, server: str) -> bytes:
    """The Date and Server fields, encoded: once a second, as the date changes."""
    key = (date, server)
    encoded = _DATE_AND_SERVER.get(key)
    if encoded is None:
        encoded = _encode_fields([("Date", date), ("Server", server)])
        if len(_DATE_AND_SERVER) >= 4:
            _DATE_AND_SERVER.clear()
        _DATE_AND_SERVER[key] = encoded
    return encoded


class ResponseWriter:
    """Frames one response to one request.

    Call ``head()`` once, then ``body()`` any number of times, then ``end()``;
    or ``complete()`` for a response whose body is already in memory. After
    ``head()``, ``keep_alive`` says whether the connection may carry another
    request once this response is finished.
    """

    __slots__ = ("_method_head", "_http10", "keep_alive", "_no_body", "_chunked", "_remaining", "started")

    def __init__(self, method: str, http_version: str, keep_alive: bool) -> None:
        self._method_head = method == "HEAD"
        self._http10 = http_version == "1.0"
        self.keep_alive = keep_alive
        self._no_body = False
        self._chunked = False
        self._remaining: int | None = None  # declared Content-Length still to send
        self.started = False

    def head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        content_length: int | None = None,
        *,
        date: str,
        server: str = "heron",
    ) -> bytes:
        """The status line and header section.

        ``content_length`` is the body size if known; a ``Content-Length``
        in ``headers`` counts as known too. Unknown length means chunked on
        HTTP/1.1 and read-until-close on HTTP/1.0. ``Date`` and ``Server``
        are added unless the app set them. A ``HeaderError`` leaves the
        writer as it was, so the caller can still send an error response.
        """
        if self.started:
            raise RuntimeError("response head already sent")
        if not 100 <= status <= 599:
            raise HeaderError(f"status must be 100-599, got {status!r}")
        if content_length is not None and content_length < 0:
            raise HeaderError(f"content_length must not be negative, got {content_length}")
        app = _app_fields(headers)
        length = content_length
        if app.declared is not None:
            if length is not None and length != app.declared:
                raise HeaderError("Content-Length does not match the body")
            length = app.declared
        line = _STATUS_LINES.get(status) or _status_line(status)
        options = app.options
        if status < 200:
            # Interim response: no framing, no Date; only the app's options.
            connection = _encode_fields([("Connection", ", ".join(options))]) if options else b""
            return line + app.encoded + connection + b"\r\n"
        keep_alive, chunked, framing = self._frame(status, app, length)
        if not app.sets_date and not app.sets_server:
            own = _date_and_server(date, server)
        else:
            own = _encode_fields(([] if app.sets_date else [("Date", date)])
                                 + ([] if app.sets_server else [("Server", server)]))
        if not keep_alive:
            options += ("close",)
        elif self._http10:
            options += ("keep-alive",)
        if options:
            own += _encode_fields([("Connection", ", ".join(options))])
        data = line + app.encoded + framing + own + b"\r\n"
        no_body = self._bodiless(status)
        self.started = True
        self.keep_alive = keep_alive
        self._no_body = no_body
        self._chunked = chunked
        self._remaining = None if no_body else length
        return data

    @property
    def sends_body(self) -> bool:
        """After ``head()``: whether body bytes go on the wire (not for HEAD, 1xx, 204, 304)."""
        return self.started and not self._no_body

    def _frame(self, status: int, app: _AppFields, length: int | None) -> tuple[bool, bool, bytes]:
        """The framing of a final response: (keep_alive, chunked, the framing field, encoded, or b"").

        RFC 9112 section 6.3: Content-Length when the length is known,
        chunked when not (HTTP/1.1), or the end of the body marked by
        closing the connection (HTTP/1.0, which has no chunked).
        """
        keep_alive = self.keep_alive and not app.close
        if status == 204:
            return keep_alive, False, b""  # RFC 9110 section 8.6: never a Content-Length on 204.
        if status == 304:
            # RFC 9110 section 15.4.5: a 304 may repeat the length of the
            # representation it stands for, which only the app knows.
            return keep_alive, False, b"Content-Length: %d\r\n" % app.declared if app.declared is not None else b""
        if length is not None:
            return keep_alive, False, b"Content-Length: %d\r\n" % length
        if self._method_head:
            return keep_alive, False, b""  # no body follows, so there is nothing to frame
        if self._http10:
            return False, False, b""
        return keep_alive, True, b"Transfer-Encoding: chunked\r\n"

    def _bodiless(self, status: int) -> bool:
        """RFC 9112 section 6.3: responses to HEAD and 1xx, 204, 304 never have a body."""
        return self._method_head or status < 200 or status == 204 or status == 304

    def body(self, data: bytes) -> bytes:
        """``data`` framed for the wire (b"" where no body may be sent).

        An empty ``data`` gives b"": in a chunked body an empty chunk would
        be the last-chunk and end the response early.
        """
        if not self.started:
            raise RuntimeError("response body before its head")
        if self._no_body or not data:
            return b""
        if self._chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        if self._remaining is not None:
            if len(data) > self._remaining:
                raise HeaderError("response body longer than its Content-Length")
            self._remaining -= len(data)
        return data

    def end(self, trailers: list[tuple[str, str]] | None = None) -> bytes:
        """The bytes that finish the body; raises if a declared length was not met.

        Trailers are only sent with a chunked body; otherwise they are dropped.
        Framing and connection fields are refused there (RFC 9110 section
        6.5.1): a recipient must not act on them, so sending them is a bug.
        """
        if self._chunked:
            if trailers:
                validate_headers(trailers)
                for name, _ in trailers:
                    if name.lower() in _SERVER_OWNED:
                        raise HeaderError(f"{name} is not allowed in trailers")
                return b"0\r\n" + _encode_fields(trailers) + b"\r\n"
            return b"0\r\n\r\n"
        if self._remaining:
            raise HeaderError("response body shorter than its Content-Length")
        return b""

    def complete(self, status: int, headers: list[tuple[str, str]], body: bytes, *, date: str) -> bytes:
        """Head and body of a response held whole in memory, as one buffer (see ``complete_parts``)."""
        head, body = self.complete_parts(status, headers, body, date=date)
        return head + body

    def complete_parts(self, status: int, headers: list[tuple[str, str]], body: bytes, *,
                       date: str) -> tuple[bytes, bytes]:
        """Head and body of a response held whole in memory: (head, the body bytes to send after it).

        Apart, so a server can hand both to one gather write instead of
        copying a large body behind its head. A bodiless response (HEAD,
        1xx, 204, 304) sends b"" after its head; given an empty ``body``
        it keeps any Content-Length the app set, which states the length
        of the representation rather than of this (absent) body.
        """
        bodiless = self._bodiless(status)
        length = None if bodiless and not body else len(body)
        head = self.head(status, headers, length, date=date)
        if bodiless:
            return head, b""
        self._remaining = 0
        return head, body
