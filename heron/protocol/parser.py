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
connection must close. This module cuts messages out of the byte stream
and decodes their bodies; what a head means is ``heron.protocol.head``'s.
"""

from __future__ import annotations

import re
from typing import Final

from heron.errors import ProtocolError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.protocol.events import END_OF_MESSAGE, NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.head import (
    FIELD_LINES,
    canonical_framing,
    diagnose_fields,
    expects_continue,
    framing,
    keeps_alive,
    parse_request_line,
    read_fields,
    split_target,
    valid_host,
)

# RFC 9112 section 7.1: chunk-size = 1*HEXDIG; we cap the digits (a 64-bit size).
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")
# What may follow the ";" of chunk extensions: they are ignored, so only
# checked for bytes that could hide a line end (CR, LF) or a control character.
_CHUNK_EXT: Final = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# A whole valid chunk-size line, as _parse_chunk_size reads one, for _whole_chunks.
_WHOLE_CHUNK_LINE: Final = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?\r\n")
# A CR not followed by LF, or an LF not preceded by CR (the end of the buffer is
# not yet known to be bare).
_BARE_CR_OR_LF: Final = re.compile(rb"\r(?=[^\n])|(?<!\r)\n")

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

    def take_buffer(self) -> bytes:
        """The bytes received and not parsed, handed over (the connection now speaks another
        protocol, RFC 9110 section 7.8); the parser holds nothing after."""
        data = self._buf[self._pos:]
        self._buf, self._pos, self._scan_from = b"", 0, 0
        return data

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
        """Fail early on an incomplete head that can never become valid: a request line that is
        whole and wrong fails as the whole head would, without waiting for the rest.

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
        else:
            if line_end + 1 >= self._scan_from:  # the request line is whole since the last look
                parse_request_line(buf[pos:line_end])
            if len(buf) - line_end - 2 > limits.max_header_bytes + 1:
                raise ProtocolError(431, "header section too large")
        if _BARE_CR_OR_LF.search(buf, max(pos, self._scan_from)):
            raise ProtocolError(400, "bare CR or LF in request head")

    def _parse_head(self, line: bytes, block: bytes) -> RequestHead:
        method, target, version = parse_request_line(line)
        headers, hosts, lengths, codings, connection, expect, upgrade = read_fields(block, self.limits.max_header_count)
        path, query, authority = split_target(method, target)
        if len(hosts) > 1:
            raise ProtocolError(400, "more than one Host field")
        if hosts:
            if hosts[0] != self._valid_host:  # a client sends the same Host on every request
                if not valid_host(hosts[0]):
                    raise ProtocolError(400, "invalid Host field")
                self._valid_host = hosts[0]
            if not authority:
                authority = hosts[0]
        elif version == "1.1":
            raise ProtocolError(400, "missing Host field")
        content_length, chunked = framing(version, lengths, codings, self.limits.max_body_bytes)
        if codings or (lengths and (len(lengths) > 1 or lengths[0] != str(content_length))):
            headers = canonical_framing(headers, content_length)
        expect_continue = expects_continue(version, expect, chunked or bool(content_length)) if expect else False
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
            keeps_alive(version, connection) if connection else version == "1.1", expect_continue, content_length,
            chunked, upgrade,
        )

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
        if FIELD_LINES.fullmatch(block) is None:
            raise ProtocolError(400, diagnose_fields(block).replace("header", "trailer"))
        trailers = []
        for field_line in block[:-2].decode("latin-1").split("\r\n"):
            name, _, value = field_line.partition(":")
            trailers.append((name, value.strip(" \t")))
        self._pos = end + 4
        self._state = _HEAD
        self._scan_from = self._pos
        return EndOfMessage(tuple(trailers))
