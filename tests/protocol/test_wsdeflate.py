"""permessage-deflate (RFC 7692): negotiation (section 7.1), and messages compressed and inflated
(section 7.2), alone and through FrameReader as a client would send them.

The client's side is played by zlib directly where the exact bytes
matter (RFC 7692 section 7.2.3's examples, a zip bomb), and by a second
``Deflate`` where only the round trip does.
"""

from __future__ import annotations

import random
import time
import tracemalloc
import zlib
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.protocol.websocket import Message, Ping, WebSocketError, message_frame
from heron.protocol.wsdeflate import CorruptMessage, Deflate, DeflateParams, Offer, negotiate

from .strategies import property_settings
from .test_websocket import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    client_frame,
    read,
    read_pieces,
    refusal,
    server_frame_fields,
    typed,
)

DEFLATE = "permessage-deflate"
TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


def offer(*params: tuple[str, str | None]) -> list[Offer]:
    return [(DEFLATE, list(params))]


# -- negotiation (section 7.1) ---------------------------------------------------


def test_no_offer_gives_none() -> None:
    assert negotiate([]) is None


def test_other_extensions_alone_give_none() -> None:
    assert negotiate([("x-webkit-deflate-frame", []), ("permessage-bzip2", [("level", "9")])]) is None


def test_plain_offer_is_accepted_with_the_defaults() -> None:
    assert negotiate(offer()) == (DeflateParams(), DEFLATE)


def test_other_extensions_before_the_offer_are_ignored() -> None:
    assert negotiate([("x-webkit-deflate-frame", []), (DEFLATE, [])]) == (DeflateParams(), DEFLATE)


@pytest.mark.parametrize("params", [
    [("server_no_context_takeover", None), ("server_no_context_takeover", None)],
    [("client_no_context_takeover", None), ("client_no_context_takeover", None)],
    [("server_max_window_bits", "10"), ("server_max_window_bits", "10")],
    [("client_max_window_bits", None), ("client_max_window_bits", "10")],
    [("client_max_window_bits", "10"), ("Client_Max_Window_Bits", "10")],
])
def test_offer_repeating_a_parameter_is_declined(params: list[tuple[str, str | None]]) -> None:
    """Section 7.1: an offer with a parameter twice is declined."""
    assert negotiate(offer(*params)) is None


@pytest.mark.parametrize("name", ["mux", "server_max_window", "max_window_bits", "client_context_takeover", "x"])
def test_offer_with_an_unknown_parameter_is_declined(name: str) -> None:
    assert negotiate(offer((name, None))) is None
    assert negotiate(offer(("client_max_window_bits", None), (name, "1"))) is None


@pytest.mark.parametrize("flag", ["server_no_context_takeover", "client_no_context_takeover"])
@pytest.mark.parametrize("value", ["", "1", "true"])
def test_context_takeover_flag_with_a_value_is_declined(flag: str, value: str) -> None:
    """Sections 7.1.1.1 and 7.1.1.2: these parameters have no value."""
    assert negotiate(offer((flag, value))) is None


@pytest.mark.parametrize("name", ["server_max_window_bits", "client_max_window_bits"])
@pytest.mark.parametrize("value", ["7", "16", "0", "99", "100", "", "1a", "a", "+9", "-9", " 9", "9 ", "9.0", "09",
                                   "010", "\u0669", "\uff19"])
def test_window_bits_other_than_8_to_15_in_plain_digits_are_declined(name: str, value: str) -> None:
    """Sections 7.1.2.1 and 7.1.2.2: a decimal integer without leading zeroes from 8 to 15
    ("\\u0669" and "\\uff19" are digits to ``str.isdigit``, not to the RFC)."""
    assert negotiate(offer((name, value))) is None


def test_server_max_window_bits_without_a_value_is_declined() -> None:
    """Section 7.1.2.1: server_max_window_bits always has a value."""
    assert negotiate(offer(("server_max_window_bits", None))) is None


def test_server_max_window_bits_of_8_is_declined() -> None:
    """zlib cannot compress with an 8-bit window (it uses 9), so heron cannot honour it."""
    assert negotiate(offer(("server_max_window_bits", "8"))) is None


