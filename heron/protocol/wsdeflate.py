"""permessage-deflate (RFC 7692): agreeing on it, and compressing and inflating messages (protocol layer).

A client offers the extension in ``Sec-WebSocket-Extensions``, possibly
several times with different parameters; ``negotiate`` takes the first
offer heron can honour and says what to answer. ``Deflate`` then
compresses the server's messages and inflates the client's, each message
one deflate block ended by a sync flush whose last four bytes
(``00 00 ff ff``) are left off the wire (section 7.2.1).

Inflating is bounded: ``decompress`` is given what is left of the
message budget and produces at most one byte more, so a small message
that would inflate to gigabytes (a zip bomb) is refused after
``max_message`` bytes, never held. Memory per connection is bounded too:
the server compresses with a 4 KiB window (``SERVER_WINDOW_BITS``, which
a client can always read) and a small ``memLevel``, and asks the client
to use the same window when it lets the server choose.
"""

from __future__ import annotations

import zlib
from typing import Final, NamedTuple

__all__ = ["EXTENSION", "CorruptMessage", "Deflate", "DeflateParams", "negotiate"]

EXTENSION: Final = "permessage-deflate"
SERVER_WINDOW_BITS: Final = 12
"""The window the server compresses with (4 KiB; at most what the client allowed): with
``MEM_LEVEL`` about 30 KiB of zlib state per connection, where zlib's defaults take 256 KiB."""
CLIENT_WINDOW_BITS: Final = 12
"""The window the server asks a client to compress with, when the client offers to be told."""
MEM_LEVEL: Final = 5
COMPRESS_LEVEL: Final = 6
_TAIL: Final = b"\x00\x00\xff\xff"


class DeflateParams(NamedTuple):
    """What was agreed (section 7.1): context takeover each way, and the largest window each side may use."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


Offer = tuple[str, list[tuple[str, str | None]]]
"""One extension offered: its name and its parameters in order (a parameter without a value has None)."""


def negotiate(offers: list[Offer]) -> tuple[DeflateParams, str] | None:
    """The first permessage-deflate offer that can be accepted: what was agreed and the
    ``Sec-WebSocket-Extensions`` value to answer with; None if there is none.

    An offer is declined, and the next one considered, if it repeats a
    parameter, has one this extension does not define, or gives a value
    other than 8-15 without leading zeros (section 7.1.2); also if it asks
    the server for an 8-bit window, which zlib cannot compress with.
    """
    for name, params in offers:
        if name.lower() == EXTENSION:
            agreed = _accept(params)
            if agreed is not None:
                return agreed
    return None


def _accept(params: list[tuple[str, str | None]]) -> tuple[DeflateParams, str] | None:
    seen: dict[str, str | None] = {}
    for key, value in params:
        key = key.lower()
        if key in seen:
            return None
        seen[key] = value
    if not seen.keys() <= {"server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
                           "client_max_window_bits"}:
        return None
    for flag in ("server_no_context_takeover", "client_no_context_takeover"):
        if seen.get(flag, None) is not None:
            return None
    server_bits = _window_bits(seen, "server_max_window_bits", required=True)
    client_bits = _window_bits(seen, "client_max_window_bits", required=False)
    if server_bits is False or client_bits is False or server_bits == 8:
        return None
    answer = [EXTENSION]
    agreed = DeflateParams()
    if "server_no_context_takeover" in seen:
        answer.append("server_no_context_takeover")
        agreed = agreed._replace(server_no_context_takeover=True)
    if "client_no_context_takeover" in seen:
        answer.append("client_no_context_takeover")
        agreed = agreed._replace(client_no_context_takeover=True)
    if isinstance(server_bits, int):
        answer.append(f"server_max_window_bits={server_bits}")
        agreed = agreed._replace(server_max_window_bits=server_bits)
    if "client_max_window_bits" in seen:  # the client lets the server choose, up to its value
        bits = min(CLIENT_WINDOW_BITS, client_bits if isinstance(client_bits, int) else 15)
        answer.append(f"client_max_window_bits={bits}")
        agreed = agreed._replace(client_max_window_bits=bits)
    return agreed, "; ".join(answer)


def _window_bits(seen: dict[str, str | None], key: str, *, required: bool) -> int | bool | None:
    """The window bits a parameter gives: an int, None if absent (or, when allowed, without a
    value), False if its value is missing where required or not 8-15 in plain digits with no
    leading zero (section 7.1.2.1)."""
    if key not in seen:
        return None
    value = seen[key]
    if value is None:
        return False if required else None
    if value not in _WINDOW_BITS:
        return False
    return int(value)


_WINDOW_BITS: Final = frozenset(str(bits) for bits in range(8, 16))


class Deflate:
    """One connection's compressor and inflater, as ``params`` agreed."""

    __slots__ = ("params", "_compressor", "_inflater")

    def __init__(self, params: DeflateParams) -> None:
        self.params = params
        self._compressor: zlib._Compress | None = None  # made for the first message sent
        self._inflater: zlib._Decompress | None = None  # made for the first message received

    def compress(self, payload: bytes) -> bytes:
        """One message's payload, compressed (section 7.2.1): the deflate block without its tail."""
        compressor = self._compressor
        if compressor is None:
            bits = min(SERVER_WINDOW_BITS, self.params.server_max_window_bits)
            compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -bits, MEM_LEVEL)
        data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
        self._compressor = None if self.params.server_no_context_takeover else compressor
        return data[:-4] if data.endswith(_TAIL) else data

    def decompress(self, payload: bytes, budget: int, *, final: bool) -> bytes | None:
        """One frame of a compressed message, inflated; None if it would pass ``budget`` bytes.

        ``final`` is the message's last frame: the tail the sender left off
        is put back, and without context takeover the inflater starts
        afresh for the next message (section 7.2.2).
        """
        data, pending = b"", payload + _TAIL if final else payload
        try:
            # More than once only if a block with BFINAL set ended the deflate stream (section 7.2.3.4):
            # what follows it starts a new one, as the sender's deflater did.
            while True:
                inflater = self._inflater
                if inflater is None or inflater.eof:
                    inflater = self._inflater = zlib.decompressobj(-self.params.client_max_window_bits)
                data += inflater.decompress(pending, budget + 1 - len(data))
                pending = inflater.unused_data
                if not (pending and len(data) <= budget):
                    break
        except zlib.error:
            raise CorruptMessage("the compressed message is not a valid deflate stream") from None
        if len(data) > budget:
            return None
        if final and self.params.client_no_context_takeover:
            self._inflater = None
        return data


class CorruptMessage(Exception):
    """A compressed message that is not a valid deflate stream."""
