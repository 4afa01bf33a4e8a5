"""FrameReader and the frame encoders: one test per rule of RFC 6455 section 5 that the reader enforces.

Client frames are built here byte by byte, as section 5.2 draws them
(``client_frame``), never with the encoders under test. Every refusal is
checked fed whole and fed a byte at a time, for its close code, and for
the reader staying dead afterwards (``refusal``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.protocol.events import NEED_DATA
from heron.protocol.websocket import (
    CLOSE_CODES_SENDABLE,
    Close,
    FrameReader,
    Message,
    Ping,
    Pong,
    WebSocketError,
    encode_close,
    encode_frame,
    message_frame,
    mask,
    unmask_in_place,
    valid_close_code,
)
from heron.protocol.wsdeflate import Deflate, DeflateParams

from .strategies import property_settings

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL_OPCODES = [OP_CLOSE, OP_PING, OP_PONG]
RESERVED_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]
KEY = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 section 5.7's examples
LIMIT = 1 << 16

Event = Message | Ping | Pong | Close


# -- helpers ------------------------------------------------------------------


def client_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False, rsv2: bool = False,
                 rsv3: bool = False, masked: bool = True, key: bytes = KEY, length: int | None = None) -> bytes:
    """A client frame written out field by field as section 5.2 draws it.

    ``length`` declares another payload length than ``payload``'s (a header
    that lies, or a header sent ahead of its payload); masking is the
    section 5.3 rule applied one byte at a time.
    """
    declared = len(payload) if length is None else length
    mask_bit = 0x80 if masked else 0x00
    out = bytearray([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
                     | opcode])
    if declared <= 125:
        out.append(mask_bit | declared)
    elif declared <= 0xFFFF:
        out += bytes([mask_bit | 126, declared >> 8, declared & 0xFF])
    else:
        out.append(mask_bit | 127)
        out += bytes((declared >> shift) & 0xFF for shift in range(56, -8, -8))  # network byte order
    if not masked:
        return bytes(out + payload)
    out += key
    out += bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
    return bytes(out)


def server_frame_fields(frame: bytes) -> tuple[bool, bool, int, bytes]:
    """(fin, rsv1, opcode, payload) of one unmasked server frame, read by hand per section 5.2."""
    first, second = frame[0], frame[1]
    assert not second & 0x80, "a server frame is never masked (section 5.1)"
    length, start = second & 0x7F, 2
    if length == 126:
        length, start = (frame[2] << 8) | frame[3], 4
    elif length == 127:
        length, start = sum(frame[2 + i] << (8 * (7 - i)) for i in range(8)), 10
    assert len(frame) == start + length, "one whole frame, nothing after it"
    return bool(first & 0x80), bool(first & 0x40), first & 0x0F, frame[start:]


def typed(events: Iterable[object]) -> list[tuple[str, object]]:
    """Events with their type: Ping(b"x") == Pong(b"x") as tuples, so a bare comparison would not tell them apart."""
    return [(type(event).__name__, event) for event in events]


def drain(reader: FrameReader) -> list[Event]:
    """Every event the reader can give without more bytes."""
    events: list[Event] = []
    while True:
        event = reader.next_event()
        if event is NEED_DATA:
            return events
        assert isinstance(event, (Message, Ping, Pong, Close))
        events.append(event)


def read_pieces(pieces: Iterable[bytes], max_message: int = LIMIT, params: DeflateParams | None = None) -> list[Event]:
    """Feed ``pieces`` one after another, draining after each."""
    reader = FrameReader(max_message, None if params is None else Deflate(params))
    events: list[Event] = []
    for piece in pieces:
        reader.feed(piece)
        events.extend(drain(reader))
    return events


def read(*frames: bytes, max_message: int = LIMIT, params: DeflateParams | None = None) -> list[Event]:
    """The events of ``frames`` fed in one piece, checked to be the same fed a byte at a time."""
    data = b"".join(frames)
    events = read_pieces([data], max_message, params)
    assert typed(read_pieces(bytewise(data), max_message, params)) == typed(events)
    return events


def bytewise(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


def _fail(pieces: Iterable[bytes], max_message: int, params: DeflateParams | None) -> WebSocketError:
    reader = FrameReader(max_message, None if params is None else Deflate(params))
    with pytest.raises(WebSocketError) as info:
        for piece in pieces:
            reader.feed(piece)
            drain(reader)
    error = info.value
    # Dead after an error: the same error again, even when a valid frame follows.
    reader.feed(client_frame(OP_PING, b"still there?"))
    for _ in range(2):
        with pytest.raises(WebSocketError) as again:
            reader.next_event()
        assert again.value is error
    return error


def refusal(*frames: bytes, max_message: int = LIMIT, params: DeflateParams | None = None,
            by_byte: bool = True) -> WebSocketError:
    """The error ``frames`` raise, fed whole and (unless told) a byte at a time, with the same code both ways."""
    data = b"".join(frames)
    error = _fail([data], max_message, params)
    if by_byte:
        assert _fail(bytewise(data), max_message, params).code == error.code
    return error


# -- RFC 6455 section 5.7's examples ------------------------------------------


def test_client_frame_helper_reproduces_the_rfc_examples() -> None:
    """Section 5.7: the helper itself is checked against the RFC's bytes before any test relies on it."""
    assert client_frame(OP_TEXT, b"Hello") == bytes.fromhex("818537fa213d7f9f4d5158")
    assert client_frame(OP_PONG, b"Hello") == bytes.fromhex("8a8537fa213d7f9f4d5158")
    assert client_frame(OP_TEXT, b"Hel", fin=False, masked=False) == bytes.fromhex("010348656c")
    assert client_frame(OP_BINARY, bytes(256), masked=False)[:4] == bytes.fromhex("827e0100")
    assert client_frame(OP_BINARY, bytes(65536), masked=False)[:10] == bytes.fromhex("827f0000000000010000")