@pytest.mark.parametrize("bits", range(9, 16))
def test_server_max_window_bits_is_echoed(bits: int) -> None:
    """Section 7.1.2.1: the server's answer includes the parameter with a value no larger; the offer's own."""
    params, answer = negotiate(offer(("server_max_window_bits", str(bits)))) or (None, "")
    assert answer == f"{DEFLATE}; server_max_window_bits={bits}"
    assert params == DeflateParams(server_max_window_bits=bits)


@pytest.mark.parametrize(("value", "bits"), [(None, 12), ("15", 12), ("13", 12), ("12", 12), ("10", 10), ("8", 8)])
def test_client_max_window_bits_is_answered_with_12_or_less(value: str | None, bits: int) -> None:
    """Section 7.1.2.2: with the parameter the client lets the server pick its window, up to the value given."""
    params, answer = negotiate(offer(("client_max_window_bits", value))) or (None, "")
    assert answer == f"{DEFLATE}; client_max_window_bits={bits}"
    assert params == DeflateParams(client_max_window_bits=bits)


def test_without_client_max_window_bits_the_answer_does_not_name_it() -> None:
    """Section 7.1.2.2: the server MUST NOT send it when the client did not offer it."""
    params, answer = negotiate(offer(("server_no_context_takeover", None))) or (None, "")
    assert "client_max_window_bits" not in answer
    assert params == DeflateParams(server_no_context_takeover=True, client_max_window_bits=15)


def test_every_parameter_together_is_accepted_and_answered() -> None:
    agreed = negotiate(offer(("client_no_context_takeover", None), ("server_no_context_takeover", None),
                             ("server_max_window_bits", "11"), ("client_max_window_bits", "14")))
    assert agreed == (
        DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True, server_max_window_bits=11,
                      client_max_window_bits=12),
        f"{DEFLATE}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; "
        "client_max_window_bits=12",
    )


def test_names_are_matched_without_regard_to_case() -> None:
    agreed = negotiate([("PerMessage-Deflate", [("Server_No_Context_Takeover", None)])])
    assert agreed == (DeflateParams(server_no_context_takeover=True), f"{DEFLATE}; server_no_context_takeover")


@pytest.mark.parametrize("declined", [
    [("server_max_window_bits", "8")], [("mux", None)], [("client_max_window_bits", "16")],
    [("server_no_context_takeover", "1")], [("client_max_window_bits", "9"), ("client_max_window_bits", "9")],
])
def test_first_acceptable_offer_of_several_is_taken(declined: list[tuple[str, str | None]]) -> None:
    """Section 5.1: offers are in order of preference; a declined one lets the next be considered."""
    offers: list[Offer] = [(DEFLATE, declined), (DEFLATE, [("client_max_window_bits", "10")]),
                           (DEFLATE, [("server_no_context_takeover", None)])]
    assert negotiate(offers) == (DeflateParams(client_max_window_bits=10), f"{DEFLATE}; client_max_window_bits=10")


# -- Deflate: the examples of RFC 7692 section 7.2.3 -----------------------------


def test_hello_compresses_to_the_rfc_bytes_and_shares_the_window_for_the_next() -> None:
    """Sections 7.2.3.1 and 7.2.3.2."""
    deflate = Deflate(DeflateParams())
    assert deflate.compress(b"Hello") == bytes.fromhex("f248cdc9c90700")
    assert deflate.compress(b"Hello") == bytes.fromhex("f200110000")


def test_without_server_context_takeover_each_message_compresses_alone() -> None:
    deflate = Deflate(DeflateParams(server_no_context_takeover=True))
    assert deflate.compress(b"Hello") == deflate.compress(b"Hello") == bytes.fromhex("f248cdc9c90700")


def test_empty_message_compresses_to_one_zero_byte() -> None:
    """Section 7.2.3.6: an empty message is the 0x00 the empty stored block leaves."""
    assert Deflate(DeflateParams()).compress(b"") == b"\x00"


