"""Listening sockets: TCP, Unix domain, or inherited (server layer).

The socket is bound before any worker process is forked, so every worker
accepts from the same queue and a port number of 0 means one port for all.
The same holds across ``--reload`` restarts: the supervisor binds once and
each new server process inherits the socket (``--fd``), so connections made
during a restart wait in the kernel's queue instead of being refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import Callable, Iterator

from heron.server.config import ServerConfig

UNIX_SOCKET_MODE = 0o660
"""Who may connect to a ``--uds`` socket (connecting needs write permission): its owner and group.

A reverse proxy running as another user gets access by joining the
server's group; the directory the socket is in must be searchable too.
Wider (0o666, uvicorn's choice) would let every local user past a proxy
that may be the only thing enforcing access rules.
"""

STALE_PROBE_TIMEOUT = 1.0
"""Seconds to wait when connecting to an existing socket file to learn whether a server still answers there."""


@contextlib.contextmanager
def listening(config: ServerConfig) -> Iterator[socket.socket]:
    """The listening socket ``config`` asks for, closed when the block ends.

    A Unix socket's file is removed then too, unless it is no longer the
    one bound here (another server has replaced it). An inherited socket
    belongs to whoever passed it: its file is left alone.
    """
    unix_path, unix_file = None, None
    if config.fd is not None:
        sock = inherit(config.fd, config.backlog)
    elif config.uds is not None:
        sock = bind_unix(config.uds, config.backlog)
        unix_path, unix_file = config.uds, _file_identity(config.uds)
    else:
        sock = bind_tcp(config.host, config.port, config.backlog)
    try:
        yield sock
    finally:
        sock.close()
        if unix_path is not None and unix_file is not None and _file_identity(unix_path) == unix_file:
            os.unlink(unix_path)


def where(config: ServerConfig) -> str:
    """What ``config`` listens on, for an error message: ``unix:PATH``, ``fd 3`` or ``HOST:PORT``."""
    if config.fd is not None:
        return f"fd {config.fd}"
    if config.uds is not None:
        return f"unix:{config.uds}"
    return f"{config.host}:{config.port}"


def bind_tcp(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port`` (IPv4 or IPv6)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def bind(sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))

    return _listening(socket.socket(family, socket.SOCK_STREAM), bind, backlog)


def bind_unix(path: str, backlog: int = 2048) -> socket.socket:
    """A listening, non-blocking Unix domain socket at ``path``, mode ``UNIX_SOCKET_MODE``.

    A socket file left behind by a server that died is replaced; anything
    else at ``path`` (a regular file, a live server's socket) is refused
    rather than deleted.
    """
    _remove_stale_socket(path)

    def bind(sock: socket.socket) -> None:
        sock.bind(path)
        os.chmod(path, UNIX_SOCKET_MODE)

    return _listening(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), bind, backlog)


def _listening(sock: socket.socket, bind: Callable[[socket.socket], None], backlog: int) -> socket.socket:
    """``sock`` bound by ``bind``, listening and non-blocking; closed again if any step fails."""
    try:
        bind(sock)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def inherit(fd: int, backlog: int = 2048) -> socket.socket:
    """The already bound socket on file descriptor ``fd`` (from systemd, a supervisor, ``--reload``), listening.

    ``listen`` is called again so a socket handed over bound but not yet
    listening works too (on a listening socket it only sets the backlog).
    A socket that is not bound is refused: listening on it would pick a
    random port nobody knows.
    """
    sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
    try:
        if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            raise OSError(errno.EINVAL, "not a TCP or Unix stream socket")
        name = sock.getsockname()
        if not name or (isinstance(name, tuple) and name[1] == 0):
            raise OSError(errno.EINVAL, "the socket is not bound to an address")
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.detach()  # the descriptor is the caller's: report, do not close it
        raise
    return sock


def describe_address(sock: socket.socket, scheme: str) -> str:
    """``http://127.0.0.1:8080`` for a bound TCP socket, ``unix:/run/app.sock`` for a Unix one."""
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        if isinstance(name, bytes):  # Linux's abstract namespace: a leading NUL, shown as @
            name = "@" + name[1:].decode("utf-8", "backslashreplace")
        return f"unix:{name}"
    host, port = name[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _remove_stale_socket(path: str) -> None:
    """Delete a socket file at ``path`` that no server answers on; refuse anything else there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "the path exists and is not a socket (not removed)")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(STALE_PROBE_TIMEOUT)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    except OSError as exc:
        raise OSError(errno.EADDRINUSE, f"a socket is there and probing it failed: {exc.strerror or exc}") from exc
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "another server is listening on it")


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of ``path``, to tell the socket file bound here from one that replaced it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino
