"""Uploaded files of a multipart form, in memory or spooled to disk (messages layer).

An ``UploadFile`` is one file part of a ``multipart/form-data`` body
(RFC 7578 section 4.2), filled by ``heron.messages.forms`` as the body
arrives. Its content stays in memory up to ``upload_memory_bytes``, then
moves to an unnamed temporary file (``tempfile.TemporaryFile``: on Linux
and macOS it has no name from the start, so even a killed process leaves
nothing behind), so one upload costs about that much memory whatever its
size. The request closes every one when it ends (answered, failed or
abandoned by the client), which frees the disk space.

Disk work runs on a small pool of its own, never on the event loop and
never on the handlers' thread pool: a ``def`` handler blocked in
``request.read_form()`` holds one of those threads while its form is
written, so sharing them could leave the writes nothing to run on.
Pieces are gathered (as a list, not copied together) up to ``WRITE_SIZE``
and written in one call; one write may be in flight while the next pieces
are decoded.

The name a client sends is its own business and may be anything:
``raw_filename`` keeps it; ``filename`` is ``safe_filename`` of it, a
single path component fit for saving under a directory of your choice.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Final

__all__ = ["WRITE_SIZE", "UploadFile", "safe_filename"]

WRITE_SIZE: Final = 1024 * 1024
"""Bytes gathered before one write to the temporary file."""
_MAX_NAME_BYTES: Final = 255
"""The longest file name most file systems take (ext4, APFS, NTFS count 255 bytes or units)."""
_UNSAFE: Final = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
"""Control characters, and what Windows forbids in a name (``/`` and ``\\`` included)."""
_RESERVED: Final = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)
"""Windows device names, which open the device whatever the extension."""

_disk: ThreadPoolExecutor | None = None


def _disk_pool() -> ThreadPoolExecutor:
    global _disk
    if _disk is None:
        _disk = ThreadPoolExecutor(max_workers=2, thread_name_prefix="heron-upload")
    return _disk


def safe_filename(name: str) -> str:
    """``name`` made into one harmless path component: ``"../../etc/passwd"`` becomes ``"passwd"``.

    Keeps the last component after ``/`` or ``\\`` (browsers on Windows
    once sent whole paths), NFC-normalises it, drops control characters and
    those Windows forbids, leading dots (no hidden files, no ``..``) and
    trailing dots and spaces, prefixes Windows device names with ``_`` and
    cuts it to 255 UTF-8 bytes keeping the extension. Non-ASCII letters
    stay: ``"résumé.pdf"`` is a fine name. A name with nothing left becomes
    ``"upload"``; an empty name stays empty (a file input left empty).
    """
    if not name:
        return ""
    base = unicodedata.normalize("NFC", re.split(r"[/\\]", name)[-1])
    base = _UNSAFE.sub("", base).lstrip(". ").rstrip(". ")
    if _RESERVED.fullmatch(base):
        base = "_" + base
    if len(base.encode()) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = dot + ext if dot and len(ext.encode()) < 16 else ""
        stem = base[: len(base) - len(ext)] if ext else base
        room = _MAX_NAME_BYTES - len(ext.encode())
        base = stem.encode()[:room].decode("utf-8", "ignore") + ext
    return base or "upload"


class UploadFile:
    """A file sent in a multipart form: its names, type and content.

    ``await read()``, ``await seek()`` and ``await save(path)`` are the
    async forms (the names Starlette's ``UploadFile`` uses, so handlers
    move over unchanged); ``read_sync``, ``seek_sync`` and ``save_sync``
    do the same in ``def`` handlers. ``file`` is the underlying binary
    file object. The content is only valid while the request lasts: save
    what you want to keep.
    """

    __slots__ = ("name", "raw_filename", "filename", "content_type", "headers", "size", "file", "_memory_limit",
                 "_pending", "_pending_bytes", "_writing")

    def __init__(self, name: str, filename: str, content_type: str, headers: list[tuple[str, str]],
                 memory_limit: int) -> None:
        self.name = name
        """The form field's name."""
        self.raw_filename = filename
        """The file name exactly as the client sent it; never use it as a path."""
        self.filename = safe_filename(filename)
        """``raw_filename`` made safe to save under a directory (``safe_filename``)."""
        self.content_type = content_type
        """The part's Content-Type (``application/octet-stream`` when the client gave none)."""
        self.headers = headers
        """All of the part's header fields, as sent."""
        self.size = 0
        """Bytes of content."""
        self.file: IO[bytes] = io.BytesIO()
        """The content: a ``BytesIO`` while small, an unnamed temporary file once past ``upload_memory_bytes``."""
        self._memory_limit = memory_limit
        self._pending: list[bytes] | None = None  # None while in memory; pieces waiting for the next disk write
        self._pending_bytes = 0
        self._writing: asyncio.Future[None] | None = None

    @property
    def in_memory(self) -> bool:
        """Whether the content is still held in memory (not yet spooled to disk)."""
        return self._pending is None

    async def write(self, data: bytes) -> None:
        """Add ``data`` to the content (the form reader's call, as the part arrives)."""
        self.size += len(data)
        pending = self._pending
        if pending is None:
            self.file.write(data)
            if self.size > self._memory_limit:
                await self._spool()
            return
        pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= WRITE_SIZE:
            await self._flush()

    async def _spool(self) -> None:
        """Move the content from memory to a new temporary file."""
        memory = self.file
        assert isinstance(memory, io.BytesIO)
        self.file = await asyncio.get_running_loop().run_in_executor(
            _disk_pool(), tempfile.TemporaryFile, "w+b", -1, None, None, "heron-upload-")
        self._pending = [memory.getvalue()]
        memory.close()
        await self._flush()

    async def _flush(self) -> None:
        """Start writing what is pending, once the write before it is done (one in flight at a time)."""
        if self._writing is not None:
            await self._writing
        pieces, self._pending, self._pending_bytes = self._pending, [], 0
        assert pieces is not None
        self._writing = asyncio.get_running_loop().run_in_executor(_disk_pool(), self.file.writelines, pieces)

    async def finish(self) -> None:
        """The part is complete: write what is pending and rewind, so reading starts at the beginning."""
        if self._pending is not None:
            await self._flush()
            assert self._writing is not None
            await self._writing
        await self.seek(0)

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all that is left by default)."""
        if self.in_memory:
            return self.file.read(size)
        return await asyncio.get_running_loop().run_in_executor(_disk_pool(), self.file.read, size)

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the position, as ``file.seek``; the new position."""
        return self.file.seek(offset, whence)

    async def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole content to ``path`` (created or replaced), off the event loop."""
        await asyncio.get_running_loop().run_in_executor(_disk_pool(), self.save_sync, path)

    def read_sync(self, size: int = -1) -> bytes:
        """``read`` for ``def`` handlers."""
        return self.file.read(size)

    def seek_sync(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """``seek`` for ``def`` handlers."""
        return self.file.seek(offset, whence)

    def save_sync(self, path: str | os.PathLike[str]) -> None:
        """``save`` for ``def`` handlers: the whole content, whatever the current position."""
        self.file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(self.file, out, WRITE_SIZE)

    def close(self) -> None:
        """Drop the content (a temporary file is removed); the request calls it when it ends."""
        writing = self._writing
        if writing is not None and not writing.done():
            # The write finishes in its thread; its outcome no longer matters, and must not be logged as lost.
            writing.add_done_callback(lambda future: future.cancelled() or future.exception())
        self.file.close()

    def __repr__(self) -> str:
        return f"<UploadFile {self.name!r} filename={self.filename!r} {self.content_type} {self.size} bytes>"