@pytest.mark.parametrize("payloads", [
    ["f248cdc9c90700"],  # 7.2.3.1: one compressed block
    ["f248cdc9c90700", "f200110000"],  # 7.2.3.2: the second "Hello" refers to the first
    ["000500faff48656c6c6f00"],  # 7.2.3.3: a stored block
    ["f348cdc9c9070000"],  # 7.2.3.4: a block with BFINAL set
    ["f248050000 00ffff cac9c90700"],  # 7.2.3.5: two blocks
    ["f348cdc9c9070000", "f248cdc9c90700"],  # a message after one with BFINAL set
    ["f348cdc9c9070000", "f348cdc9c9070000", "000500faff48656c6c6f00"],
])
def test_rfc_7692_examples_are_read_as_hello(payloads: list[str]) -> None:
    frames = [client_frame(OP_TEXT, bytes.fromhex(payload), rsv1=True) for payload in payloads]
    assert typed(read(*frames, params=DeflateParams())) == typed([Message("Hello")] * len(payloads))


def test_bfinal_block_in_a_non_final_fragment_does_not_end_the_message() -> None:
    """Section 7.2.3.4: a sender may flush with BFINAL blocks; the fragments after one are still the message's."""
    rest = zlib.compressobj(6, zlib.DEFLATED, -15)
    world = rest.compress(b", world") + rest.flush(zlib.Z_SYNC_FLUSH)
    frames = [client_frame(OP_TEXT, bytes.fromhex("f348cdc9c90700"), rsv1=True, fin=False),
              client_frame(OP_CONTINUATION, b"", fin=False),
              client_frame(OP_CONTINUATION, world[:-4])]
    assert typed(read(*frames, params=DeflateParams())) == typed([Message("Hello, world")])


def test_without_client_context_takeover_the_window_is_not_kept() -> None:
    """Section 7.2.2: with client_no_context_takeover each message is inflated with an empty window,
    so a message that refers to the last one's (7.2.3.2's second "Hello") is corrupt."""
    frames = [client_frame(OP_TEXT, bytes.fromhex(p), rsv1=True) for p in ("f248cdc9c90700", "f200110000")]
    assert refusal(*frames, params=DeflateParams(client_no_context_takeover=True)).code == 1007


# -- Deflate round trips ------------------------------------------------------------

MESSAGES = [b"Hello", b"", b"Hello", b"x" * 5000, bytes(range(256)) * 20, b"Hello", "κόσμε €".encode() * 300,
            b"\x00"]


@pytest.mark.parametrize("no_context_takeover", [False, True])
def test_server_messages_inflate_with_plain_zlib_as_a_client_would(no_context_takeover: bool) -> None:
    """Section 7.2.2: the client appends 00 00 ff ff and inflates; with takeover, one inflater for every message."""
    deflate = Deflate(DeflateParams(server_no_context_takeover=no_context_takeover))
    inflater = zlib.decompressobj(-15)
    for payload in MESSAGES * 3:
        compressed = deflate.compress(payload)
        assert not compressed.endswith(TAIL)
        if no_context_takeover:
            inflater = zlib.decompressobj(-15)
        assert inflater.decompress(compressed + TAIL) == payload


def test_server_compresses_with_a_window_of_at_most_what_the_client_allowed() -> None:
    """Section 7.1.2.1: with server_max_window_bits=9 a distance over 512 bytes back would be corrupt."""
    deflate = Deflate(DeflateParams(server_max_window_bits=9))
    inflater = zlib.decompressobj(-9)
    payload = random.Random(1).randbytes(600) * 4
    assert inflater.decompress(deflate.compress(payload) + TAIL) == payload


def test_context_takeover_makes_a_repeated_message_smaller() -> None:
    payload = random.Random(2).randbytes(1000)
    shared = Deflate(DeflateParams())
    alone = Deflate(DeflateParams(server_no_context_takeover=True))
    assert [len(shared.compress(payload)) < 100 for _ in range(3)] == [False, True, True]
    assert [len(alone.compress(payload)) < 100 for _ in range(3)] == [False, False, False]