def test_masked_hello_from_the_rfc_is_one_text_message() -> None:
    assert typed(read(bytes.fromhex("818537fa213d7f9f4d5158"))) == typed([Message("Hello")])


def test_masked_pong_from_the_rfc_is_a_pong() -> None:
    assert typed(read(bytes.fromhex("8a8537fa213d7f9f4d5158"))) == typed([Pong(b"Hello")])


def test_server_frames_match_the_rfc_examples() -> None:
    assert b"".join(message_frame("Hello")) == bytes.fromhex("810548656c6c6f")
    assert encode_frame(OP_TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert encode_frame(OP_CONTINUATION, b"lo") == bytes.fromhex("80026c6f")
    assert encode_frame(OP_PING, b"Hello") == bytes.fromhex("890548656c6c6f")
    assert b"".join(message_frame(bytes(256)))[:4] == bytes.fromhex("827e0100")
    assert b"".join(message_frame(bytes(65536)))[:10] == bytes.fromhex("827f0000000000010000")


# -- payload lengths (section 5.2) ------------------------------------------------


@pytest.mark.parametrize(("length", "length_field"), [
    (0, 0), (1, 1), (125, 125), (126, 126), (127, 126), (65535, 126), (65536, 127), (70000, 127),
])
def test_payload_length_in_7_16_and_64_bits_is_read(length: int, length_field: int) -> None:
    """Section 5.2: 0-125 in the 7-bit field, 126 then 16 bits, 127 then 64 bits."""
    payload = bytes(i % 251 for i in range(length))
    frame = client_frame(OP_BINARY, payload)
    assert frame[1] & 0x7F == length_field
    events = read_pieces([frame], max_message=1 << 20)
    assert typed(events) == typed([Message(payload)])
    assert typed(read_pieces([frame[:1], frame[1:3], frame[3:12], frame[12:]], 1 << 20)) == typed(events)


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536])
def test_server_frame_length_uses_the_shortest_form(length: int) -> None:
    payload = bytes(i % 7 for i in range(length))
    frame = encode_frame(OP_BINARY, payload)
    assert frame[1] == (length if length < 126 else 126 if length < 65536 else 127)
    assert server_frame_fields(frame) == (True, False, OP_BINARY, payload)


def test_non_minimal_length_encoding_is_still_read() -> None:
    """Section 5.2 asks senders for the minimal form; reading a longer one is harmless, so it is read."""
    frame = bytes([0x82, 0x80 | 127]) + (5).to_bytes(8, "big") + KEY + mask(b"hello", KEY)
    assert typed(read(frame)) == typed([Message(b"hello")])


@pytest.mark.parametrize("length", [1 << 63, (1 << 63) | 5, (1 << 64) - 1])
def test_64_bit_length_with_its_top_bit_set_is_refused_with_1002(length: int) -> None:
    """Section 5.2: "the most significant bit MUST be 0". Refused from the header alone."""
    header = client_frame(OP_BINARY, length=length)
    assert header[2] & 0x80
    assert refusal(header[:10]).code == 1002


def test_nothing_is_emitted_before_a_frame_is_whole() -> None:
    frame = client_frame(OP_BINARY, b"abcdef")
    reader = FrameReader(LIMIT)
    for i in range(len(frame) - 1):
        reader.feed(frame[i:i + 1])
        assert reader.next_event() is NEED_DATA
        assert reader.buffered == i + 1
    reader.feed(frame[-1:])
    assert typed([reader.next_event()]) == typed([Message(b"abcdef")])
    assert reader.buffered == 0
    assert reader.next_event() is NEED_DATA


def test_frames_fed_together_come_out_one_event_per_call() -> None:
    reader = FrameReader(LIMIT)
    reader.feed(client_frame(OP_PING, b"1") + client_frame(OP_TEXT, b"two") + client_frame(OP_BINARY, b"3"))
    assert typed([reader.next_event()]) == typed([Ping(b"1")])
    assert typed([reader.next_event()]) == typed([Message("two")])
    assert typed([reader.next_event()]) == typed([Message(b"3")])
    assert reader.next_event() is NEED_DATA


