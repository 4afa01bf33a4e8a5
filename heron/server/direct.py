"""Sends that go past asyncio's transport, straight to the kernel (server layer).

For most responses the transport's ``write`` is all there is. Two kinds
go better around it, on plain TCP or a Unix socket (never TLS, which
encrypts in user space):

- a large in-memory body goes out behind its head in one gather write
  (``sendmsg``) instead of being copied behind it (``GATHER_MIN``);
- a file goes out with ``sendfile(2)``, zero-copy from the page cache, its
  head first with ``MSG_MORE`` so the kernel holds it for the file's first
  bytes, and the connection corked (``TCP_CORK``) while it must wait for room.

Both only while the transport holds no bytes of its own (those must go
first); what the socket does not take goes through the transport, which
then waits for room with the usual back-pressure. ``DirectSender`` is one
connection's; it reaches the connection only through ``Writer``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import IO, Final, Protocol, cast

from heron.blocking import run_blocking
from heron.errors import ClientDisconnected
from heron.messages.fileresponse import FileResponse, SendableFile

__all__ = ["GATHER_MIN", "DirectSender", "Gathering", "Writer", "write_behind"]

GATHER_MIN: Final = 16 * 1024
"""In-memory bodies this long go out behind their head in one gather write: on loopback the copy
behind the head costs more than the gather from 16 KiB up (bench/LOG.md)."""
SENDFILE_SEGMENT: Final = 256 * 1024
"""Bytes per ``loop.sendfile`` call once the socket is full; each must leave within ``write_timeout``."""
_CAN_CORK: Final = hasattr(socket, "TCP_CORK")  # Linux
_SOCK_NONBLOCK: Final = getattr(socket, "SOCK_NONBLOCK", 0)  # Linux
_MSG_MORE: Final = getattr(socket, "MSG_MORE", 0)  # Linux: "more follows", hold the bytes for the next send


class Writer(Protocol):
    """What ``DirectSender`` needs from its connection."""

    transport: asyncio.Transport | None

    @property
    def gone(self) -> bool:
        """No byte can go out any more."""
        ...

    def write(self, data: bytes) -> None:
        """Write through the transport (nothing once ``gone``)."""
        ...

    async def writable(self) -> None:
        """Return once the transport has room again (at once if it has)."""
        ...

    def on_write_timeout(self) -> None:
        """The client did not read within ``write_timeout``: drop it."""
        ...


class Gathering(Writer, Protocol):
    """A connection that can make its ``DirectSender``."""

    def sender(self) -> DirectSender:
        """The connection's ``DirectSender``, made on first use."""
        ...


def write_behind(conn: Gathering, head: bytes, body: bytes) -> None:
    """``head``, then ``body``: from ``GATHER_MIN`` bytes in one gather write rather than copied
    behind the head (a response's head and body, a WebSocket frame's header and payload)."""
    if len(body) < GATHER_MIN or not conn.sender().send([head, body]):
        conn.write(head + body)