def client_message(client: Deflate, data: str | bytes, cuts: Iterable[int] = ()) -> list[bytes]:
    """One message as a client sends it compressed: masked, RSV1 on the first frame only (section 6.1),
    the compressed bytes cut into continuation frames at ``cuts``."""
    payload = client.compress(data.encode() if isinstance(data, str) else data)
    bounds = [0, *sorted(min(cut, len(payload)) for cut in cuts), len(payload)]
    pieces = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    opcode = OP_TEXT if isinstance(data, str) else OP_BINARY
    return [client_frame(opcode if i == 0 else OP_CONTINUATION, piece, rsv1=i == 0, fin=i == len(pieces) - 1,
                         key=bytes([i, 1, 2, 3])) for i, piece in enumerate(pieces)]


def as_client(params: DeflateParams) -> Deflate:
    """A Deflate that compresses as the client agreed to: the server's parameters, mirrored."""
    return Deflate(DeflateParams(server_no_context_takeover=params.client_no_context_takeover,
                                 server_max_window_bits=params.client_max_window_bits))


AGREEMENTS = [DeflateParams(), DeflateParams(client_no_context_takeover=True),
              DeflateParams(client_max_window_bits=9), DeflateParams(client_no_context_takeover=True,
                                                                     client_max_window_bits=12)]


@pytest.mark.parametrize("params", AGREEMENTS)
@pytest.mark.parametrize("cuts", [[], [1], [2, 2, 5], [1, 2, 3, 4, 5, 6, 7], [100, 3000]])
def test_client_messages_in_a_row_are_inflated(params: DeflateParams, cuts: list[int]) -> None:
    client = as_client(params)
    messages: list[str | bytes] = [m.decode() if i % 2 else m for i, m in enumerate(MESSAGES * 3)]
    frames = [frame for message in messages for frame in client_message(client, message, cuts)]
    assert typed(read_pieces([b"".join(frames)], params=params)) == typed([Message(m) for m in messages])


@pytest.mark.parametrize("params", AGREEMENTS)
def test_compressed_fragments_with_pings_between_are_fed_a_byte_at_a_time(params: DeflateParams) -> None:
    client = as_client(params)
    first, second = client_message(client, "Hello " * 20, [3, 9]), client_message(client, b"again", [1])
    frames = [first[0], client_frame(OP_PING, b"p"), *first[1:], *second]
    assert typed(read(*frames, params=params)) == typed([Ping(b"p"), Message("Hello " * 20), Message(b"again")])


def test_uncompressed_message_is_read_when_deflate_was_agreed() -> None:
    """Section 6: RSV1 unset means the message was sent as is; per message, not per connection."""
    client = Deflate(DeflateParams())
    frames = [*client_message(client, "packed"), client_frame(OP_TEXT, b"plain"), *client_message(client, "packed")]
    assert typed(read(*frames, params=DeflateParams())) == typed([Message("packed"), Message("plain"),
                                                                   Message("packed")])


def test_encode_message_with_deflate_sets_rsv1_and_inflates_back() -> None:
    deflate = Deflate(DeflateParams())
    fin, rsv1, opcode, payload = server_frame_fields(b"".join(message_frame("κόσμε" * 50, deflate)))
    assert (fin, rsv1, opcode) == (True, True, OP_TEXT)
    assert zlib.decompressobj(-15).decompress(payload + TAIL) == ("κόσμε" * 50).encode()


@property_settings(60)
@given(messages=st.lists(st.text(max_size=200) | st.binary(max_size=400), max_size=6),
       params=st.sampled_from(AGREEMENTS), data=st.data())
def test_any_compressed_messages_cut_anywhere_are_inflated(messages: list[str | bytes], params: DeflateParams,
                                                           data: st.DataObject) -> None:
    client = as_client(params)
    frames = [frame for message in messages
              for frame in client_message(client, message, data.draw(st.lists(st.integers(0, 500), max_size=3)))]
    wire = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    assert typed(read_pieces(pieces, params=params)) == typed([Message(m) for m in messages])


# -- limits and corrupt data --------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """50 MiB of zeros, compressed as a client would (about 50 KB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(bytes(50 * MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(TAIL) and len(data) < 100_000
    return data[:-4]