# -- header rules (section 5.2) ---------------------------------------------------


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG])
def test_unmasked_client_frame_is_refused_with_1002(opcode: int) -> None:
    """Section 5.1: "a server MUST close the connection upon receiving a frame that is not masked"."""
    assert refusal(client_frame(opcode, b"hi" if opcode != OP_CLOSE else b"\x03\xe8", masked=False)).code == 1002


def test_unmasked_continuation_is_refused_with_1002() -> None:
    first = client_frame(OP_TEXT, b"a", fin=False)
    assert refusal(first, client_frame(OP_CONTINUATION, b"b", masked=False)).code == 1002


@pytest.mark.parametrize(("rsv2", "rsv3"), [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY, OP_PING])
def test_rsv2_or_rsv3_is_refused_with_1002(opcode: int, rsv2: bool, rsv3: bool) -> None:
    """Section 5.2: RSV bits MUST be 0 unless an extension defines them; permessage-deflate defines only RSV1."""
    frame = client_frame(opcode, b"x", rsv2=rsv2, rsv3=rsv3)
    assert refusal(frame).code == 1002
    assert refusal(frame, params=DeflateParams()).code == 1002


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
def test_rsv1_without_deflate_is_refused_with_1002(opcode: int) -> None:
    assert refusal(client_frame(opcode, b"x", rsv1=True)).code == 1002


@pytest.mark.parametrize("opcode", CONTROL_OPCODES)
def test_rsv1_on_a_control_frame_is_refused_with_1002_even_with_deflate(opcode: int) -> None:
    """RFC 7692 section 6: permessage-deflate sets RSV1 on data messages only."""
    assert refusal(client_frame(opcode, b"", rsv1=True), params=DeflateParams()).code == 1002


@pytest.mark.parametrize("first", [OP_TEXT, OP_BINARY])
@pytest.mark.parametrize("compressed", [False, True])
def test_rsv1_on_a_continuation_frame_is_refused_with_1002_even_with_deflate(first: int, compressed: bool) -> None:
    """RFC 7692 section 6.1: RSV1 is set on the first frame of a message only; set on another, the
    connection fails."""
    frames = [client_frame(first, b"\x00" if compressed else b"a", fin=False, rsv1=compressed),
              client_frame(OP_CONTINUATION, b"\x00", rsv1=True)]
    assert refusal(*frames, params=DeflateParams()).code == 1002


@pytest.mark.parametrize("opcode", RESERVED_OPCODES)
def test_reserved_opcode_is_refused_with_1002(opcode: int) -> None:
    """Section 5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved."""
    assert refusal(client_frame(opcode, b"x")).code == 1002


@pytest.mark.parametrize("opcode", RESERVED_OPCODES)
def test_reserved_opcode_inside_a_fragmented_message_is_refused_with_1002(opcode: int) -> None:
    assert refusal(client_frame(OP_TEXT, b"a", fin=False), client_frame(opcode, b"x")).code == 1002


# -- control frames (section 5.5) ------------------------------------------------


@pytest.mark.parametrize("opcode", CONTROL_OPCODES)
def test_fragmented_control_frame_is_refused_with_1002(opcode: int) -> None:
    """Section 5.5: "All control frames ... MUST NOT be fragmented"."""
    assert refusal(client_frame(opcode, b"", fin=False)).code == 1002


@pytest.mark.parametrize("opcode", CONTROL_OPCODES)
def test_control_frame_with_a_126_byte_payload_is_refused_with_1002(opcode: int) -> None:
    """Section 5.5: a control frame's payload is 125 bytes at most; refused from the header alone."""
    frame = client_frame(opcode, b"\x03\xe8" + b"x" * 124)
    assert refusal(frame).code == 1002
    assert refusal(frame[:4]).code == 1002


@pytest.mark.parametrize("length", [1 << 16, 1 << 40])
def test_control_frame_with_a_64_bit_length_is_refused_from_its_header_with_1002(length: int) -> None:
    assert refusal(client_frame(OP_PING, length=length)[:10]).code == 1002


@pytest.mark.parametrize(("opcode", "event"), [(OP_PING, Ping), (OP_PONG, Pong)])
def test_ping_and_pong_with_125_bytes_are_accepted(opcode: int, event: type[Ping] | type[Pong]) -> None:
    payload = bytes(range(125))
    assert typed(read(client_frame(opcode, payload))) == typed([event(payload)])


@pytest.mark.parametrize(("opcode", "event"), [(OP_PING, Ping), (OP_PONG, Pong)])
def test_empty_ping_and_pong_are_accepted(opcode: int, event: type[Ping] | type[Pong]) -> None:
    assert typed(read(client_frame(opcode))) == typed([event(b"")])


# -- fragmentation (section 5.4) -------------------------------------------------


@pytest.mark.parametrize("after_a_message", [False, True])
def test_continuation_without_a_message_is_refused_with_1002(after_a_message: bool) -> None:
    """Section 5.4: a continuation frame continues a message, so with none open it is garbage."""
    before = client_frame(OP_TEXT, b"done") if after_a_message else b""
    assert refusal(before, client_frame(OP_CONTINUATION, b"x")).code == 1002
    assert refusal(before, client_frame(OP_CONTINUATION, b"x", fin=False)).code == 1002


