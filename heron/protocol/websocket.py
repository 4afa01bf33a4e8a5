"""WebSocket frames, the server's side (RFC 6455 section 5; protocol layer, sans-IO).

After the handshake (``heron.protocol.wshandshake``) a connection carries
frames both ways. ``FrameReader`` is fed the client's bytes and hands out
events, as ``RequestParser`` does for HTTP: a whole ``Message`` (text as
``str``, binary as ``bytes``, its fragments joined and, with
permessage-deflate, inflated), ``Ping``, ``Pong`` or ``Close``. The
``encode_*`` functions make the server's frames, which are never masked.

Every rule that tells a client frame from garbage is enforced, each a
close code the server then sends before it closes the connection
(``WebSocketError``): unmasked frames, reserved bits or opcodes,
fragmented or oversized control frames, a continuation with no message
to continue, a close frame with a code that may not be sent (1005, 1006,
1015, unassigned) or a reason that is not UTF-8 (1002, 1007); text that
is not UTF-8, found as soon as a byte makes it impossible (1007, read
incrementally across fragments); a message over ``max_message`` bytes,
counted after decompression and refused before it is held (1009).
"""

from __future__ import annotations

import codecs
import functools
from typing import Final, NamedTuple

from heron.protocol.events import NEED_DATA
from heron.protocol.wsdeflate import CorruptMessage, Deflate

__all__ = [
    "CLOSE_CODES_SENDABLE", "Close", "FrameReader", "Message", "Ping", "Pong", "WebSocketError",
    "encode_close", "encode_frame", "frame_header", "mask", "message_frame", "unmask_in_place",
]

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA
_DATA_OPCODES: Final = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY})
_CONTROL_OPCODES: Final = frozenset({OP_CLOSE, OP_PING, OP_PONG})
MAX_CONTROL_PAYLOAD: Final = 125
"""RFC 6455 section 5.5: a control frame's payload is at most 125 bytes."""

CLOSE_CODES_SENDABLE: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})
"""Close codes an endpoint may put in a close frame (RFC 6455 section 7.4.1 and the IANA registry),
besides the 3000-4999 range for libraries and apps. 1005 (no code), 1006 (closed without a close
frame) and 1015 (TLS failure) exist only to tell an app what happened, never on the wire."""


class WebSocketError(Exception):
    """The client broke the protocol: close the connection with ``code``, saying ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class Message(NamedTuple):
    """One whole data message: ``str`` for a text message, ``bytes`` for a binary one."""

    data: str | bytes


class Ping(NamedTuple):
    payload: bytes


class Pong(NamedTuple):
    payload: bytes


class Close(NamedTuple):
    """The client's close frame: its code (1005 when it sent none) and reason."""

    code: int
    reason: str


Event = Message | Ping | Pong | Close


def valid_close_code(code: int) -> bool:
    """May ``code`` appear in a close frame (RFC 6455 section 7.4)?"""
    return code in CLOSE_CODES_SENDABLE or 3000 <= code <= 4999


def mask(data: bytes, key: bytes) -> bytes:
    """``data`` XOR the 4-byte ``key`` repeated (section 5.3): masking and unmasking are the same."""
    if len(data) < _LANES_FROM:
        return _xor_as_integers(data, key) if data else data
    out = bytearray(data)
    unmask_in_place(out, 0, len(out), key)
    return bytes(out)


def unmask_in_place(buf: bytearray, start: int, end: int, key: bytes) -> None:
    """XOR ``buf[start:end]`` with ``key`` repeated, where it lies, without a Python loop over bytes.

    Each of the four lanes (every fourth byte: the bytes one key byte
    masks) goes through ``bytes.translate`` with the XOR table of its key
    byte. That touches each byte three times (take the lane, translate,
    put it back), where an XOR of two integers as long as the payload
    costs more in converting bytes to integers and back (bench/LOG.md).
    Pieces of ``_LANE_PIECE`` bytes keep the temporary lanes small.
    """
    tables = [_xor_table(byte) for byte in key]
    for at in range(start, end, _LANE_PIECE):
        stop = min(at + _LANE_PIECE, end)
        for lane in range(4):
            buf[at + lane:stop:4] = buf[at + lane:stop:4].translate(tables[lane])


_LANES_FROM: Final = 256
"""Payload size from which masking works lane by lane; below it one integer XOR is cheaper."""
_LANE_PIECE: Final = 64 * 1024
"""Bytes unmasked per round of the four lanes (a multiple of 4, so each lane keeps its key byte)."""


