"""Decoding a request body's content coding, bounded (protocol layer, sans-IO).

A request body sent with ``Content-Encoding: gzip`` (RFC 9110 section
8.4.1.3) or ``deflate`` (section 8.4.1.2: the zlib format of RFC 1950)
is fed to a ``BodyDecoder`` piece by piece. Every call says how many
decoded bytes it may return at most, and the decoder keeps whatever input
it has not decoded yet for the next call: a few KiB of gzip can stand for
gigabytes, so the output is what is bounded, never the input alone.

Brotli and zstd are not decoded here: the ``brotli`` package's decoder has
no bound on the output of one call, so one small input could still make
gigabytes before the caller could stop it.
"""

from __future__ import annotations

import zlib
from typing import Final

from heron.errors import HTTPError

__all__ = ["DECODABLE", "BodyDecoder", "decodable"]

_WBITS: Final = {"gzip": 31, "x-gzip": 31, "deflate": 15}
DECODABLE: Final = ("gzip", "deflate")
"""Content codings a request body may be sent in, as a 415 lists them in ``Accept-Encoding``."""


def decodable(coding: str) -> bool:
    """Whether a ``BodyDecoder`` undoes ``coding`` (lower-case; ``x-gzip`` is gzip, RFC 9110 section 8.4.1.3)."""
    return coding in _WBITS


class BodyDecoder:
    """Undo one content coding, producing at most a given number of bytes per call.

    A gzip body may hold several members one after the other (RFC 1952
    section 2.2: ``cat a.gz b.gz``), decoded as one stream; a deflate
    body is exactly one zlib stream. Bytes that are not valid in the
    coding, bytes after a deflate stream's end, and a body that stops
    before its stream does are a 400.
    """

    __slots__ = ("coding", "_wbits", "_z", "_tail")

    def __init__(self, coding: str) -> None:
        self._wbits = _WBITS[coding]
        self.coding = "gzip" if self._wbits == 31 else coding
        self._z = zlib.decompressobj(self._wbits)
        self._tail = b""

    @property
    def pending(self) -> bool:
        """Input is left from the last call that decoding stopped short of (the output bound was reached)."""
        return bool(self._tail)

    def feed(self, data: bytes, max_length: int) -> bytes:
        """Decode what was left over and then ``data``; at most ``max_length`` (>= 1) bytes come out."""
        if self._tail:
            data = self._tail + data
        out = bytearray()
        while data and len(out) < max_length:
            z = self._z
            if z.eof:  # a stream ended and more bytes follow: only gzip allows another member
                if self._wbits != 31:
                    raise HTTPError(400, "the request body has bytes after the end of its deflate stream")
                z = self._z = zlib.decompressobj(self._wbits)
            try:
                out += z.decompress(data, max_length - len(out))
            except zlib.error:
                raise HTTPError(400, f"the request body is not valid {self.coding}") from None
            data = z.unused_data if z.eof else z.unconsumed_tail
        self._tail = data
        return bytes(out)

    def finish(self) -> None:
        """The body has ended: check that its last stream did too (a truncated body is a 400)."""
        if self._tail or not self._z.eof:
            raise HTTPError(400, f"the request body ends before its {self.coding} stream does")
