"""What ``StaticFiles`` remembers between requests, and who may touch it when (web layer).

Three caches, each answering a question a request would otherwise put to
the file system:

- **lookups** (``Found``): what a URL names (the file, its precompressed
  siblings, their validators), found in the thread pool; reused on the
  event loop while a ``stat`` shows the file unchanged (``STAT_REUSE``),
  and looked up again in the background every ``LOOKUP_TTL``;
- **contents**: the bytes of small files (``SMALL_FILE``), read by their
  lookup, at most ``MEMORY_BUDGET`` in all;
- **descriptors** (``OpenFiles``): files kept open for ``sendfile``, so a
  hot file costs no ``open``, ``fstat`` and ``close`` per response.

The one concurrency rule: pool threads write (a lookup stores its
``Found`` and its contents), the event loop reads, and every write and
read is a single dict operation, atomic under the GIL, of an entry that
is replaced whole, never changed (``Found.checked``, which only the loop
touches, aside); the contents' byte count, which two fields keep, is
changed under a lock. The descriptor cache is the exception that proves
it: it belongs to one event loop and only that loop's thread touches it;
a second loop (a test client beside a server) opens files per response.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from heron.blocking import run_blocking
from heron.errors import HTTPError
from heron.messages.files import OpenFile, identity, open_if_same

__all__ = ["Chosen", "Found", "OpenFiles", "StaticCache", "LOOKUP_TTL", "MAX_REMEMBERED", "MEMORY_BUDGET",
           "SMALL_FILE", "STAT_REUSE", "stat_or_none"]

SMALL_FILE: Final = 80 * 1024
"""Files (and ranges) smaller than this are kept and sent from memory; larger ones go out with sendfile.

Where the two ways cross on loopback (bench/LOG.md): below, one write of
head and bytes and a shorter Python path (no ``FileResponse``) win;
above, sendfile's zero copy does."""
MEMORY_BUDGET: Final = 32 * 1024 * 1024
"""Bytes of small files kept in memory between requests at most (per ``StaticFiles``); beyond it
the files looked up longest ago are let go, and are sent with sendfile until their next lookup."""
LOOKUP_TTL: Final = 1.0
"""Seconds after which a file lookup (path resolution, symlink checks, precompressed siblings) is
done again, in the background; until then it is reused while the file's stat is unchanged."""
STAT_REUSE: Final = 0.01
"""Seconds for which one ``stat`` showing a remembered file unchanged answers for the requests after it:
a busy file is stat'ed about a hundred times a second, not once per request."""
MAX_REMEMBERED: Final = 4096
"""Lookups kept at most (per ``StaticFiles``); when full, all are forgotten and looked up again."""
MAX_OPEN_FILES: Final = 128
"""Descriptors kept open at most (per ``StaticFiles``); beyond that a response opens its own."""
IDLE_CLOSE: Final = 1.0
"""Seconds after which a kept descriptor nobody asked for is closed (checked that often)."""


@dataclass(frozen=True)
class Chosen:
    """A file that may be sent for a URL (the original or a precompressed sibling) and its validators."""

    path: str
    stat: os.stat_result
    encoding: str | None  # Content-Encoding, None for the original
    identity: tuple[int, int, int, int]  # files.identity(stat): what a later stat must match
    etag: str
    mtime: int  # whole seconds, as Last-Modified says and preconditions compare
    validators: tuple[tuple[str, str], ...]  # what a 304 repeats: ETag, Last-Modified, Cache-Control, Vary
    fields: tuple[tuple[str, str], ...]  # those and the rest of a file response's own fields


@dataclass(slots=True)
class Found:
    """What a lookup learned about the file a URL names, and until when it is trusted."""

    original: Chosen
    siblings: tuple[Chosen, ...]  # the precompressed ones that may be sent, br first
    content_type: str  # from the original's name, never ".gz"
    until: float  # time.monotonic() after which the file system is asked again
    checked: float = -math.inf  # time.monotonic() of the last stat on the loop that found them unchanged

    def unchanged(self, now: float) -> bool:
        """The file and its siblings are still what was found: same inode, size and mtime.

        One ``stat`` each, at most every ``STAT_REUSE`` seconds, so a file
        rewritten since the lookup is not sent with the old length or
        validators once that short time has passed.
        """
        if now - self.checked < STAT_REUSE:
            return True
        if not _same_file(self.original):
            return False
        if self.siblings and not all(_same_file(sibling) for sibling in self.siblings):
            return False
        self.checked = now
        return True