@pytest.mark.parametrize("first", [OP_TEXT, OP_BINARY])
@pytest.mark.parametrize("second", [OP_TEXT, OP_BINARY])
@pytest.mark.parametrize("second_fin", [True, False])
def test_new_data_message_while_one_is_open_is_refused_with_1002(first: int, second: int, second_fin: bool) -> None:
    """Section 5.4: fragments of one message are not interleaved with another's."""
    assert refusal(client_frame(first, b"a", fin=False), client_frame(second, b"b", fin=second_fin)).code == 1002


@pytest.mark.parametrize(("opcode", "pieces", "whole"), [
    (OP_TEXT, [b"Hel", b"lo"], "Hello"),
    (OP_TEXT, [b"", b"a", b"", b"b", b""], "ab"),
    (OP_TEXT, [b"", b""], ""),
    (OP_BINARY, [b"\x00", b"\x01\x02", b"\xff"], b"\x00\x01\x02\xff"),
    (OP_BINARY, [b"x" * 200, b"y" * 70000], b"x" * 200 + b"y" * 70000),
])
def test_fragments_make_one_message_at_the_final_frame(opcode: int, pieces: list[bytes], whole: str | bytes) -> None:
    frames = [client_frame(opcode if i == 0 else OP_CONTINUATION, piece, fin=i == len(pieces) - 1)
              for i, piece in enumerate(pieces)]
    reader = FrameReader(1 << 20)
    for frame in frames[:-1]:
        reader.feed(frame)
        assert reader.next_event() is NEED_DATA
    reader.feed(frames[-1])
    assert typed(drain(reader)) == typed([Message(whole)])


def test_control_frames_between_fragments_come_in_order_and_the_message_whole_at_the_end() -> None:
    """Section 5.4: control frames MAY be injected in the middle of a fragmented message."""
    frames = [
        client_frame(OP_TEXT, b"one ", fin=False),
        client_frame(OP_PING, b"p1"),
        client_frame(OP_PONG, b"q1"),
        client_frame(OP_CONTINUATION, b"two ", fin=False),
        client_frame(OP_PING, b"p2"),
        client_frame(OP_CONTINUATION, b"three"),
        client_frame(OP_PONG, b"q2"),
        client_frame(OP_BINARY, b"next"),
    ]
    assert typed(read(*frames)) == typed([
        Ping(b"p1"), Pong(b"q1"), Ping(b"p2"), Message("one two three"), Pong(b"q2"), Message(b"next"),
    ])


def test_close_between_fragments_is_reported_when_it_arrives() -> None:
    frames = [client_frame(OP_BINARY, b"a", fin=False), client_frame(OP_CLOSE, b"\x03\xe9")]
    assert typed(read(*frames)) == typed([Close(1001, "")])


# -- max_message (1009) ------------------------------------------------------------


@pytest.mark.parametrize("declared", [LIMIT + 1, LIMIT * 2, 1 << 40, (1 << 63) - 1])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
def test_message_over_max_message_is_refused_with_1009_from_its_header(opcode: int, declared: int) -> None:
    """Refused before the payload arrives: the header says how long it will be, and the bytes are never held."""
    header = client_frame(opcode, length=declared)[:-4]  # not even the masking key
    assert refusal(header).code == 1009


@pytest.mark.parametrize("max_message", [0, 1, 125, 126, 65535, 65536])
def test_message_of_exactly_max_message_is_accepted_and_one_byte_more_refused(max_message: int) -> None:
    payload = b"m" * max_message
    events = read_pieces([client_frame(OP_BINARY, payload)], max_message)
    assert typed(events) == typed([Message(payload)])
    assert refusal(client_frame(OP_BINARY, payload + b"m"), max_message=max_message, by_byte=False).code == 1009


def test_fragments_passing_max_message_together_are_refused_with_1009_at_the_header_that_passes_it() -> None:
    first = client_frame(OP_BINARY, b"a" * 600, fin=False)
    second = client_frame(OP_CONTINUATION, b"b" * 400, fin=False)
    third_header = client_frame(OP_CONTINUATION, length=25)[:2]
    reader = FrameReader(1024)
    reader.feed(first + client_frame(OP_PING, b"between") + second)
    assert typed(drain(reader)) == typed([Ping(b"between")])
    reader.feed(third_header)
    with pytest.raises(WebSocketError) as info:
        reader.next_event()
    assert info.value.code == 1009


def test_fragments_adding_up_to_exactly_max_message_are_accepted() -> None:
    frames = [client_frame(OP_TEXT, b"a" * 600, fin=False), client_frame(OP_CONTINUATION, b"b" * 424)]
    assert typed(read(*frames, max_message=1024)) == typed([Message("a" * 600 + "b" * 424)])


def test_max_message_counts_each_message_afresh() -> None:
    frames = [client_frame(OP_BINARY, b"a" * 100, fin=False), client_frame(OP_CONTINUATION, b"b" * 100),
              client_frame(OP_BINARY, b"c" * 200), client_frame(OP_TEXT, b"d" * 200)]
    assert typed(read(*frames, max_message=200)) == typed(
        [Message(b"a" * 100 + b"b" * 100), Message(b"c" * 200), Message("d" * 200)])