class DirectSender:
    """One connection's sends around its transport: gather writes and sendfile."""

    __slots__ = ("_owner", "_loop", "_write_timeout", "_socket", "_borrowed", "_tcp", "_corked")

    def __init__(self, owner: Writer, loop: asyncio.AbstractEventLoop, write_timeout: float) -> None:
        self._owner = owner
        self._loop = loop
        self._write_timeout = write_timeout
        transport = owner.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if transport.get_extra_info("sslcontext") is not None:
            sock = None  # TLS encrypts in user space: nothing to hand the kernel
        self._socket: socket.socket | None = sock
        self._borrowed = _borrow_socket(sock) if sock is not None else None
        self._tcp = sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6)
        self._corked = False

    @property
    def plain(self) -> bool:
        """Bytes can go to this socket straight from the kernel (not TLS)."""
        return self._socket is not None

    def close(self) -> None:
        """The connection is lost: let go of the borrowed socket object (the descriptor is the transport's)."""
        if self._borrowed is not None:
            self._borrowed.detach()
            self._borrowed = None

    def send(self, parts: list[bytes]) -> bool:
        """Send ``parts`` in order, with one gather write and what the socket does not take through the
        transport; False (nothing sent) where the socket cannot be written to directly, for the caller
        to write them through the transport (over TLS, as one buffer: one record, not two)."""
        taken = self._send_now(parts)
        if taken is None:
            return False
        self._write_unsent(parts, taken)
        return True

    def _send_now(self, parts: list[bytes], flags: int = 0) -> int | None:
        """Send ``parts`` with one gather ``sendmsg`` on the socket itself: the bytes it took.

        None where that cannot be done: TLS, no socket of our own, or bytes
        already waiting in the transport, which must go first. 0 when the
        socket is full or the send failed; the caller writes what was not
        taken through the transport (``_write_unsent``), which then waits
        for room, or finds the error, as it does for any write.
        """
        borrowed, transport = self._borrowed, self._owner.transport
        if borrowed is None or transport is None or transport.get_write_buffer_size() or self._owner.gone:
            return None
        try:
            return borrowed.sendmsg(parts, (), flags)
        except OSError:  # BlockingIOError, or the client is gone: the transport's write will tell
            return 0

    def _write_unsent(self, parts: list[bytes], taken: int | None) -> None:
        """Write through the transport what ``_send_now`` did not take of ``parts`` (all for None)."""
        skip = taken or 0
        for part in parts:
            if skip >= len(part):
                skip -= len(part)
                continue
            self._owner.write(part[skip:] if skip else part)
            skip = 0

    async def send_file(self, head: bytes, response: FileResponse, file: SendableFile) -> int:
        """Send ``head``, then the region of the open ``file`` with ``sendfile(2)``; the body bytes sent.

        While the transport holds no bytes of its own, the file goes
        straight to the socket with ``os.sendfile``, which takes a small
        file whole without a turn of the loop. Once the socket is full, the
        connection is corked and a segment waits for it through
        ``loop.sendfile``; sendfile bypasses the transport's buffer, so
        ``pause_writing`` never fires, and instead each segment must leave
        within ``write_timeout`` or the client is too slow and is dropped.
        asyncio's own fallback is not used: it swaps the protocol out for
        the transfer, bypassing heron's back-pressure.
        """
        owner, sock = self._owner, self._socket
        transport = owner.transport
        assert transport is not None and sock is not None
        # An empty file sends nothing after the head to release it: no MSG_MORE then.
        taken = self._send_now([head], _MSG_MORE) if self._tcp and _MSG_MORE and response.length else None
        if taken is None or taken < len(head):
            self._cork(True)  # the head must not go out alone: held until the file follows
            self._write_unsent([head], taken)
        try:
            fd = sock.fileno()
            sent = 0
            while sent < response.length:
                if owner.gone:
                    raise ClientDisconnected("client closed the connection")
                offset, count = response.offset + sent, response.length - sent
                n = 0
                if not transport.get_write_buffer_size():
                    n = _sendfile_now(fd, file, offset, count)
                if not n:
                    self._cork(True)
                    n = await self._sendfile_when_writable(file, offset, min(SENDFILE_SEGMENT, count))
                if n == 0:
                    raise OSError(f"{response.path}: file shorter than the {response.length} bytes promised")
                sent += n
            return sent
        finally:
            self._cork(False)

    async def _sendfile_when_writable(self, file: SendableFile, offset: int, count: int) -> int:
        """Up to ``count`` bytes of ``file`` once the socket takes them, within ``write_timeout``.

        Loops without ``loop.sendfile`` (uvloop) read the piece in the
        thread pool and write it through the transport instead.
        """
        owner = self._owner
        transport = owner.transport
        assert transport is not None
        try:
            # loop.sendfile asks for a file object; its native path uses only the descriptor.
            sending = self._loop.sendfile(transport, cast(IO[bytes], file), offset, count, fallback=False)
            return await asyncio.wait_for(sending, self._write_timeout)
        except (NotImplementedError, RuntimeError):  # incl. asyncio.SendfileNotAvailableError
            pass
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            owner.on_write_timeout()
            raise ClientDisconnected("client did not read the file within write_timeout") from None
        except ConnectionError as exc:
            raise ClientDisconnected("client closed the connection") from exc
        data = await run_blocking(os.pread, file.fileno(), count, offset)
        owner.write(data)
        await owner.writable()
        return len(data)

    def _cork(self, on: bool) -> None:
        """Turn TCP_CORK on or off, so a file response goes out in full packets.

        Corked while the socket is full: with TCP_NODELAY (asyncio's
        default) each bit of room the client's ACKs open would otherwise
        be filled with a small packet, more packets and ACKs for both
        kernels. Not corked while the socket takes the file at once: the
        head went with MSG_MORE, and sendfile pushes the last piece itself
        (asyncio and uvloop set TCP_NODELAY on every TCP connection), so
        the two setsockopt calls would buy nothing; worse, on loopback the
        uncork would send the whole file from heron's own system call,
        where without it the kernel goes on sending as the client reads
        (bench/LOG.md, 1 MiB files). Only on TCP.
        """
        sock = self._socket
        if on == self._corked or not _CAN_CORK or not self._tcp or sock is None:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, on)
        except OSError:  # the connection is already gone
            return
        self._corked = on


class _BorrowedSocket(socket.socket):
    """A socket object on the transport's own descriptor, for the sends its socket does not
    offer (``sendmsg`` with flags): it never closes that descriptor.

    Released (detached) when the connection is lost, and by garbage
    collection if it ever were not: closing it would close a descriptor
    number the transport owns, which may by then be another connection's.
    """

    __slots__ = ()

    def __del__(self) -> None:
        self.detach()


def _borrow_socket(sock: socket.socket) -> _BorrowedSocket | None:
    """A non-blocking ``_BorrowedSocket`` on ``sock``'s descriptor; None if it cannot be made.

    Non-blocking by its type flag where there is one, which costs no
    system call (the descriptor is non-blocking already); a process-wide
    default timeout (``socket.setdefaulttimeout``) would otherwise make
    its sends wait.
    """
    try:
        borrowed = _BorrowedSocket(sock.family, sock.type | _SOCK_NONBLOCK, sock.proto, fileno=sock.fileno())
    except (OSError, ValueError):  # ValueError: a descriptor already closed reads as -1
        return None
    if not _SOCK_NONBLOCK:
        borrowed.settimeout(0)
    return borrowed


def _sendfile_now(fd: int, file: SendableFile, offset: int, count: int) -> int:
    """``os.sendfile`` on a non-blocking socket: the bytes it took now.

    0 when the socket is full, and also when the file ended early: the
    caller then takes the waiting way, whose 0 means the file has ended.
    """
    try:
        return os.sendfile(fd, file.fileno(), offset, count)
    except BlockingIOError:
        return 0
    except ConnectionError as exc:  # BrokenPipeError and ConnectionResetError included
        raise ClientDisconnected("client closed the connection") from exc
