"""``wsgi.file_wrapper``: a file a WSGI app returns, sent with sendfile where it can be (hosting layer).

PEP 3333, "Optional Platform-Specific File Handling": the app hands the
server a file object instead of iterating it itself, so that a server
that can send files efficiently does. A regular file becomes a
``FileResponse`` on the app's own open file, from its current position;
anything else is read in blocks like any iterable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import IO

from heron.messages.fileresponse import FileResponse
from heron.messages.response import Response, StreamingResponse

__all__ = ["FileWrapper", "close_iterable"]


def close_iterable(result: object) -> None:
    """PEP 3333: the server calls ``close()`` on what the app returned, if it has one."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


class FileWrapper:
    """``wsgi.file_wrapper``: a file the server may send with sendfile.

    A regular file with a ``fileno`` goes out zero-copy from its current
    position (up to the app's Content-Length); anything else (a BytesIO, a
    pipe) is read in ``block_size`` pieces like any iterable. ``close``
    closes the file, as PEP 3333 requires.
    """

    def __init__(self, filelike: IO[bytes], block_size: int = 256 * 1024) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        while data := self.filelike.read(self.block_size):
            yield data

    def close(self) -> None:
        close_iterable(self.filelike)

    def as_response(self, status: int, headers: list[tuple[str, str]], length: int | None) -> Response | None:
        """A sendfile-able response for a regular file; None for anything else."""
        try:
            fd = self.filelike.fileno()
            info = os.fstat(fd)
            offset = self.filelike.tell()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        available = max(0, info.st_size - offset)
        size = available if length is None else min(length, available)
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        return _OpenFileResponse(self, status, headers, offset, size)


class _OpenFileResponse(FileResponse):
    """A ``FileResponse`` for a file the app already opened (through ``wsgi.file_wrapper``).

    ``FileResponse.__init__`` is skipped on purpose: it would open and stat
    a path and guess a Content-Type, while here the file is open and the
    app's headers already say what it is. The server calls ``discard``
    once the body is sent (or cannot be), which closes the app's file as
    PEP 3333 requires.
    """

    __slots__ = ("wrapper",)

    def __init__(self, wrapper: FileWrapper, status: int, headers: list[tuple[str, str]], offset: int,
                 length: int) -> None:
        StreamingResponse.__init__(self, (), status, headers, content_type=None)
        self.wrapper = wrapper
        self.path = str(getattr(wrapper.filelike, "name", "<file>"))
        self.offset = offset
        self.length = length
        self.headers.append(("Content-Length", str(length)))

    def open(self) -> AbstractContextManager[IO[bytes]]:
        return nullcontext(self.wrapper.filelike)

    async def discard(self) -> None:
        self.wrapper.close()
