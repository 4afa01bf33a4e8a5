"""The request body decoder: gzip and deflate, fed in any pieces, bounded in what each call produces."""

from __future__ import annotations

import gzip
import zlib

import pytest

from heron.errors import HTTPError
from heron.protocol.contentcoding import BodyDecoder, decodable

TEXT = b"heron decodes what clients compress. " * 200


def decode_all(decoder: BodyDecoder, pieces: list[bytes], most: int = 1 << 30) -> bytes:
    out = bytearray()
    for piece in pieces:
        out += decoder.feed(piece, most)
        while decoder.pending:
            out += decoder.feed(b"", most)
    decoder.finish()
    return bytes(out)


@pytest.mark.parametrize("coding, encode", [("gzip", gzip.compress), ("x-gzip", gzip.compress),
                                            ("deflate", zlib.compress)])
def test_every_split_of_the_body_decodes_to_the_same_bytes(coding: str, encode: object) -> None:
    data = encode(TEXT)  # type: ignore[operator]
    for cut in range(0, len(data) + 1, 7):
        assert decode_all(BodyDecoder(coding), [data[:cut], data[cut:]]) == TEXT


def test_a_byte_at_a_time_with_a_small_output_bound() -> None:
    data = gzip.compress(TEXT)
    assert decode_all(BodyDecoder("gzip"), [data[i:i + 1] for i in range(len(data))], most=3) == TEXT


def test_gzip_members_one_after_another_are_one_body() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert decode_all(BodyDecoder("gzip"), [data]) == b"first second"


def test_no_call_returns_more_than_asked_however_much_the_input_expands() -> None:
    """A zip bomb: 64 MiB of zeros in about 64 KiB; each call yields at most the bound, the rest stays pending."""
    bomb = gzip.compress(bytes(64 * 1024 * 1024), 9)
    assert len(bomb) < 128 * 1024
    decoder = BodyDecoder("gzip")
    out = decoder.feed(bomb, 1000)
    assert len(out) == 1000 and decoder.pending
    assert len(decoder.feed(b"", 5000)) == 5000


@pytest.mark.parametrize("coding, body, message", [
    ("gzip", b"this is not gzip at all", "not valid gzip"),
    ("deflate", gzip.compress(TEXT), "not valid deflate"),
    ("deflate", zlib.compress(TEXT) + b"more", "after the end"),
    ("gzip", gzip.compress(TEXT) + b"\x00\x00", "not valid gzip"),
])
def test_malformed_bodies_are_400(coding: str, body: bytes, message: str) -> None:
    with pytest.raises(HTTPError) as raised:
        decode_all(BodyDecoder(coding), [body])
    assert raised.value.status == 400 and message in raised.value.detail


@pytest.mark.parametrize("body", [gzip.compress(TEXT)[:-4], gzip.compress(TEXT)[:10], b""])
def test_a_body_that_stops_before_its_stream_does_is_400(body: bytes) -> None:
    decoder = BodyDecoder("gzip")
    decoder.feed(body, 1 << 30)
    with pytest.raises(HTTPError) as raised:
        decoder.finish()
    assert raised.value.status == 400 and "ends before" in raised.value.detail


def test_only_gzip_and_deflate_are_decodable() -> None:
    assert decodable("gzip") and decodable("x-gzip") and decodable("deflate")
    assert not decodable("br") and not decodable("zstd") and not decodable("compress") and not decodable("GZIP")
