"""Request bodies sent with a Content-Encoding: refused, or decoded within a limit (web layer).

A client may compress what it sends (``Content-Encoding: gzip``, RFC 9110
section 8.4). An ``App`` that has not said it decodes such bodies answers
415 with ``Accept-Encoding: identity`` (section 15.5.16 and 12.5.3: the
response says which codings it would take), before any middleware or
handler reads the body: a handler that does not expect compressed bytes
would otherwise parse them as if they were the content.

``App(decompress_requests=True)`` decodes gzip and deflate instead, as the
body is read, so ``body()``, ``json()``, ``form()`` and ``stream()`` all
see the decoded content. The decoded size is capped by
``max_decoded_body_bytes`` and counted as bytes are produced, a piece of
at most ``PIECE`` at a time (one event-loop turn of work), so a zip bomb
ends in a 413 and is never held whole. The request's ``Content-Encoding``
and ``Content-Length`` are removed: they described the bytes on the wire.
"""

from __future__ import annotations

from typing import Final

from heron.errors import HTTPError
from heron.messages.contracts import BodyStream
from heron.messages.request import Request
from heron.protocol.contentcoding import DECODABLE, BodyDecoder, decodable
from heron.protocol.headers import Headers, split_comma_list

__all__ = ["PIECE", "DecodedBody", "check_content_coding"]

PIECE: Final = 1024 * 1024
"""Most decoded bytes one read produces: what is decompressed in one turn of the event loop."""
_FRAMING: Final = frozenset({"content-encoding", "content-length"})


def check_content_coding(request: Request, decode: bool) -> None:
    """Refuse (415) a body in a coding the app does not decode; with ``decode``, read it decoded from now on."""
    codings: list[str] = []
    for name, value in request.headers.raw:  # a scan, not the name index: most bodies never need one built
        if len(name) == 16 and name.lower() == "content-encoding":
            codings += [coding for coding in (item.lower() for item in split_comma_list(value)) if coding != "identity"]
    if not codings:
        return
    if not decode or len(codings) > 1 or not decodable(codings[0]):
        accepted = ", ".join(DECODABLE) if decode else "identity"
        raise HTTPError(415, f"request bodies are accepted in these codings only: {accepted}",
                        [("Accept-Encoding", accepted)])
    headers = Headers([(name, value) for name, value in request.headers.raw if name.lower() not in _FRAMING])
    decoder, max_bytes = BodyDecoder(codings[0]), request.limits.max_decoded_body_bytes
    request.wrap_body(lambda raw: DecodedBody(raw, decoder, max_bytes), headers)


class DecodedBody:
    """A ``BodyStream`` that yields another one's pieces decoded, at most ``max_bytes`` in all (else 413)."""

    __slots__ = ("_raw", "_decoder", "_room", "_max_bytes")

    def __init__(self, raw: BodyStream, decoder: BodyDecoder, max_bytes: int) -> None:
        self._raw = raw
        self._decoder = decoder
        self._room = self._max_bytes = max_bytes

    async def read_chunk(self) -> bytes:
        """The next decoded piece (at most ``PIECE`` bytes); b"" once the body and its stream have ended."""
        while True:
            data = b""
            if not self._decoder.pending:
                data = await self._raw.read_chunk()
                if not data:
                    self._decoder.finish()
                    return b""
            out = self._decode(data, PIECE)
            if out:
                return out

    def take_if_complete(self) -> bytes | None:
        """The whole decoded body if all of it has arrived (decoded now, within the limit); None if not yet."""
        if self._decoder.pending:
            return None
        data = self._raw.take_if_complete()
        if data is None:
            return None
        out = self._decode(data, self._room + 1)
        self._decoder.finish()
        return out

    def _decode(self, data: bytes, most: int) -> bytes:
        out = self._decoder.feed(data, min(most, self._room + 1))
        if len(out) > self._room:
            raise HTTPError(413, f"the request body is larger than {self._max_bytes} bytes once decoded")
        self._room -= len(out)
        return out

    @property
    def gone(self) -> bool:
        return self._raw.gone

    async def wait_disconnected(self) -> None:
        await self._raw.wait_disconnected()
