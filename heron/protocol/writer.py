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

import re
from datetime import datetime, timezone
from typing import Final

from heron.errors import reason_phrase

# RFC 9110 section 5.6.2: field names are tokens.
_TOKENS: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: CR, LF and NUL may never appear in a field value.
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\r\n\x00]")
# Framing and connection headers belong to the server, never to the app.
_SERVER_OWNED: Final = frozenset({"transfer-encoding", "connection", "keep-alive", "content-length"})

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HeaderError(ValueError):
    """A response header the writer refuses to send (it would corrupt the response)."""


def format_http_date(epoch_seconds: float) -> str:
    """IMF-fixdate (RFC 9110 section 5.6.7), e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    t = datetime.fromtimestamp(int(epoch_seconds), timezone.utc)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.weekday()], t.day, _MONTHS[t.month], t.year, t.hour, t.minute, t.second,
    )


def _status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status).encode("ascii"))


_STATUS_LINES: Final = {status: _status_line(status) for status in range(100, 600)}


def validate_headers(headers: list[tuple[str, str]]) -> None:
    """Raise ``HeaderError`` unless every name is a token and no value holds CR, LF or NUL."""
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, str):
            raise HeaderError(f"header names and values must be str, got {name!r}: {type(value).__name__}")
        if _TOKENS.fullmatch(name) is None:
            raise HeaderError(f"invalid header name {name!r}")
        if _FORBIDDEN_IN_VALUE.search(value):
            raise HeaderError(f"header {name!r} has CR, LF or NUL in its value")


def _encode_fields(headers: list[tuple[str, str]]) -> bytes:
    try:
        return "".join([f"{name}: {value}\r\n" for name, value in headers]).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HeaderError("header values must be latin-1; encode other text (RFC 8187)") from exc


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
        HTTP/1.1 and read-until-close on HTTP/1.0.
        """
        if self.started:
            raise RuntimeError("response head already sent")
        if not 100 <= status <= 599:
            raise HeaderError(f"status must be 100-599, got {status!r}")
        validate_headers(headers)
        fields: list[tuple[str, str]] = []
        declared = False
        for name, value in headers:
            lname = name.lower()
            if lname in _SERVER_OWNED:
                if lname == "content-length":
                    if not value.isdigit() or not value.isascii():
                        raise HeaderError(f"invalid Content-Length {value!r}")
                    if content_length is not None and int(value) != content_length:
                        raise HeaderError("Content-Length does not match the body")
                    content_length = int(value)
                    declared = True
                elif lname == "connection" and "close" in value.lower():
                    self.keep_alive = False
                continue
            fields.append((name, value))
        informational = status < 200
        if not informational:
            self.started = True
        if status < 200 or status == 204 or status == 304:
            self._no_body = True
            # RFC 9110 section 15.4.5: a 304 may repeat the length of the
            # representation it stands for, which only the app knows.
            if status == 304 and declared and content_length is not None:
                fields.append(("Content-Length", str(content_length)))
        else:
            self._no_body = self._method_head
            if content_length is not None:
                fields.append(("Content-Length", str(content_length)))
                self._remaining = content_length
            elif self._http10:
                self.keep_alive = False
            elif not self._method_head:
                fields.append(("Transfer-Encoding", "chunked"))
                self._chunked = True
        if self._no_body:
            self._remaining = None
        if not informational:
            fields.append(("Date", date))
            fields.append(("Server", server))
            if not self.keep_alive:
                fields.append(("Connection", "close"))
            elif self._http10:
                fields.append(("Connection", "keep-alive"))
        line = _STATUS_LINES.get(status) or _status_line(status)
        return line + _encode_fields(fields) + b"\r\n"

    def body(self, data: bytes) -> bytes:
        """``data`` framed for the wire (b"" where no body may be sent)."""
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
        """
        if self._chunked:
            if trailers:
                validate_headers(trailers)
                return b"0\r\n" + _encode_fields(trailers) + b"\r\n"
            return b"0\r\n\r\n"
        if self._remaining:
            raise HeaderError("response body shorter than its Content-Length")
        return b""

    def complete(self, status: int, headers: list[tuple[str, str]], body: bytes, *, date: str) -> bytes:
        """Head and body of a response held whole in memory, as one buffer."""
        head = self.head(status, headers, len(body), date=date)
        if self._no_body:
            return head
        self._remaining = 0
        return head + body