def test_control_frames_do_not_count_towards_max_message() -> None:
    frames = [client_frame(OP_BINARY, b"a" * 10, fin=False), client_frame(OP_PING, b"p" * 100),
              client_frame(OP_CONTINUATION, b"b" * 10)]
    assert typed(read(*frames, max_message=20)) == typed([Ping(b"p" * 100), Message(b"a" * 10 + b"b" * 10)])


# -- a dead reader ---------------------------------------------------------------


def test_reader_stays_dead_after_an_error() -> None:
    reader = FrameReader(LIMIT)
    reader.feed(client_frame(OP_TEXT, b"ok") + client_frame(0x3, b"bad") + client_frame(OP_TEXT, b"later"))
    assert typed([reader.next_event()]) == typed([Message("ok")])
    with pytest.raises(WebSocketError) as first:
        reader.next_event()
    assert (first.value.code, first.value.args) == (1002, (1002, first.value.reason))
    reader.feed(client_frame(OP_PING, b"more"))
    for _ in range(3):
        with pytest.raises(WebSocketError) as again:
            reader.next_event()
        assert again.value is first.value


# -- close frames (sections 5.5.1 and 7.4) ---------------------------------------


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return bytes([code >> 8 & 0xFF, code & 0xFF]) + reason


def test_close_with_an_empty_payload_is_1005() -> None:
    """Section 7.1.5: no status code received is reported as 1005."""
    assert typed(read(client_frame(OP_CLOSE))) == typed([Close(1005, "")])


def test_close_with_a_one_byte_payload_is_refused_with_1002() -> None:
    """Section 5.5.1: a body, if any, starts with a two-byte code."""
    assert refusal(client_frame(OP_CLOSE, b"\x03")).code == 1002