def _xor_as_integers(data: bytes, key: bytes) -> bytes:
    n = len(data)
    repeated = (key * ((n + 3) // 4))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


@functools.cache
def _xor_table(byte: int) -> bytes:
    """The ``bytes.translate`` table that XORs every byte with ``byte``."""
    return _xor_as_integers(bytes(range(256)), bytes((byte,)) * 4)


def frame_header(opcode: int, length: int, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A server frame's header (never masked, section 5.1): 7, 16 or 64-bit length."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A server frame: header and payload."""
    return frame_header(opcode, len(payload), fin=fin, rsv1=rsv1) + payload


def message_frame(data: str | bytes, deflate: Deflate | None = None) -> tuple[bytes, bytes]:
    """One data message as a single frame (text for ``str``, binary for ``bytes``), compressed if
    permessage-deflate was agreed: its header and payload, apart, so a large payload need not be
    copied behind its header."""
    opcode = OP_TEXT if isinstance(data, str) else OP_BINARY
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if deflate is not None:
        payload = deflate.compress(payload)
    return frame_header(opcode, len(payload), rsv1=deflate is not None), payload


def encode_close(code: int | None = 1000, reason: str = "") -> bytes:
    """A close frame; ``code`` None sends none (the peer then sees 1005). The reason is cut, at a
    character boundary, to fit the 125 bytes a control frame may hold."""
    if code is None:
        return encode_frame(OP_CLOSE, b"")
    encoded = reason.encode("utf-8")[:MAX_CONTROL_PAYLOAD - 2]
    return encode_frame(OP_CLOSE, code.to_bytes(2, "big") + encoded.decode("utf-8", "ignore").encode("utf-8"))


class FrameReader:
    """Client frames in, events out; ``WebSocketError`` for a frame that breaks the protocol.

    ``max_message`` bounds a whole message (every fragment, after
    decompression). ``deflate`` is what permessage-deflate agreed, None
    if it was not. After an error the reader is dead: every further call
    raises the same error, as the connection must close.

    Text is checked as it arrives, not only once a frame is whole: the
    part of a plain text frame already received is decoded ahead, so bytes
    that can never become UTF-8 fail the connection at once (section 8.1
    asks to fail fast), even in the middle of a long frame.
    """

    __slots__ = ("max_message", "_deflate", "_buf", "_chunks", "_texts", "_size", "_opcode", "_compressed", "_text",
                 "_ahead", "_checked", "_error")

    def __init__(self, max_message: int, deflate: Deflate | None = None) -> None:
        self.max_message = max_message
        self._deflate = deflate
        self._buf = bytearray()
        self._chunks: list[bytes] = []  # a binary message's payload so far
        self._texts: list[str] = []  # a text message's, decoded as it came
        self._size = 0  # the message's length so far, in bytes (inflated)
        self._opcode: int | None = None  # OP_TEXT or OP_BINARY while a fragmented message is open
        self._compressed = False
        self._text: codecs.IncrementalDecoder | None = None  # decodes a fragmented text message as it comes
        self._ahead: codecs.IncrementalDecoder | None = None  # checks the part of a text frame already here
        self._checked = 0  # how much of the unfinished frame's payload _ahead has seen
        self._error: WebSocketError | None = None

    def feed(self, data: bytes | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events."""
        return len(self._buf)

    def next_event(self) -> Event | object:
        """The next event, or ``NEED_DATA``."""
        if self._error is not None:
            raise self._error
        try:
            while True:
                frame = self._next_frame()
                if frame is None:
                    return NEED_DATA
                event = self._on_frame(*frame)
                if event is not None:
                    return event
        except WebSocketError as exc:
            self._error = exc
            raise

    def _next_frame(self) -> tuple[bool, bool, int, bytes] | None:
        """(fin, rsv1, opcode, unmasked payload) of the frame at the front of the buffer, taken; None if
        it is not all here. The header is checked as soon as it is, before any of the payload is kept."""
        buf = self._buf
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        fin, rsv1, opcode = bool(first & 0x80), bool(first & 0x40), first & 0x0F
        length, start = second & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, start = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, start = int.from_bytes(buf[2:10], "big"), 10
            if length >> 63:
                raise WebSocketError(1002, "frame length with its most significant bit set")
        self._check_header(first, second, fin, rsv1, opcode, length)
        end = start + 4 + length
        if len(buf) < end:
            if len(buf) > start + 4 + self._checked and self._is_plain_text(opcode, rsv1):
                self._check_ahead(start)
            return None
        with memoryview(buf) as view:
            key = view[start:start + 4].tobytes()
            if length >= _LANES_FROM:  # where it lies: one copy of the payload, not three
                unmask_in_place(buf, start + 4, end, key)
                payload = view[start + 4:end].tobytes()
            else:
                payload = mask(view[start + 4:end].tobytes(), key)
        del buf[:end]
        self._ahead, self._checked = None, 0
        return fin, rsv1, opcode, payload

    def _is_plain_text(self, opcode: int, rsv1: bool) -> bool:
        """Is the frame part of a text message that is not compressed (whose bytes are its text)?"""
        if opcode == OP_TEXT:
            return not rsv1
        return opcode == OP_CONTINUATION and self._text is not None and not self._compressed

    def _check_ahead(self, start: int) -> None:
        """Decode the newly arrived part of an unfinished text frame, whose mask key is at ``start``."""
        if self._ahead is None:
            self._ahead = codecs.getincrementaldecoder("utf-8")()
            if self._text is not None:  # a continuation: carry on from the message's own decoder
                self._ahead.setstate(self._text.getstate())
        shift = self._checked % 4
        key = bytes(self._buf[start + shift:start + 4] + self._buf[start:start + shift])
        arrived = mask(bytes(self._buf[start + 4 + self._checked:]), key)
        self._checked += len(arrived)
        _check_utf8(self._ahead, arrived, final=False)

    def _check_header(self, first: int, second: int, fin: bool, rsv1: bool, opcode: int, length: int) -> None:
        """Section 5.2's rules for one frame header, in the context of the message in progress."""
        if first & 0x30:
            raise WebSocketError(1002, "reserved bits RSV2 or RSV3 set")
        if not second & 0x80:
            raise WebSocketError(1002, "client frame not masked")
        if opcode in _CONTROL_OPCODES:
            if not fin:
                raise WebSocketError(1002, "fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                raise WebSocketError(1002, "control frame payload over 125 bytes")
            if rsv1:
                raise WebSocketError(1002, "RSV1 set on a control frame")
            return
        if opcode not in _DATA_OPCODES:
            raise WebSocketError(1002, f"reserved opcode {opcode:#x}")
        if opcode == OP_CONTINUATION:
            if self._opcode is None:
                raise WebSocketError(1002, "continuation frame with no message to continue")
            if rsv1:
                raise WebSocketError(1002, "RSV1 set on a continuation frame")
        else:
            if self._opcode is not None:
                raise WebSocketError(1002, "new message before the last one was finished")
            if rsv1 and self._deflate is None:
                raise WebSocketError(1002, "RSV1 set without a negotiated extension")
        compressed = rsv1 if opcode != OP_CONTINUATION else self._compressed
        if compressed:
            # Held whole before it is inflated, so bounded too: deflate makes data at most 13% longer
            # (zlib's most cautious deflateBound), so a frame a quarter over belongs to no message within it.
            if length > self.max_message + (self.max_message >> 2) + 64:
                raise WebSocketError(1009, f"compressed frame over {self.max_message} bytes")
        elif self._size + length > self.max_message:
            raise WebSocketError(1009, f"message over {self.max_message} bytes")

    def _on_frame(self, fin: bool, rsv1: bool, opcode: int, payload: bytes) -> Event | None:
        if opcode == OP_PING:
            return Ping(payload)
        if opcode == OP_PONG:
            return Pong(payload)
        if opcode == OP_CLOSE:
            return _parse_close(payload)
        if opcode != OP_CONTINUATION:
            if fin and not rsv1:  # the usual case: a whole message in one plain frame
                return Message(_decode(payload) if opcode == OP_TEXT else payload)
            self._opcode, self._compressed = opcode, rsv1
            self._text = codecs.getincrementaldecoder("utf-8")() if opcode == OP_TEXT else None
        if self._compressed:
            assert self._deflate is not None
            try:
                inflated = self._deflate.decompress(payload, self.max_message - self._size, final=fin)
            except CorruptMessage:
                raise WebSocketError(1007, "compressed message is not a valid deflate stream") from None
            if inflated is None:
                raise WebSocketError(1009, f"message over {self.max_message} bytes once inflated")
            payload = inflated
        self._size += len(payload)
        if self._text is not None:
            self._texts.append(_check_utf8(self._text, payload, final=fin))
        else:
            self._chunks.append(payload)
        return self._finish() if fin else None

    def _finish(self) -> Message:
        """The message the frames so far make up; the reader is ready for the next."""
        if self._text is not None:
            message = Message("".join(self._texts))
            self._texts = []
        else:
            message = Message(b"".join(self._chunks))
            self._chunks = []
        self._size = 0
        self._opcode = None
        self._text = None
        return message


def _decode(payload: bytes) -> str:
    """A whole text message's payload as text; 1007 if it is not UTF-8."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError(1007, "text message is not valid UTF-8") from None


def _check_utf8(decoder: codecs.IncrementalDecoder, data: bytes, final: bool) -> str:
    """``data`` decoded after what ``decoder`` has seen; 1007 as soon as it cannot be the start of UTF-8."""
    try:
        text = decoder.decode(data, final)
    except UnicodeDecodeError:
        raise WebSocketError(1007, "text message is not valid UTF-8") from None
    if _surrogate_pending(decoder):
        raise WebSocketError(1007, "text message is not valid UTF-8")
    return text


def _surrogate_pending(decoder: codecs.IncrementalDecoder) -> bool:
    """Does the decoder hold ED A0-BF, the start of a UTF-16 surrogate, which no byte can make valid?
    CPython's decoder waits for the third byte to say so; every other impossible prefix it refuses at once."""
    pending = decoder.getstate()[0]
    return pending[:1] == b"\xed" and pending[1:2] >= b"\xa0"


def _parse_close(payload: bytes) -> Close:
    """A close frame's code and reason (section 5.5.1), checked (section 7.4)."""
    if not payload:
        return Close(1005, "")
    if len(payload) == 1:
        raise WebSocketError(1002, "close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if not valid_close_code(code):
        raise WebSocketError(1002, f"close code {code} may not be sent")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError(1007, "close reason is not valid UTF-8") from None
    return Close(code, reason)