def bomb_refusal(*frames: bytes) -> WebSocketError:
    """The error ``frames`` raise in a FrameReader(max_message=1 MiB), checked to come quickly and with
    a few MiB allocated at most: inflating the whole bomb would take 50."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        error = refusal(*frames, max_message=MiB, params=DeflateParams(), by_byte=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 8 * MiB
    return error


def test_zip_bomb_is_refused_with_1009_without_inflating_it_all(zip_bomb: bytes) -> None:
    assert bomb_refusal(client_frame(OP_BINARY, zip_bomb, rsv1=True)).code == 1009


def test_zip_bomb_cut_into_fragments_is_refused_with_1009(zip_bomb: bytes) -> None:
    step = len(zip_bomb) // 20
    pieces = [zip_bomb[i:i + step] for i in range(0, len(zip_bomb), step)]
    frames = [client_frame(OP_BINARY if i == 0 else OP_CONTINUATION, piece, rsv1=i == 0, fin=i == len(pieces) - 1)
              for i, piece in enumerate(pieces)]
    assert bomb_refusal(*frames).code == 1009


def test_decompress_gives_none_past_its_budget_and_the_data_within_it() -> None:
    compressed = Deflate(DeflateParams()).compress(bytes(1000))
    assert Deflate(DeflateParams()).decompress(compressed, 999, final=True) is None
    assert Deflate(DeflateParams()).decompress(compressed, 1000, final=True) == bytes(1000)


@pytest.mark.parametrize(("size", "max_message"), [(0, 0), (1, 1), (1000, 1000), (MiB, MiB)])
def test_compressed_message_of_exactly_max_message_is_accepted_and_one_byte_more_refused(size: int,
                                                                                         max_message: int) -> None:
    """max_message counts the inflated bytes (the compressed ones are far fewer here)."""
    frames = client_message(Deflate(DeflateParams()), bytes(size), [7])
    assert typed(read_pieces(frames, max_message, DeflateParams())) == typed([Message(bytes(size))])
    over = client_message(Deflate(DeflateParams()), bytes(size + 1), [7])
    assert refusal(*over, max_message=max_message, params=DeflateParams(), by_byte=False).code == 1009


def test_incompressible_message_of_exactly_max_message_is_accepted() -> None:
    """Compressed, random bytes grow a little: the frame may be longer than max_message, the message is not."""
    payload = random.Random(3).randbytes(1 << 16)
    frames = client_message(Deflate(DeflateParams()), payload)
    assert len(frames[0]) > (1 << 16) + 14
    assert typed(read_pieces(frames, 1 << 16, DeflateParams())) == typed([Message(payload)])


@pytest.mark.parametrize("declared", [5 * MiB, 1 << 40, (1 << 63) - 1])
def test_compressed_frame_far_longer_than_max_message_is_refused_with_1009_from_its_header(declared: int) -> None:
    """A compressed frame is held whole before it is inflated, so its length is bounded from the header."""
    header = client_frame(OP_BINARY, rsv1=True, length=declared)[:-4]
    assert refusal(header, max_message=MiB, params=DeflateParams()).code == 1009


@pytest.mark.parametrize("payload", [
    b"\xff\xff\xff",  # BTYPE 11, reserved
    b"\x07",  # the same, with BFINAL
    b"\x00\x05\x00\x00\x00",  # a stored block whose NLEN is not the complement of LEN
    bytes.fromhex("f248cdc9c907ff"),
])
def test_corrupt_deflate_data_is_refused_with_1007(payload: bytes) -> None:
    """RFC 7692 leaves the code to the implementation; 1007 is "data not consistent with the type"."""
    assert refusal(client_frame(OP_BINARY, payload, rsv1=True), params=DeflateParams()).code == 1007


def test_corrupt_deflate_data_raises_corrupt_message() -> None:
    with pytest.raises(CorruptMessage):
        Deflate(DeflateParams()).decompress(b"\xff\xff\xff", 100, final=True)


def test_compressed_text_that_is_not_utf8_is_refused_with_1007() -> None:
    frames = [client_frame(OP_TEXT, Deflate(DeflateParams()).compress(b"ok \xed\xa0\x80"), rsv1=True)]
    assert refusal(*frames, params=DeflateParams()).code == 1007
