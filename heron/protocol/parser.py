"""Incremental, strict HTTP/1.1 request parser (protocol layer, sans-IO).

Feed it bytes as they arrive, in pieces of any size, and pull events::

    parser = RequestParser(limits)
    parser.feed(data)
    while (event := parser.next_event()) is not NEED_DATA:
        ...

Every rule of RFC 9112 that decides where a message ends is enforced rather
than guessed at, because a server and a proxy in front of it that disagree
about framing is how request smuggling happens. Anything ambiguous raises
``ProtocolError`` with the status to answer; the parser is then dead and the
connection must close. Messages are validated with one regular expression
over the whole header section instead of one per field, which keeps the
common path short.
"""

from __future__ import annotations

import re
from typing import Final

from heron.errors import ProtocolError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.protocol.events import END_OF_MESSAGE, NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.headers import parse_digits, split_comma_list

# RFC 9110 section 5.6.2: token = 1*tchar.
_TCHAR: Final = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
# RFC 9112 section 3: method SP request-target SP HTTP-version. The target is
# visible ASCII only: no CTL, no space, no obs-text, no fragment.
_REQUEST_LINE: Final = re.compile(rb"([%s]+) ([\x21-\x22\x24-\x7e]+) HTTP/([0-9])\.([0-9])" % _TCHAR)
# RFC 9112 section 5 + RFC 9110 section 5.5: a whole header section, each line
# `token ":" OWS field-value OWS CRLF`, values of HTAB, SP, VCHAR and
# obs-text. One fullmatch rules out obs-fold, space before the colon, bare CR
# or LF, and control characters, for every field at once.
_FIELD_LINES: Final = re.compile(rb"(?:[%s]+:[\t\x20-\x7e\x80-\xff]*\r\n)*" % _TCHAR)
# RFC 9112 section 7.1: chunk-size = 1*HEXDIG; we cap the digits (a 64-bit size).
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")
# What may follow the ";" of chunk extensions: they are ignored, so only
# checked for bytes that could hide a line end (CR, LF) or a control character.
_CHUNK_EXT: Final = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# A whole valid chunk-size line, as _parse_chunk_size reads one, for _whole_chunks.
_WHOLE_CHUNK_LINE: Final = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?\r\n")
# RFC 3986 section 3.2.2: IP-literal or reg-name (the IPv6 literal loosely).
_IP_LITERAL: Final = r"\[[0-9A-Fa-f:.]+\]"
_REG_NAME_CHAR: Final = r"[A-Za-z0-9\-._~!$&'()*+,;=%]"
# RFC 9112 section 3.2: Host = uri-host [ ":" port ]; the host may be empty
# when the target URI has no authority.
_HOST: Final = re.compile(r"(?:%s|%s*)(?::[0-9]*)?" % (_IP_LITERAL, _REG_NAME_CHAR))
# RFC 9110 section 4.2.1: an http(s) URI with an empty host is invalid.
_URI_AUTHORITY: Final = re.compile(r"(?:%s|%s+)(?::[0-9]*)?" % (_IP_LITERAL, _REG_NAME_CHAR))
# RFC 9112 section 3.2.3: authority-form = uri-host ":" port, both required.
_AUTHORITY_FORM: Final = re.compile(r"(?:%s|%s+):[0-9]+" % (_IP_LITERAL, _REG_NAME_CHAR))
# A CR not followed by LF, or an LF not preceded by CR (the end of the buffer is
# not yet known to be bare).
_BARE_CR_OR_LF: Final = re.compile(rb"\r(?=[^\n])|(?<!\r)\n")

# Transfer codings we know by name (RFC 9110 section 18.6); only chunked is decoded.
_KNOWN_CODINGS: Final = frozenset({"chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"})

# Parser states.
_HEAD: Final = 0
_BODY_LENGTH: Final = 1
_CHUNK_SIZE_LINE: Final = 2
_CHUNK_DATA: Final = 3
_CHUNK_END: Final = 4
_TRAILERS: Final = 5
_END: Final = 6
_ERROR: Final = 7


