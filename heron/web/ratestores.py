"""Where rate limits keep their counts: this process's memory, or a table every worker shares (web layer).

Both run ``heron.web.gcra.gcra`` for one key at a time, atomically, and
both are bounded: a flood of distinct keys (spoofed or not, an IPv6
client has billions of addresses) cannot grow them past ``max_keys``.

- ``MemoryStore``: a dict in least-recently-used order. Idle keys (whose
  buckets are full again, so forgetting them changes nothing) are dropped
  as new ones come; past ``max_keys`` the least recently seen goes even
  if it is not idle, and that client's count starts over.
- ``SharedStore``: for ``--workers N``, where a per-process count would
  let N times the limit through. A fixed-size hash table in a memory-
  mapped file, guarded by a POSIX record lock (``fcntl.lockf``), which
  the kernel releases if a worker dies holding it. Chosen over SQLite
  in WAL mode by measurement (bench/ratelimit.py, bench/LOG.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from heron.web.gcra import Decision, Rate, gcra

__all__ = ["MAX_RATES", "MemoryStore", "SharedStore", "shared_store"]

_SWEEP: Final = 2
"""Idle keys dropped (at most) per new key, so memory follows the active keys without a sweeping task."""


class MemoryStore:
    """The arrival times of up to ``max_keys`` keys, in this process."""

    def __init__(self, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self.max_keys = max_keys
        self._records: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        records = self._records
        with self._lock:
            record = records.get(key)
            new, decision = gcra(record, rates, now)
            if new is not None:
                records[key] = new
            if record is not None:
                records.move_to_end(key)
            else:
                self._make_room(now)
        return decision

    def _make_room(self, now: float) -> None:
        records = self._records
        for _ in range(_SWEEP):
            oldest = next(iter(records.values()))
            if max(oldest) > now:
                break
            records.popitem(last=False)
        while len(records) > self.max_keys:
            records.popitem(last=False)


MAX_RATES: Final = 4
"""Limits one key may carry in a ``SharedStore`` (its slots have room for this many arrival times)."""
_HEADER: Final = struct.Struct("<8s16sI")  # magic, hash key, slots
_SLOT: Final = struct.Struct(f"<Q{MAX_RATES}d")  # key hash (0: empty), arrival times
_MAGIC: Final = b"heronRL1"
_PROBE: Final = 8
"""Slots a key may occupy, from the one its hash names: a lookup reads at most this many."""


class SharedStore:
    """A table of ``slots`` keys in the file at ``path``, shared by every process that opens it.

    Without ``path``, an unnamed file in ``/dev/shm`` (or the temporary
    directory) made now: make the store before the server forks its
    workers (at import time of the app, as ``RateLimit(...)`` usually is)
    and every worker shares it. Keys are stored as 64-bit keyed hashes
    (BLAKE2b with a random key kept in the file), so a client cannot
    choose keys that collide. A key whose probe window is full takes the
    place of the neighbour idle the longest: the table never grows.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, slots: int = 65_536) -> None:
        if slots < _PROBE:
            raise ValueError(f"slots must be at least {_PROBE}")
        size = _HEADER.size + slots * _SLOT.size
        if path is None:
            self._fd = _unnamed_file()
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size == 0:
                os.ftruncate(self._fd, size)
                os.pwrite(self._fd, _HEADER.pack(_MAGIC, os.urandom(16), slots), 0)
            magic, self._hash_key, self.slots = _HEADER.unpack(os.pread(self._fd, _HEADER.size, 0))
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        if magic != _MAGIC or os.fstat(self._fd).st_size != _HEADER.size + self.slots * _SLOT.size:
            raise ValueError(f"{os.fspath(path or '')!r} is not a heron rate limit table")
        self._map = mmap.mmap(self._fd, 0)
        self._lock = threading.Lock()

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        if len(rates) > MAX_RATES:
            raise ValueError(f"a SharedStore keeps at most {MAX_RATES} limits per key")
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8, key=self._hash_key).digest(), "little")
        digest = digest or 1  # 0 marks an empty slot
        first = digest % self.slots
        table = self._map
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                slot, record = self._find(table, digest, first, now)
                new, decision = gcra(record[:len(rates)] if record else None, rates, now)
                if new is not None:
                    _SLOT.pack_into(table, _HEADER.size + slot * _SLOT.size, digest,
                                    *new, *(0.0,) * (MAX_RATES - len(new)))
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        return decision

    def _find(self, table: mmap.mmap, digest: int, first: int, now: float) -> tuple[int, tuple[float, ...] | None]:
        """The slot holding ``digest`` and its arrival times; else the slot to put it in, and None."""
        spare, spare_until = first, float("inf")
        for i in range(_PROBE):
            slot = (first + i) % self.slots
            held, *tats = _SLOT.unpack_from(table, _HEADER.size + slot * _SLOT.size)
            if held == digest:
                return slot, tuple(tats)
            busy_until = max(tats) if held else 0.0
            if busy_until <= now:
                busy_until = 0.0  # empty or idle: as good as free
            if busy_until < spare_until:
                spare, spare_until = slot, busy_until
        return spare, None

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def _unnamed_file() -> int:
    """A descriptor of a new file with no name, in memory (``/dev/shm``) where there is one."""
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryFile(dir=directory) as file:
        return os.dup(file.fileno())


_shared: SharedStore | None = None
_shared_lock = threading.Lock()


def shared_store() -> SharedStore:
    """The one ``SharedStore`` of this process (and of the workers forked after it was made)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedStore()
        return _shared
