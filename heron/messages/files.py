"""The files a file response is sent from, opened so that opening cannot wait (messages layer).

A ``FileResponse`` names a path; by the time its body is sent, the path
may name something else. ``open_regular`` opens it without waiting and
says whether it is still the regular file it was taken for; ``identity``
is what "the same file" means (device, inode, size, mtime). ``OpenFile``
is a descriptor several responses share (``heron.web.staticcache`` keeps
them between responses), closed only once it is retired and unused, so a
descriptor number is never closed under a response and reused for
another file.
"""

from __future__ import annotations

import os
import stat
from types import TracebackType

__all__ = ["NotTheFile", "OpenFile", "identity", "open_if_same", "open_regular"]


def identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What must be equal for two stats to describe the same file contents: device, inode, size, mtime."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


class NotTheFile(OSError):
    """The path no longer names the regular file it was looked up as (or promised to be)."""


def open_regular(path: str, wanted: tuple[int, int, int, int] | None = None, end: int = 0) -> int:
    """A read-only descriptor of ``path``, which must be a regular file at least ``end`` bytes long
    and, if ``wanted`` (an ``identity``) is given, still that file; ``NotTheFile`` (or the open's
    own OSError) otherwise.

    Opened with O_NONBLOCK so that nothing here can wait: a lookup may
    have said "regular file", but by the time the file is sent anyone who
    can rename files in the directory may have put a FIFO in its place,
    and a plain ``open()`` of a FIFO waits for a writer forever, with the
    event loop (every connection of the process) or a pool thread stopped
    behind it. ``fstat`` on the descriptor then says what was really
    opened. The flag is cleared once it is the file, so reads behave as
    any file's.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotTheFile(f"{path}: no longer a regular file")
        if wanted is not None and identity(info) != wanted:
            raise NotTheFile(f"{path}: replaced or changed since it was looked up")
        if info.st_size < end:
            raise NotTheFile(f"{path}: shorter than the {end} bytes to send")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_if_same(path: str, wanted: tuple[int, int, int, int]) -> int | None:
    """``open_regular(path, wanted)``, or None when ``path`` is no longer that file or cannot be opened."""
    try:
        return open_regular(path, wanted)
    except OSError:
        return None


class OpenFile:
    """A read-only descriptor that responses share; see the module docstring.

    A response takes it with ``use()`` (None if it is already closed: open
    the path yourself) and gives it back by leaving the ``with`` block.
    """

    __slots__ = ("fd", "identity", "_users", "_retired", "_closed")

    def __init__(self, fd: int, ident: tuple[int, int, int, int]) -> None:
        self.fd = fd
        self.identity = ident
        self._users = 0
        self._retired = False
        self._closed = False

    def use(self) -> OpenFile | None:
        """Count one more user, or None if the descriptor is closed already."""
        if self._closed:
            return None
        self._users += 1
        return self

    def fileno(self) -> int:
        return self.fd

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._users -= 1
        if self._retired and not self._users:
            self._close()

    def retire(self) -> None:
        """No new user will get it: close now if unused, else when the last one is done."""
        self._retired = True
        if not self._users:
            self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.fd)