class RequestParser:
    """Turns the bytes of one connection into request events.

    Requests follow one another on the connection (keep-alive and
    pipelining): after ``EndOfMessage`` the parser expects the next request
    head. The caller decides when to pull the next event, so a server can
    leave pipelined requests in the buffer until it has answered the
    current one.
    """

    __slots__ = (
        "limits",
        "_buf",
        "_pos",
        "_scan_from",
        "_state",
        "_remaining",
        "_body_total",
        "_valid_host",
        "_error",
    )

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._buf = b""
        self._pos = 0
        self._scan_from = 0  # where to resume scanning an incomplete head or trailer section
        self._state = _HEAD
        self._remaining = 0  # bytes left in the current Content-Length body or chunk
        self._body_total = 0  # chunked body bytes so far, for max_body_bytes
        self._valid_host: str | None = None  # the last Host value that passed the check
        self._error: ProtocolError | None = None

    # -- buffer ---------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        if self._pos >= len(self._buf):
            self._buf = data
            self._scan_from = 0
        else:
            if self._pos:
                self._scan_from -= self._pos
                self._buf = self._buf[self._pos :]
            self._buf += data
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events (pipelined requests, body)."""
        return len(self._buf) - self._pos

    @property
    def at_message_start(self) -> bool:
        """True between requests: no byte of the next request has been consumed."""
        return self._state == _HEAD

    # -- events ---------------------------------------------------------

    def next_event(self) -> RequestHead | Data | EndOfMessage | object:
        """The next event, or ``NEED_DATA``; raises ``ProtocolError`` on bad input.

        After an error every further call raises the same error: nothing
        after a framing error can be trusted.
        """
        try:
            state = self._state
            if state == _HEAD:
                return self._next_head()
            if state == _BODY_LENGTH:
                return self._next_length_data()
            if state == _END:
                self._state = _HEAD
                return END_OF_MESSAGE
            if state == _ERROR:
                assert self._error is not None
                raise self._error
            return self._next_chunked()
        except ProtocolError as exc:
            self._state = _ERROR
            self._error = exc
            raise

    # -- request head -----------------------------------------------------

    def _next_head(self) -> RequestHead | object:
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            return NEED_DATA  # between requests, with nothing buffered: the usual case after a response
        # RFC 9112 section 2.2: ignore empty lines before the request line.
        while buf.startswith(b"\r\n", pos):
            pos += 2
        self._pos = pos
        end = buf.find(b"\r\n\r\n", max(pos, self._scan_from))
        if end < 0:
            self._check_partial_head(buf, pos)
            self._scan_from = max(pos, len(buf) - 3)
            return NEED_DATA
        line_end = buf.find(b"\r\n", pos, end + 2)
        limits = self.limits
        if line_end - pos > limits.max_request_line:
            raise ProtocolError(414, "request line too long")
        fields_end = end + 2
        if fields_end - line_end - 2 > limits.max_header_bytes:
            raise ProtocolError(431, "header section too large")
        self._pos = end + 4
        self._scan_from = self._pos
        return self._parse_head(buf[pos:line_end], buf[line_end + 2 : fields_end])

    def _check_partial_head(self, buf: bytes, pos: int) -> None:
        """Fail early on an incomplete head that can never become valid.

        The caps allow one byte more than the complete head may have: that
        byte can be the CR of a line end still on its way, and a head cut
        there must not fail when the same head in one piece would pass. The
        scan for bare CR or LF resumes where the last one stopped, so a head
        trickling in a byte at a time costs linear, not quadratic, time.
        """
        limits = self.limits
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            if len(buf) - pos > limits.max_request_line + 1:
                raise ProtocolError(414, "request line too long")
        elif line_end - pos > limits.max_request_line:
            raise ProtocolError(414, "request line too long")
        elif len(buf) - line_end - 2 > limits.max_header_bytes + 1:
            raise ProtocolError(431, "header section too large")
        if _BARE_CR_OR_LF.search(buf, max(pos, self._scan_from)):
            raise ProtocolError(400, "bare CR or LF in request head")

    def _parse_head(self, line: bytes, block: bytes) -> RequestHead:
        m = _REQUEST_LINE.fullmatch(line)
        if m is None:
            raise ProtocolError(400, _diagnose_request_line(line))
        raw_method, raw_target, major, minor = m.groups()
        if major != b"1":
            raise ProtocolError(505, "HTTP version not supported")
        # RFC 9112 section 2.3: a higher 1.x minor version is answered as 1.1.
        version = "1.0" if minor == b"0" else "1.1"
        method = raw_method.decode("ascii")
        target = raw_target.decode("ascii")

        limits = self.limits
        if block.count(b"\r\n") > limits.max_header_count:
            raise ProtocolError(431, "too many header fields")
        if _FIELD_LINES.fullmatch(block) is None:
            raise ProtocolError(400, _diagnose_fields(block))
        headers: list[tuple[str, str]] = []
        hosts: list[str] = []
        lengths: list[str] = []
        codings: list[str] = []
        connection = expect = ""
        if block:
            for field_line in block[:-2].decode("latin-1").split("\r\n"):
                name, _, value = field_line.partition(":")
                value = value.strip(" \t")
                headers.append((name, value))
                lname = name.lower()
                if lname == "host":
                    hosts.append(value)
                elif lname == "content-length":
                    lengths.append(value)
                elif lname == "transfer-encoding":
                    codings.extend(_transfer_codings(value))
                elif lname == "connection":
                    connection = connection + "," + value if connection else value
                elif lname == "expect":
                    expect = expect + "," + value if expect else value

        path, query, authority = _split_target(method, target)
        if len(hosts) > 1:
            raise ProtocolError(400, "more than one Host field")
        if hosts:
            if hosts[0] != self._valid_host:  # a client sends the same Host on every request
                if _HOST.fullmatch(hosts[0]) is None:
                    raise ProtocolError(400, "invalid Host field")
                self._valid_host = hosts[0]
            if not authority:
                authority = hosts[0]
        elif version == "1.1":
            raise ProtocolError(400, "missing Host field")

        content_length, chunked = self._framing(version, lengths, codings)
        if codings or (lengths and (len(lengths) > 1 or lengths[0] != str(content_length))):
            headers = _canonical_framing(headers, content_length)

        tokens = split_comma_list(connection.lower()) if connection else ()
        if version == "1.1":
            keep_alive = "close" not in tokens
        else:
            keep_alive = "keep-alive" in tokens and "close" not in tokens
        expect_continue = False
        if expect:
            expectations = split_comma_list(expect.lower())
            if any(e != "100-continue" for e in expectations):
                raise ProtocolError(417, "unsupported expectation")
            # RFC 9110 section 10.1.1: ignore 100-continue from HTTP/1.0 clients.
            expect_continue = version == "1.1" and (chunked or bool(content_length))

        if chunked:
            self._state = _CHUNK_SIZE_LINE
            self._body_total = 0
        elif content_length:
            self._state = _BODY_LENGTH
            self._remaining = content_length
        else:
            self._state = _END
        return RequestHead(
            method, target, path, query, version, headers, authority,
            keep_alive, expect_continue, content_length, chunked,
        )

    def _framing(self, version: str, lengths: list[str], codings: list[str]) -> tuple[int | None, bool]:
        """Body length per RFC 9112 section 6.3: (content_length, chunked)."""
        if codings:
            if lengths:
                raise ProtocolError(400, "both Content-Length and Transfer-Encoding")
            if version == "1.0":
                raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if any(c not in _KNOWN_CODINGS for c in codings):
                raise ProtocolError(501, "unknown transfer coding")
            if codings[-1] != "chunked" or codings.count("chunked") > 1:
                raise ProtocolError(400, "chunked is not the final transfer coding")
            if len(codings) > 1:
                raise ProtocolError(501, "unsupported transfer coding")
            return None, True
        if not lengths:
            return 0, False
        values = {v.strip(" \t") for item in lengths for v in item.split(",")}
        if len(values) > 1:
            raise ProtocolError(400, "conflicting Content-Length values")
        length = parse_digits(values.pop(), self.limits.max_body_bytes + 1)
        if length is None:
            raise ProtocolError(400, "invalid Content-Length")
        if length > self.limits.max_body_bytes:
            raise ProtocolError(413, "request body too large")
        return length, False

    # -- bodies -----------------------------------------------------------

    def _next_length_data(self) -> Data | object:
        data = self._take_remaining()
        if data is None:
            return NEED_DATA
        if not self._remaining:
            self._state = _END
        return Data(data)

    def _take_remaining(self) -> bytes | None:
        """Up to ``_remaining`` bytes from the buffer (the rest of a Content-Length body, or of a
        chunk's data); None if it holds none."""
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if not available:
            return None
        n = self._remaining
        if available <= n:
            data = buf[pos:] if pos else buf
            n = available
        else:
            data = buf[pos : pos + n]
        self._pos = pos + n
        self._remaining -= n
        return data

    def _next_chunked(self) -> Data | EndOfMessage | object:
        """The data of every chunk already in the buffer as one ``Data``; then trailers and the end.

        One event per chunk would let a client that sends 2-byte chunks
        make the server hold one object (about 35 bytes) per 2 bytes of
        body, whatever the byte limits say; gathered per buffer, a body
        costs about its size however it is chunked. A framing error after
        some data in the buffer is raised on the next call, once that data
        has been handed out, so the events are the same however the bytes
        were split.
        """
        pieces: list[bytes] = []
        try:
            while True:
                state = self._state
                if state == _CHUNK_DATA:
                    piece = self._take_remaining()
                    if piece is None:
                        break
                    pieces.append(piece)
                    if not self._remaining:
                        self._state = _CHUNK_END
                elif state == _CHUNK_SIZE_LINE:
                    self._whole_chunks(pieces)
                    if not self._chunk_size_line():
                        break
                elif state == _CHUNK_END:
                    if not self._chunk_end():
                        break
                elif pieces:
                    break  # the data first; the trailers on the next call
                else:
                    return self._next_trailers()
        except ProtocolError:
            if not pieces:
                raise
        if not pieces:
            return NEED_DATA
        return Data(pieces[0] if len(pieces) == 1 else b"".join(pieces))

    def _whole_chunks(self, pieces: list[bytes]) -> None:
        """Take the chunks that are whole in the buffer (size line, data, CRLF) at one match each.

        The quick way for a body of many small chunks: anything else (the
        last chunk, a chunk not all here, a line too long, an error) is
        left where it is for the step by step parse, which says what is
        wrong. Stops before the chunk that would pass ``max_body_bytes``.
        """
        buf = self._buf
        pos = self._pos
        end_of_buffer = len(buf)
        longest = self.limits.max_chunk_line + 2
        left = self.limits.max_body_bytes - self._body_total
        match = _WHOLE_CHUNK_LINE.match
        while (line := match(buf, pos)) is not None:
            start = line.end()
            size = int(line[1], 16)
            end = start + size
            if (not size or end + 2 > end_of_buffer or size > left or start - pos > longest
                    or buf[end:end + 2] != b"\r\n"):
                break
            pieces.append(buf[start:end])
            left -= size
            pos = end + 2
        self._body_total = self.limits.max_body_bytes - left
        self._pos = pos

    def _chunk_size_line(self) -> bool:
        """Read a chunk-size line (RFC 9112 section 7.1); False if it is not all here yet."""
        buf = self._buf
        pos = self._pos
        line_end = buf.find(b"\r\n", pos, pos + self.limits.max_chunk_line + 2)
        if line_end < 0:
            # One byte of slack: it may be the CR of the line end.
            if len(buf) - pos > self.limits.max_chunk_line + 1:
                raise ProtocolError(400, "chunk size line too long")
            if _BARE_CR_OR_LF.search(buf, pos):
                raise ProtocolError(400, "bare CR or LF in chunk size line")
            return False
        size = self._parse_chunk_size(buf[pos:line_end])
        self._pos = line_end + 2
        if size == 0:
            self._state = _TRAILERS
        else:
            self._remaining = size
            self._state = _CHUNK_DATA
        return True

    def _chunk_end(self) -> bool:
        """The CRLF after a chunk's data; False if it is not all here yet."""
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < 2:
            if buf[pos:] not in (b"", b"\r"):
                raise ProtocolError(400, "chunk data not followed by CRLF")
            return False
        if buf[pos : pos + 2] != b"\r\n":
            raise ProtocolError(400, "chunk data not followed by CRLF")
        self._pos = pos + 2
        self._state = _CHUNK_SIZE_LINE
        return True

    def _parse_chunk_size(self, line: bytes) -> int:
        size_part, sep, ext = line.partition(b";")
        if sep:
            size_part = size_part.rstrip(b" \t")
        if _CHUNK_SIZE.fullmatch(size_part) is None:
            raise ProtocolError(400, "invalid chunk size")
        if sep and _CHUNK_EXT.fullmatch(ext) is None:
            raise ProtocolError(400, "invalid chunk extension")
        size = int(size_part, 16)
        if self._body_total + size > self.limits.max_body_bytes:
            raise ProtocolError(413, "request body too large")
        self._body_total += size
        return size

    def _next_trailers(self) -> EndOfMessage | object:
        buf = self._buf
        pos = self._pos
        if buf.startswith(b"\r\n", pos):
            self._pos = pos + 2
            self._state = _HEAD
            self._scan_from = self._pos
            return END_OF_MESSAGE
        # Resume scanning where the last call stopped, as for the head.
        scan_from = max(pos, self._scan_from)
        end = buf.find(b"\r\n\r\n", scan_from)
        if end < 0:
            if len(buf) - pos > self.limits.max_header_bytes + 1:
                raise ProtocolError(431, "trailer section too large")
            if _BARE_CR_OR_LF.search(buf, scan_from):
                raise ProtocolError(400, "bare CR or LF in trailer section")
            self._scan_from = max(pos, len(buf) - 3)
            return NEED_DATA
        block = buf[pos : end + 2]
        if len(block) > self.limits.max_header_bytes:
            raise ProtocolError(431, "trailer section too large")
        if block.count(b"\r\n") > self.limits.max_header_count:
            raise ProtocolError(431, "too many trailer fields")
        if _FIELD_LINES.fullmatch(block) is None:
            raise ProtocolError(400, _diagnose_fields(block).replace("header", "trailer"))
        trailers = []
        for field_line in block[:-2].decode("latin-1").split("\r\n"):
            name, _, value = field_line.partition(":")
            trailers.append((name, value.strip(" \t")))
        self._pos = end + 4
        self._state = _HEAD
        self._scan_from = self._pos
        return EndOfMessage(tuple(trailers))


def _transfer_codings(value: str) -> list[str]:
    """The codings of one Transfer-Encoding field line, lower-cased; 400 for an empty member.

    RFC 9110 section 5.6.1 lets a recipient skip empty list members, but
    parsers in front of heron disagree about them (h11 refuses ``chunked,``
    and ``, chunked``; llhttp refuses some of the forms), and a proxy that
    reads the framing differently from the server is how smuggling starts.
    So, as for ``chunked, chunked``, heron refuses rather than picks a reading.
    """
    codings = [part.strip(" \t") for part in value.lower().split(",")]
    if "" in codings:
        raise ProtocolError(400, "empty member in Transfer-Encoding")
    return codings


def _canonical_framing(headers: list[tuple[str, str]], content_length: int | None) -> list[tuple[str, str]]:
    """``headers`` with the framing the parser settled on, written once and plainly.

    Identical Content-Length values (``5, 5``, two fields, ``005``) become
    one ``Content-Length: 5`` where the first stood, and Transfer-Encoding
    goes: the parser has removed the chunked coding, as RFC 9112 section
    7.1.3 says a recipient that decodes it does. What handlers and hosted
    apps read (``CONTENT_LENGTH``, the ASGI headers) then always parses as
    one number, whatever list form the client chose.
    """
    fields: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        if lname == "content-length":
            if content_length is None:
                continue
            value, content_length = str(content_length), None
        elif lname == "transfer-encoding":
            continue
        fields.append((name, value))
    return fields


def _split_target(method: str, target: str) -> tuple[str, str, str]:
    """(path, query, authority) of a request-target (RFC 9112 section 3.2)."""
    if method == "CONNECT":
        # RFC 9110 section 9.3.6: CONNECT names only a host and port.
        if _AUTHORITY_FORM.fullmatch(target) is None:
            raise ProtocolError(400, "invalid authority-form target")
        return "", "", target
    if target[0] == "/":
        path, _, query = target.partition("?")
        return path, query, ""
    if target == "*":
        if method != "OPTIONS":
            raise ProtocolError(400, "asterisk-form target outside OPTIONS")
        return "*", "", ""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ProtocolError(400, "invalid request target")
    slash = len(rest)
    for delimiter in "/?":
        i = rest.find(delimiter)
        if 0 <= i < slash:
            slash = i
    authority = rest[:slash]
    if _URI_AUTHORITY.fullmatch(authority) is None:
        raise ProtocolError(400, "invalid authority in absolute-form target")
    path, _, query = rest[slash:].partition("?")
    return path or "/", query, authority


def _diagnose_request_line(line: bytes) -> str:
    """Name what is wrong with a request line (only on the error path)."""
    parts = line.split(b" ")
    if len(parts) != 3:
        return "malformed request line"
    method, target, version = parts
    if not method or re.fullmatch(rb"[%s]+" % _TCHAR, method) is None:
        return "invalid method"
    if re.fullmatch(rb"HTTP/[0-9]\.[0-9]", version) is None:
        return "malformed HTTP version"
    return "invalid request target"


def _diagnose_fields(block: bytes) -> str:
    """Name which rule a header section broke (only on the error path)."""
    for line in block.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            return "bare CR or LF in header section"
        if line[:1] in (b" ", b"\t"):
            return "obsolete line folding in header section"
        name, colon, value = line.partition(b":")
        if not colon:
            if line:
                return "header line without a colon"
            continue
        if name != name.rstrip(b" \t"):
            return "whitespace between header name and colon"
        if re.fullmatch(rb"[%s]+" % _TCHAR, name) is None:
            return "invalid header name"
        if re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", value):
            return "control character in header value"
    return "malformed header section"
