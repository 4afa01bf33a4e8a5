"""A response whose body is (part of) a file, and reading files without ever waiting on one (messages layer).

``FileResponse`` names a path and a region. The server sends it with
``sendfile`` where it can (``heron.server.direct``) and reads it in
pieces in the thread pool where it cannot (TLS, the test client); either
way the file is opened, with ``heron.messages.files.open_regular``, only
when the body is about to be sent, and must then still be a regular file
holding the region. ``read_file_region`` reads the same way from a pool
thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from typing import Final, Protocol

from heron.blocking import run_blocking
from heron.messages.files import NotTheFile, OpenFile, open_regular
from heron.messages.mediatypes import media_type
from heron.messages.response import HeadersLike, StreamingResponse

__all__ = ["FileResponse", "SendableFile", "read_file_region"]


class SendableFile(Protocol):
    """What the server sends a file from: a descriptor (``sendfile`` and ``pread`` say the offset)."""

    def fileno(self) -> int: ...


class FileResponse(StreamingResponse):
    """``length`` bytes of the file at ``path`` from ``offset`` (default: the rest of it).

    Framed by Content-Length. The server sends it with ``sendfile``
    (zero-copy, straight from the page cache) on plain TCP, and reads it
    in pieces in the thread pool where it cannot (TLS, the test client).
    The file is opened when the body is about to be sent, not here, and
    must then still be a regular file holding the region (and, with
    ``expect``, the very file a lookup found): otherwise the server
    answers 404 before sending a byte. With ``length`` None the size
    comes from one ``os.stat`` here, which blocks briefly: call it from a
    ``def`` handler (thread pool) for files on slow disks. ``content_type``
    defaults to the one ``heron.messages.mediatypes`` gives the file name.
    ``file`` is a descriptor of ``path`` kept open between responses
    (``heron.web.staticcache``), sent from instead of opening the path.
    """

    __slots__ = ("path", "offset", "length", "file", "expect")

    CHUNK_SIZE: Final = 256 * 1024
    """Bytes read at a time when the file is streamed instead of sendfile'd."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: HeadersLike | None = None,
        content_type: str | None = None,
        *,
        offset: int = 0,
        length: int | None = None,
        file: OpenFile | None = None,
        expect: tuple[int, int, int, int] | None = None,
    ) -> None:
        path = os.fspath(path)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must not be negative")
        if length is None:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise NotTheFile(f"{path}: not a regular file")
            length = max(0, info.st_size - offset)
        super().__init__((), status, headers, content_type if content_type is not None else media_type(path))
        self.path = path
        self.offset = offset
        self.length = length
        self.file = file
        self.expect = expect
        """``files.identity`` of the file as it was looked up (None: any regular file will do)."""
        self.headers.append(("Content-Length", str(length)))

    def open(self) -> AbstractContextManager[SendableFile]:
        """The file to send from (``offset`` and ``length`` say which part), for a ``with`` block.

        The shared descriptor if there is one and it is still open, else
        the path opened with ``files.open_regular``, which never waits
        and raises OSError unless the path is still a regular file long
        enough for the region (and ``expect``'s file, when given).
        """
        shared = self.file.use() if self.file is not None else None
        if shared is not None:
            return shared
        return _OwnedFile(open_regular(self.path, self.expect, self.offset + self.length))

    async def chunks(self) -> AsyncIterator[bytes]:
        with self.open() as file:
            async for data in self.pieces(file):
                yield data

    async def pieces(self, file: SendableFile) -> AsyncIterator[bytes]:
        """The region read from ``file`` in the thread pool, ``CHUNK_SIZE`` at a time (where sendfile cannot go)."""
        fd, offset, left = file.fileno(), self.offset, self.length
        while left > 0:
            data = await run_blocking(os.pread, fd, min(self.CHUNK_SIZE, left), offset)
            if not data:
                raise OSError(f"{self.path}: file shorter than the {self.length} bytes promised")
            offset += len(data)
            left -= len(data)
            yield data


class _OwnedFile:
    """A descriptor one response opened for itself: closed when its ``with`` block ends."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def __enter__(self) -> _OwnedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


def read_file_region(path: str, offset: int, length: int, chunk_size: int,
                     expect: tuple[int, int, int, int] | None = None) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``path`` from ``offset`` (blocking: for the thread pool).

    Opened as ``FileResponse.open`` opens, so a FIFO put in the file's
    place cannot stop the thread; OSError if the path is no longer a
    regular file long enough (or ``expect``'s file), or shrinks while read.
    """
    if length <= 0:
        return
    fd = open_regular(path, expect, offset + length)
    try:
        left = length
        while left > 0:
            data = os.pread(fd, min(chunk_size, left), offset)
            if not data:
                raise OSError(f"{path}: file shorter than the {length} bytes promised")
            offset += len(data)
            left -= len(data)
            yield data
    finally:
        os.close(fd)
