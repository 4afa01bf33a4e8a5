"""Files kept open between responses (web layer).

Sending a file costs three system calls before a byte moves: ``open``,
the ``fstat`` Python makes on every open, and ``close`` after. For a hot
file that is more than the send itself, so ``StaticFiles`` keeps the
descriptors of files it has just sent and hands the same one to the next
response for the file, as long as a ``stat`` of the path still shows the
inode, size and modification time the descriptor was opened with (the
check ``StaticFiles`` makes anyway before answering from a remembered
lookup). A file replaced by a rename has a new inode, so it is opened
afresh; one rewritten in place has a new size or mtime, ditto.

Several responses may send the same descriptor at once (``sendfile`` and
``pread`` take the offset with each call, never the shared file
position), and one may still be sending when the cache lets the
descriptor go: ``OpenFile`` counts its users and closes only when it is
both retired and unused, so a descriptor number is never closed under a
response and reused for another file.

Everything here runs on the event loop that owns the cache; nothing is
shared between threads.
"""

from __future__ import annotations

import asyncio
import os
import stat
from types import TracebackType
from typing import Final

MAX_OPEN_FILES: Final = 128
"""Descriptors kept open at most (per ``StaticFiles``); beyond that a response opens its own."""
IDLE_CLOSE: Final = 1.0
"""Seconds after which a kept descriptor nobody asked for is closed (checked that often)."""


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


class OpenFiles:
    """Descriptors of recently sent files by path, at most ``limit``, closed after ``idle`` seconds unused."""

    def __init__(self, limit: int = MAX_OPEN_FILES, idle: float = IDLE_CLOSE) -> None:
        self.limit = limit
        self.idle = idle
        self._files: dict[str, OpenFile] = {}
        self._used: set[str] = set()  # paths handed out since the last sweep
        self._sweep_timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._files)

    def get(self, path: str, wanted: tuple[int, int, int, int]) -> OpenFile | None:
        """An open descriptor of ``path`` whose ``identity`` is ``wanted`` (from a fresh stat), or None.

        None when the file cannot be opened, changed between the stat and
        the open, or the cache is full: the caller then lets the response
        open the path itself, as it would without this cache.
        """
        file = self._files.get(path)
        if file is not None and file.identity != wanted:
            del self._files[path]
            file.retire()
            file = None
        if file is None:
            if len(self._files) >= self.limit:
                return None
            file = self._open(path, wanted)
            if file is None:
                return None
            self._files[path] = file
            if self._sweep_timer is None:
                self._sweep_timer = asyncio.get_running_loop().call_later(self.idle, self._sweep)
        self._used.add(path)
        return file

    @staticmethod
    def _open(path: str, wanted: tuple[int, int, int, int]) -> OpenFile | None:
        fd = open_if_same(path, wanted)
        return None if fd is None else OpenFile(fd, wanted)

    def _sweep(self) -> None:
        """Close what nobody asked for since the last sweep; come back while anything is open."""
        used = self._used
        for path in [path for path in self._files if path not in used]:
            self._files.pop(path).retire()
        used.clear()
        self._sweep_timer = None
        if self._files:
            self._sweep_timer = asyncio.get_running_loop().call_later(self.idle, self._sweep)

    def close(self) -> None:
        """Let every descriptor go (each closes once its last response is sent); no timer is left."""
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        for file in self._files.values():
            file.retire()
        self._files.clear()
        self._used.clear()