def _sendable(code: int) -> bool:
    """Section 7.4.1 and the IANA registry, written out independently of the code under test."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def test_every_close_code_from_0_to_5000_is_accepted_or_refused_with_1002() -> None:
    for code in range(5001):
        frame = client_frame(OP_CLOSE, close_payload(code))
        if _sendable(code):
            assert typed(read_pieces([frame])) == typed([Close(code, "")]), code
            assert valid_close_code(code)
        else:
            assert _fail([frame], LIMIT, None).code == 1002, code
            assert not valid_close_code(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_close_code_that_may_not_be_sent_is_refused_with_1002(code: int) -> None:
    """Section 7.4.1: 1004 is reserved, 1005, 1006 and 1015 are never sent; 0-999, 5000+ are unused."""
    assert refusal(client_frame(OP_CLOSE, close_payload(code, b"why"))).code == 1002


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
def test_close_code_that_may_be_sent_is_reported_with_its_reason(code: int) -> None:
    frame = client_frame(OP_CLOSE, close_payload(code, "bye ☃".encode()))
    assert typed(read(frame)) == typed([Close(code, "bye ☃")])


def test_close_codes_sendable_lists_the_registered_codes() -> None:
    assert CLOSE_CODES_SENDABLE == {code for code in range(1000, 3000) if _sendable(code)}


@pytest.mark.parametrize("reason", [b"\xff", b"\xc3", b"ok\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xe9"])
def test_close_reason_that_is_not_utf8_is_refused_with_1007(reason: bytes) -> None:
    """Section 5.5.1: the reason is UTF-8; section 8.1: invalid UTF-8 fails the connection with 1007."""
    assert refusal(client_frame(OP_CLOSE, close_payload(1000, reason))).code == 1007


def test_close_reason_of_123_bytes_is_accepted() -> None:
    reason = "é" * 61 + "x"
    assert typed(read(client_frame(OP_CLOSE, close_payload(1000, reason.encode())))) == typed([Close(1000, reason)])


@pytest.mark.parametrize(("code", "reason"), [
    (1000, ""), (1001, "going away"), (4000, "ünïcode ☃"), (3000, "x" * 123),
])
def test_encode_close_writes_code_and_reason(code: int, reason: str) -> None:
    fin, rsv1, opcode, payload = server_frame_fields(encode_close(code, reason))
    assert (fin, rsv1, opcode) == (True, False, OP_CLOSE)
    assert payload == close_payload(code, reason.encode())
    assert typed(read(client_frame(OP_CLOSE, payload))) == typed([Close(code, reason)])


def test_encode_close_without_a_code_has_an_empty_payload() -> None:
    assert encode_close(None) == bytes([0x88, 0x00])
    assert typed(read(client_frame(OP_CLOSE, server_frame_fields(encode_close(None))[3]))) == typed([Close(1005, "")])


def test_encode_close_defaults_to_1000() -> None:
    assert encode_close() == bytes([0x88, 0x02, 0x03, 0xE8])


@pytest.mark.parametrize("reason", [
    "x" * 124, "x" * 500, "é" * 62, "é" * 100, "x" + "é" * 70, "€" * 42, "xx" + "€" * 41,
    "😀" * 31, "x" + "😀" * 31,
    "a" * 122 + "😀",
])
def test_encode_close_cuts_a_long_reason_at_a_character_boundary_to_fit_125_bytes(reason: str) -> None:
    """Section 5.5: a control frame holds 125 bytes; the reason keeps as many whole characters as fit."""
    payload = server_frame_fields(encode_close(1000, reason))[3]
    kept = payload[2:].decode("utf-8")  # a cut character would not decode
    assert len(payload) <= 125
    assert reason.startswith(kept)
    assert len(kept.encode()) + len(reason[len(kept)].encode()) > 123, "a character that fits was dropped"


# -- UTF-8 in text messages (sections 5.6 and 8.1) -------------------------------

TEXT = "Hi κόσμε € 😀𝄞!"  # 1-, 2-, 3- and 4-byte characters
ENCODED = TEXT.encode()


def text_fragments(*pieces: bytes, last_fin: bool = True) -> list[bytes]:
    return [client_frame(OP_TEXT if i == 0 else OP_CONTINUATION, piece, fin=last_fin and i == len(pieces) - 1)
            for i, piece in enumerate(pieces)]


@pytest.mark.parametrize("cut", range(len(ENCODED) + 1))
def test_valid_text_split_in_two_fragments_at_any_byte_decodes(cut: int) -> None:
    assert typed(read(*text_fragments(ENCODED[:cut], ENCODED[cut:]))) == typed([Message(TEXT)])


def test_valid_text_split_in_three_fragments_anywhere_decodes() -> None:
    for first in range(len(ENCODED) + 1):
        for second in range(first, len(ENCODED) + 1):
            frames = text_fragments(ENCODED[:first], ENCODED[first:second], ENCODED[second:])
            assert typed(read_pieces(frames)) == typed([Message(TEXT)]), (first, second)


def test_valid_text_with_one_byte_per_fragment_decodes() -> None:
    assert typed(read(*text_fragments(*bytewise(ENCODED)))) == typed([Message(TEXT)])


KOSME_SURROGATE = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"  # "κόσμε", then U+D800


@pytest.mark.parametrize("cut", [13, 14, len(KOSME_SURROGATE)])
def test_surrogate_fails_with_1007_in_the_fragment_that_holds_ed_a0(cut: int) -> None:
    """RFC 3629 section 4: ED A0-BF starts a surrogate, which no third byte makes valid, so the
    fragment holding ED A0 fails even before FIN (section 8.1: fail "as soon as" it is invalid)."""
    assert KOSME_SURROGATE[11:13] == b"\xed\xa0"
    assert refusal(text_fragments(KOSME_SURROGATE[:cut], last_fin=False)[0]).code == 1007


def test_surrogate_split_after_ed_fails_with_the_next_fragment() -> None:
    first, second = text_fragments(KOSME_SURROGATE[:12], KOSME_SURROGATE[12:], last_fin=False)
    reader = FrameReader(LIMIT)
    reader.feed(first)
    assert reader.next_event() is NEED_DATA  # ED alone may still start U+E000-U+FFFF ... U+D7FF
    reader.feed(second)
    with pytest.raises(WebSocketError) as info:
        reader.next_event()
    assert info.value.code == 1007


@pytest.mark.parametrize("bad", [
    b"\x80", b"\xbf", b"\xc0", b"\xc1", b"\xf5", b"\xf8", b"\xff", b"\xc2\x41", b"\xe0\x80", b"\xe0\x9f",
    b"\xed\xa0", b"\xed\xbf", b"\xf0\x80", b"\xf0\x8f", b"\xf4\x90", b"\xf4\xbf", b"\xe1\xbd\x41", b"\xf1\x80\x41",
])
def test_impossible_utf8_fails_with_1007_in_its_fragment_before_fin(bad: bytes) -> None:
    assert refusal(text_fragments(b"ok " + bad, last_fin=False)[0]).code == 1007


@pytest.mark.parametrize("partial", [b"\xce", b"\xe1", b"\xe1\xbd", b"\xed\x9f", b"\xf0\x9f", b"\xf0\x9f\x98",
                                     b"\xf4\x8f\xbf"])
def test_incomplete_utf8_at_the_end_of_a_fragment_waits_and_fails_with_1007_at_fin(partial: bytes) -> None:
    start = client_frame(OP_TEXT, b"ok " + partial, fin=False)
    reader = FrameReader(LIMIT)
    reader.feed(start)
    assert reader.next_event() is NEED_DATA
    assert refusal(start, client_frame(OP_CONTINUATION, b"")).code == 1007
    assert refusal(start, client_frame(OP_CONTINUATION, b"!")).code == 1007


def _second_bytes(lead: int) -> range | None:
    """RFC 3629 section 4's table: the bytes that may follow ``lead``, None if it starts no sequence."""
    ranges = {0xE0: range(0xA0, 0xC0), 0xED: range(0x80, 0xA0), 0xF0: range(0x90, 0xC0), 0xF4: range(0x80, 0x90)}
    if lead in ranges:
        return ranges[lead]
    return range(0x80, 0xC0) if 0xC2 <= lead <= 0xF3 else None


