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
descriptor go: ``heron.messages.files.OpenFile`` counts its users and
closes only when it is both retired and unused.

Everything here runs on the event loop that owns the cache; nothing is
shared between threads.
"""

from __future__ import annotations

import asyncio
from typing import Final

from heron.messages.files import OpenFile, open_if_same

MAX_OPEN_FILES: Final = 128
"""Descriptors kept open at most (per ``StaticFiles``); beyond that a response opens its own."""
IDLE_CLOSE: Final = 1.0
"""Seconds after which a kept descriptor nobody asked for is closed (checked that often)."""


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
