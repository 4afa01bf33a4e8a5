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
from typing import Final

from heron.errors import reason_phrase
from heron.protocol.headers import split_comma_list

# RFC 9110 section 5.6.2: field names are tokens.
_TOKENS: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: a field value is visible characters, SP, HTAB and obs-text. CR, LF and
# NUL would split or cut the response; the other controls are no more valid, and the parser
# refuses all of them in requests, so the writer does the same for responses.
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Framing and connection fields belong to the writer: the app's are read
# (Content-Length checked, Connection: close honoured), never copied as they are.
_SERVER_OWNED: Final = frozenset({"transfer-encoding", "connection", "keep-alive", "content-length"})
_NOTABLE: Final = _SERVER_OWNED | {"date", "server"}  # the fields _AppFields must look at

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


class _AppFields:
    """The app's headers with the server-owned ones taken out and read."""

    __slots__ = ("fields", "content_length", "declared", "options", "close", "sets_date", "sets_server")

    def __init__(self, headers: list[tuple[str, str]], content_length: int | None) -> None:
        if content_length is not None and content_length < 0:
            raise HeaderError(f"content_length must not be negative, got {content_length}")
        self.fields: list[tuple[str, str]] = []
        self.content_length = content_length
        self.declared = False  # the app set Content-Length itself
        self.options: list[str] = []  # Connection options other than close/keep-alive
        self.close = False
        self.sets_date = self.sets_server = False
        fields = self.fields
        for field in headers:
            lname = field[0].lower()
            if lname not in _NOTABLE:  # most fields: kept as they are, nothing to read
                fields.append(field)
            elif lname == "content-length":
                self._declare_length(field[1])
            elif lname == "connection":
                self._read_connection(field[1])
            elif lname == "date":
                self.sets_date = True
                fields.append(field)
            elif lname == "server":
                self.sets_server = True
                fields.append(field)
            # transfer-encoding and keep-alive are the writer's: dropped

    def _declare_length(self, value: str) -> None:
        if not value.isdigit() or not value.isascii():
            raise HeaderError(f"invalid Content-Length {value!r}")
        if self.content_length is not None and int(value) != self.content_length:
            raise HeaderError("Content-Length does not match the body")
        self.content_length = int(value)
        self.declared = True

    def _read_connection(self, value: str) -> None:
        """RFC 9110 section 7.6.1: "close" is honoured and "keep-alive" is the
        writer's to say; other options (``Upgrade`` on a 101) belong to the app."""
        for option in split_comma_list(value):
            lowered = option.lower()
            if lowered == "close":
                self.close = True
            elif lowered != "keep-alive":
                self.options.append(option)


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
        validate_headers(headers)
        app = _AppFields(headers, content_length)
        fields = app.fields
        options = app.options
        if status < 200:
            # Interim response: no framing, no Date; only the app's options.
            if options:
                fields.append(("Connection", ", ".join(options)))
            return self._serialise(status, fields)
        keep_alive, chunked = self._frame(status, app)
        if not app.sets_date:
            fields.append(("Date", date))
        if not app.sets_server:
            fields.append(("Server", server))
        if not keep_alive:
            options.append("close")
        elif self._http10:
            options.append("keep-alive")
        if options:
            fields.append(("Connection", ", ".join(options)))
        data = self._serialise(status, fields)
        no_body = self._bodiless(status)
        self.started = True
        self.keep_alive = keep_alive
        self._no_body = no_body
        self._chunked = chunked
        self._remaining = None if no_body else app.content_length
        return data

    @property
    def sends_body(self) -> bool:
        """After ``head()``: whether body bytes go on the wire (not for HEAD, 1xx, 204, 304)."""
        return self.started and not self._no_body

    def _frame(self, status: int, app: _AppFields) -> tuple[bool, bool]:
        """Add the framing field for a final response; (keep_alive, chunked).

        RFC 9112 section 6.3: Content-Length when the length is known,
        chunked when not (HTTP/1.1), or the end of the body marked by
        closing the connection (HTTP/1.0, which has no chunked).
        """
        keep_alive = self.keep_alive and not app.close
        length = app.content_length
        if status == 204:
            pass  # RFC 9110 section 8.6: never a Content-Length on 204.
        elif status == 304:
            # RFC 9110 section 15.4.5: a 304 may repeat the length of the
            # representation it stands for, which only the app knows.
            if app.declared:
                app.fields.append(("Content-Length", str(length)))
        elif length is not None:
            app.fields.append(("Content-Length", str(length)))
        elif self._method_head:
            pass  # no body follows, so there is nothing to frame
        elif self._http10:
            return False, False
        else:
            app.fields.append(("Transfer-Encoding", "chunked"))
            return keep_alive, True
        return keep_alive, False

    def _bodiless(self, status: int) -> bool:
        """RFC 9112 section 6.3: responses to HEAD and 1xx, 204, 304 never have a body."""
        return self._method_head or status < 200 or status == 204 or status == 304

    @staticmethod
    def _serialise(status: int, fields: list[tuple[str, str]]) -> bytes:
        line = _STATUS_LINES.get(status) or _status_line(status)
        return line + _encode_fields(fields) + b"\r\n"

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
        """Head and body of a response held whole in memory, as one buffer.

        A bodiless response (HEAD, 1xx, 204, 304) given an empty ``body``
        keeps any Content-Length the app set, which states the length of
        the representation rather than of this (absent) body.
        """
        bodiless = self._bodiless(status)
        length = None if bodiless and not body else len(body)
        head = self.head(status, headers, length, date=date)
        if bodiless:
            return head
        self._remaining = 0
        return head + body