class StaticCache:
    """One ``StaticFiles``' lookups, small files' bytes and kept descriptors (see the module docstring)."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], Found] = {}  # (root_path, raw_path) -> the last lookup
        self._refreshing: set[tuple[str, str]] = set()  # keys being looked up again (see refresh)
        self._open_files: OpenFiles | None = None  # descriptors kept open, owned by _open_loop
        self._open_loop: asyncio.AbstractEventLoop | None = None
        self._open_thread = 0  # threading.get_ident() of the thread _open_loop runs in
        # Small files' bytes by path, with the identity they were read at (see keep_contents).
        self._contents: dict[str, tuple[tuple[int, int, int, int], bytes]] = {}
        self._contents_size = 0
        self._contents_lock = threading.Lock()  # lookups run in several pool threads at once

    def recall(self, key: tuple[str, str], now: float) -> Found | None:
        """The lookup remembered for ``key`` if its files are unchanged (on the loop: one stat per ``STAT_REUSE``)."""
        found = self._found.get(key)
        return found if found is not None and found.unchanged(now) else None

    def remember(self, key: tuple[str, str], found: Found) -> None:
        """Keep ``found`` (and its small files' bytes) for the requests after this lookup (in the pool)."""
        for chosen in (found.original, *found.siblings):
            self.keep_contents(chosen)
        if len(self._found) >= MAX_REMEMBERED:
            self._found.clear()
        self._found[key] = found

    def refresh(self, key: tuple[str, str], look_up: Callable[[], Found | object]) -> None:
        """Look ``key`` up again in the thread pool, one refresh at a time, once ``LOOKUP_TTL`` is up.

        Requests meanwhile keep the lookup there is: each still checks the
        file's ``stat``, so its answers stay right. What the refresh learns
        is what that stat cannot show, such as a precompressed sibling
        added. Sending every request to the pool once the second was up
        instead made a herd each second (with 50 clients, 50 lookups at
        once, the loop contending with the pool's threads for the GIL;
        bench/LOG.md). A lookup that fails (the file is gone or now
        refused) is forgotten, so the next request gets the answer.
        """
        if key in self._refreshing:
            return
        try:
            future = run_blocking(look_up)
        except HTTPError:  # the pool is full: keep the lookup, try on a later request
            return
        self._refreshing.add(key)

        def done(future: asyncio.Future[Found | object]) -> None:
            self._refreshing.discard(key)
            if future.cancelled() or future.exception() is not None or not isinstance(future.result(), Found):
                self._found.pop(key, None)

        future.add_done_callback(done)

    def open_files_here(self) -> OpenFiles | None:
        """The descriptor cache of the running loop; None on another loop while the owner lives.

        The cache belongs to one loop (its timer runs there, its counts are
        not locked); a second loop, such as a test client beside a server,
        opens files per response instead. A closed owner hands it over.
        Found without ``asyncio.get_running_loop()`` while the owner runs
        in this thread: that costs a ``getpid`` system call each time.
        """
        owner = self._open_loop
        if owner is not None and owner.is_running() and self._open_thread == threading.get_ident():
            return self._open_files
        loop = asyncio.get_running_loop()
        if owner is not loop:
            if owner is not None and not owner.is_closed():
                return None
            if self._open_files is not None:
                self._open_files.close()
            self._open_files, self._open_loop, self._open_thread = OpenFiles(), loop, threading.get_ident()
        return self._open_files

    def keep_contents(self, chosen: Chosen) -> None:
        """Read a small file into memory for the requests after this lookup (blocking: the pool's).

        Read again at every lookup, so a file rewritten in place without a
        new size or modification time (within the file system's timestamp
        granularity, which no stat can see through) is sent as it is now
        from the next lookup on, within ``LOOKUP_TTL``. Over
        ``MEMORY_BUDGET``, the files looked up longest ago are let go.
        """
        size = chosen.stat.st_size
        data = _read_whole(chosen.path, chosen.identity) if size < SMALL_FILE else None
        contents = self._contents
        with self._contents_lock:
            old = contents.pop(chosen.path, None)  # also when the file has grown past SMALL_FILE
            if old is not None:
                self._contents_size -= len(old[1])
            if data is None:
                return
            while contents and self._contents_size + size > MEMORY_BUDGET:
                self._contents_size -= len(contents.pop(next(iter(contents)))[1])  # the oldest lookup's
            contents[chosen.path] = (chosen.identity, data)
            self._contents_size += size

    def kept_contents(self, chosen: Chosen) -> bytes | None:
        """The bytes of ``chosen`` if they were kept in memory at its identity (safe on the loop: no lock)."""
        kept = self._contents.get(chosen.path)
        return kept[1] if kept is not None and kept[0] == chosen.identity else None

    def descriptor(self, chosen: Chosen) -> OpenFile | None:
        """A kept descriptor of ``chosen`` for this loop's responses; None: let the response open the path."""
        open_files = self.open_files_here()
        return open_files.get(chosen.path, chosen.identity) if open_files is not None else None


def stat_or_none(path: str, follow: bool = True) -> os.stat_result | None:
    """``os.stat`` (``lstat`` with follow False), None for any error: absent and forbidden look alike."""
    try:
        return os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None


def _read_whole(path: str, wanted: tuple[int, int, int, int]) -> bytes | None:
    """The bytes of ``path`` if it is still the file ``wanted`` (an ``identity``) names, else None."""
    fd = open_if_same(path, wanted)
    if fd is None:
        return None
    try:
        data = os.pread(fd, wanted[2] + 1, 0)  # a byte more than its size: a file grown since is not the one
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == wanted[2] else None


def _same_file(known: Chosen) -> bool:
    info = stat_or_none(known.path)
    return info is not None and identity(info) == known.identity


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