def test_every_two_byte_start_fails_exactly_when_no_continuation_can_make_it_valid() -> None:
    for lead in range(0x80, 0x100):
        allowed = _second_bytes(lead)
        for second in [*range(0x80, 0xC0), 0x00, 0x41, 0x7F, 0xC2, 0xFF]:
            reader = FrameReader(LIMIT)
            reader.feed(client_frame(OP_TEXT, bytes([lead, second]), fin=False))
            if allowed is not None and second in allowed:
                assert reader.next_event() is NEED_DATA, (hex(lead), hex(second))
            else:
                with pytest.raises(WebSocketError) as info:
                    reader.next_event()
                assert info.value.code == 1007, (hex(lead), hex(second))


@pytest.mark.parametrize("bad", [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xce", b"ok\xe1\xbd",
                                 b"\xf0\x9f\x98", b"a\x80b", b"\xef\xbf"])
def test_invalid_utf8_in_a_single_text_frame_is_refused_with_1007(bad: bytes) -> None:
    assert refusal(client_frame(OP_TEXT, bad)).code == 1007


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_CONTINUATION])
@pytest.mark.parametrize("bad", [b"\xff", b"\xf4\x90", b"\xed\xa0", b"\xc2\x41"])
def test_impossible_utf8_fails_with_1007_before_the_rest_of_its_frame_arrives(opcode: int, bad: bytes) -> None:
    """Section 8.1 (fail fast, Autobahn 6.4.3 and 6.4.4): a long text frame is checked as its bytes come."""
    kappa = "κ".encode()
    before = client_frame(OP_TEXT, kappa[:1], fin=False) if opcode == OP_CONTINUATION else b""
    prefix = kappa[1:] if opcode == OP_CONTINUATION else b"ok "
    frame = client_frame(opcode, prefix + bad + b"x" * 300)
    header = 8  # two bytes, a 16-bit length, the mask key
    reader = FrameReader(LIMIT)
    reader.feed(before)
    assert reader.next_event() is NEED_DATA
    last_good = header + len(prefix) + len(bad) - 1
    for i in range(last_good):  # a byte at a time: what came so far can still be UTF-8
        reader.feed(frame[i:i + 1])
        assert reader.next_event() is NEED_DATA, i
    reader.feed(frame[last_good:last_good + 1])
    with pytest.raises(WebSocketError) as info:
        reader.next_event()
    assert info.value.code == 1007


def test_checking_a_text_frame_ahead_keeps_the_mask_aligned_whatever_the_pieces() -> None:
    """Valid text arriving in pieces of every size, each not a multiple of the key: one message, as sent."""
    frame = client_frame(OP_TEXT, ENCODED * 20)
    for size in (1, 2, 3, 5, 7, 64):
        pieces = [frame[i:i + size] for i in range(0, len(frame), size)]
        assert typed(read_pieces(pieces)) == typed([Message(TEXT * 20)]), size


def test_a_compressed_text_frame_is_checked_once_inflated() -> None:
    """Bytes of a compressed frame are not text until inflated: nothing is checked ahead of them."""
    params = DeflateParams()
    frame = client_frame(OP_TEXT, Deflate(params).compress(b"\xff" * 50), rsv1=True)
    reader = FrameReader(LIMIT, Deflate(params))
    reader.feed(frame[:-1])
    assert reader.next_event() is NEED_DATA
    reader.feed(frame[-1:])
    with pytest.raises(WebSocketError) as info:
        reader.next_event()
    assert info.value.code == 1007


def test_binary_messages_are_not_read_as_utf8() -> None:
    assert typed(read(client_frame(OP_BINARY, b"\xff\xed\xa0\x80"))) == typed([Message(b"\xff\xed\xa0\x80")])


# -- mask (section 5.3) -------------------------------------------------------------


def naive_mask(data: bytes, key: bytes) -> bytes:
    """Section 5.3 word for word: octet i XOR octet i MOD 4 of the key."""
    return bytes(data[i] ^ key[i % 4] for i in range(len(data)))


def test_mask_of_the_rfc_example() -> None:
    assert mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")


def test_mask_of_an_empty_payload_is_empty() -> None:
    assert mask(b"", KEY) == b""


@pytest.mark.parametrize("length", range(1, 10))
def test_mask_of_a_length_not_a_multiple_of_4_matches_the_rfc_rule(length: int) -> None:
    data = bytes(range(0xF0, 0xF0 + length))
    assert mask(data, KEY) == naive_mask(data, KEY)
    assert len(mask(data, KEY)) == length


def test_mask_keeps_leading_and_trailing_zero_bytes() -> None:
    """The payload goes through one big integer: zeros at either end must survive the round trip."""
    data = b"\x00\x00abc\x00\x00"
    assert mask(data, b"\x00\x00\x00\x00") == data
    assert mask(mask(data, KEY), KEY) == data


