"""Form bodies as a handler sees them: fields and uploaded files (messages layer).

Two formats carry HTML forms (RFC 7578, WHATWG URL section 5): an
urlencoded body is small and read whole (``decode_urlencoded``); a
``multipart/form-data`` body may be gigabytes, so ``read_multipart``
feeds it through ``heron.protocol.multipart`` as it arrives, keeps fields
as strings and streams files into ``UploadFile`` objects. Both apply the
same field limits (``max_form_fields``, ``max_form_field_bytes``), the
gap Starlette closed in CVE-2026-54283; a multipart form's files are
counted too (``max_form_files``), each being a possible open file.

A malformed or oversized form is an ``HTTPError`` (400 or 413), not a
``ProtocolError``: the HTTP framing is intact, so the server may drain
the rest of the body and keep the connection. Files already created are
closed before the error leaves, and on any other failure too (the client
going away, the handler being cancelled).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Union

from heron.errors import HTTPError, ProtocolError
from heron.limits import Limits
from heron.messages.query import FormTooLarge, MultiDict, parse_urlencoded
from heron.messages.uploads import UploadFile
from heron.protocol.events import END_OF_MESSAGE, NEED_DATA, Data
from heron.protocol.headers import parse_media_type
from heron.protocol.multipart import PART_END, MultipartDecoder, PartHeaders, boundary_of, form_part

__all__ = ["FormData", "decode_urlencoded", "form_kind", "read_multipart"]

FormValue = Union[str, UploadFile]


class FormData(MultiDict[FormValue]):
    """A form's fields (``str``) and files (``UploadFile``), by name, in the order sent.

    ``form["title"]`` is the first value, ``form.get_all("photos")`` every
    one; ``files()`` lists the uploads. ``close()`` drops every file's
    content: the request calls it when it ends.
    """

    __slots__ = ()

    def files(self) -> list[UploadFile]:
        """Every uploaded file, in the order sent."""
        return [value for _, value in self.multi_items() if isinstance(value, UploadFile)]

    def close(self) -> None:
        for upload in self.files():
            upload.close()


def form_kind(content_type: str | None) -> str:
    """``"multipart"`` or ``"urlencoded"``; ``HTTPError`` 415 for a body that is neither form format."""
    media_type = parse_media_type(content_type)[0] if content_type else ""
    if media_type == "multipart/form-data":
        return "multipart"
    if media_type == "application/x-www-form-urlencoded":
        return "urlencoded"
    raise HTTPError(415, "expected Content-Type: application/x-www-form-urlencoded or multipart/form-data")


def decode_urlencoded(body: bytes, limits: Limits) -> FormData:
    """The fields of an urlencoded body (``heron.messages.query.parse_urlencoded``), within the form limits."""
    try:
        fields = parse_urlencoded(body, limits.max_form_fields, limits.max_form_field_bytes)
    except FormTooLarge as exc:
        raise HTTPError(413, str(exc)) from None
    return FormData(fields.multi_items())


async def read_multipart(chunks: AsyncIterator[bytes], content_type: str, limits: Limits) -> FormData:
    """Read a ``multipart/form-data`` body from ``chunks`` into fields and files, within ``limits``."""
    reader: _MultipartReader | None = None
    try:
        reader = _MultipartReader(content_type, limits)  # a bad boundary is a ProtocolError too
        async for chunk in chunks:
            await reader.feed(chunk)
        await reader.feed(b"")
    except ProtocolError as exc:  # the form's format, not HTTP's framing: the connection may stay
        if reader is not None:
            reader.discard()
        raise HTTPError(exc.status, exc.detail) from None
    except BaseException:
        if reader is not None:
            reader.discard()
        raise
    return FormData(reader.pairs)


class _MultipartReader:
    """Turns the decoder's events into ``(name, str | UploadFile)`` pairs, holding each field to its limit."""

    __slots__ = ("decoder", "limits", "pairs", "_name", "_field", "_upload", "_files")

    def __init__(self, content_type: str, limits: Limits) -> None:
        self.decoder = MultipartDecoder(boundary_of(content_type), max_parts=limits.max_form_fields,
                                        max_header_bytes=limits.max_part_header_bytes,
                                        max_headers=limits.max_part_headers)
        self.limits = limits
        self.pairs: list[tuple[str, FormValue]] = []
        self._name = ""
        self._field: bytearray | None = None  # the content of the field being read
        self._upload: UploadFile | None = None  # or the file being read
        self._files = 0

    async def feed(self, chunk: bytes) -> None:
        """Decode ``chunk`` (b"": the body is complete) and act on every event it completes."""
        decoder = self.decoder
        if chunk:
            decoder.feed(chunk)
        else:
            decoder.end()
        while (event := decoder.next_event()) is not NEED_DATA:
            if type(event) is Data:
                await self._content(event.data)
            elif type(event) is PartHeaders:
                self._start(event.headers)
            elif event is PART_END:
                await self._end_part()
            elif event is END_OF_MESSAGE:
                return

    def _start(self, headers: list[tuple[str, str]]) -> None:
        part = form_part(headers)
        self._name = part.name
        if part.filename is None:
            self._field = bytearray()
        else:
            self._files += 1
            if self._files > self.limits.max_form_files:
                raise HTTPError(413, f"more than {self.limits.max_form_files} files in a form")
            self._upload = UploadFile(part.name, part.filename, part.content_type, headers,
                                      self.limits.upload_memory_bytes)
            self.pairs.append((part.name, self._upload))  # listed now, so that discard() finds it

    async def _content(self, data: bytes) -> None:
        upload = self._upload
        if upload is not None:
            if upload.size + len(data) > self.limits.max_upload_bytes:
                raise HTTPError(413, f"an uploaded file is larger than {self.limits.max_upload_bytes} bytes")
            await upload.write(data)
            return
        field = self._field
        assert field is not None
        if len(field) + len(data) > self.limits.max_form_field_bytes:
            raise HTTPError(413, f"a form field is larger than {self.limits.max_form_field_bytes} bytes")
        field += data

    async def _end_part(self) -> None:
        if self._upload is not None:
            await self._upload.finish()
            self._upload = None
        else:
            assert self._field is not None
            self.pairs.append((self._name, self._field.decode("utf-8", "replace")))
            self._field = None

    def discard(self) -> None:
        """Close every file made so far: the form failed, and nobody will read them."""
        for _, value in self.pairs:
            if isinstance(value, UploadFile):
                value.close()