@pytest.mark.parametrize("length", [255, 256, 257, 1001, 65535, 65536, 65537, 3 * 65536 + 3])
@pytest.mark.parametrize("start", [0, 1, 14])
def test_unmasking_in_place_lane_by_lane_follows_the_rfc_rule_across_its_thresholds(length: int, start: int) -> None:
    data = random.Random(length).randbytes(length)
    buf = bytearray(b"h" * start + data + b"tail")
    unmask_in_place(buf, start, start + length, KEY)
    assert buf == b"h" * start + naive_mask(data, KEY) + b"tail"
    assert mask(data, KEY) == naive_mask(data, KEY)


def test_a_large_binary_frame_in_uneven_pieces_is_unmasked_whole() -> None:
    data = random.Random(7).randbytes(200_003)
    frame = client_frame(OP_BINARY, data)
    for size in (1_000, 4_099, 65_536, 70_001):
        pieces = [frame[i:i + size] for i in range(0, len(frame), size)]
        assert read_pieces(pieces, max_message=1 << 20) == [Message(data)], size


@property_settings(200)
@given(data=st.binary(max_size=300), key=st.binary(min_size=4, max_size=4))
def test_mask_equals_a_byte_by_byte_xor_and_undoes_itself(data: bytes, key: bytes) -> None:
    masked = mask(data, key)
    assert masked == naive_mask(data, key)
    assert mask(masked, key) == data


# -- encoders ------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "opcode", "payload"), [
    ("", OP_TEXT, b""), ("κόσμε", OP_TEXT, "κόσμε".encode()),
    (b"", OP_BINARY, b""), (b"\x00\xff", OP_BINARY, b"\x00\xff"),
])
def test_encode_message_picks_the_opcode_from_the_type(data: str | bytes, opcode: int, payload: bytes) -> None:
    assert server_frame_fields(b"".join(message_frame(data))) == (True, False, opcode, payload)


@pytest.mark.parametrize(("fin", "rsv1"), [(True, False), (False, False), (True, True), (False, True)])
def test_encode_frame_sets_fin_and_rsv1_bits(fin: bool, rsv1: bool) -> None:
    assert server_frame_fields(encode_frame(OP_BINARY, b"abc", fin=fin, rsv1=rsv1)) == (fin, rsv1, OP_BINARY, b"abc")


# -- any split of a valid stream gives the same events (property) -------------------

keys = st.binary(min_size=4, max_size=4)


@st.composite
def control(draw: st.DrawFn) -> tuple[bytes, Event]:
    """A ping, a pong or a close frame, and its event."""
    kind = draw(st.sampled_from(["ping", "pong", "close", "empty close"]))
    if kind == "close":
        code = draw(st.sampled_from([1000, 1001, 1011, 3000, 4999]))
        reason = draw(st.text(max_size=30).filter(lambda r: len(r.encode()) <= 123))
        return client_frame(OP_CLOSE, close_payload(code, reason.encode()), key=draw(keys)), Close(code, reason)
    if kind == "empty close":
        return client_frame(OP_CLOSE, key=draw(keys)), Close(1005, "")
    payload = draw(st.binary(max_size=125))
    if kind == "ping":
        return client_frame(OP_PING, payload, key=draw(keys)), Ping(payload)
    return client_frame(OP_PONG, payload, key=draw(keys)), Pong(payload)


@st.composite
def data_message(draw: st.DrawFn) -> tuple[list[bytes], list[Event]]:
    """A text or binary message cut into fragments (anywhere, even inside a character), with
    control frames between them; the frames and the events they must give, in order."""
    data: str | bytes = draw(st.text(max_size=150) | st.binary(max_size=300))
    payload = data.encode() if isinstance(data, str) else data
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
    frames: list[bytes] = []
    events: list[Event] = []
    for i, piece in enumerate(pieces):
        opcode = (OP_TEXT if isinstance(data, str) else OP_BINARY) if i == 0 else OP_CONTINUATION
        frames.append(client_frame(opcode, piece, fin=i == len(pieces) - 1, key=draw(keys)))
        if i < len(pieces) - 1:
            for frame, event in draw(st.lists(control(), max_size=2)):
                frames.append(frame)
                events.append(event)
    events.append(Message(data))
    return frames, events


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[Event]]:
    """A sequence of valid client frames, as bytes, and the events it must give."""
    frames: list[bytes] = []
    events: list[Event] = []
    for more_frames, more_events in draw(st.lists(data_message() | control().map(lambda c: ([c[0]], [c[1]])),
                                                  max_size=6)):
        frames += more_frames
        events += more_events
    return b"".join(frames), events


@property_settings(150)
@given(stream=streams(), data=st.data())
def test_any_split_of_a_valid_stream_gives_the_same_events(stream: tuple[bytes, list[Event]],
                                                           data: st.DataObject) -> None:
    wire, expected = stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12), label="cuts"))
    pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    assert typed(read_pieces([wire])) == typed(expected)
    assert typed(read_pieces(pieces)) == typed(expected)


@property_settings(60)
@given(stream=streams())
def test_a_valid_stream_fed_one_byte_at_a_time_gives_the_same_events(stream: tuple[bytes, list[Event]]) -> None:
    wire, expected = stream
    assert typed(read_pieces(bytewise(wire))) == typed(read_pieces([wire])) == typed(expected)
