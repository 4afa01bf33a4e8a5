"""What every connection of one listening server shares (server layer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from heron.limits import Limits
from heron.messages.contracts import Handler
from heron.server.accesslog import AccessLog
from heron.server.clock import http_date_clock
from heron.server.phases import GUARDS
from heron.server.proxy import TrustedProxies

if TYPE_CHECKING:
    from heron.server.connection import HTTPConnection

__all__ = ["ServerState"]

_READ_BUFFER: Final = 64 * 1024
"""Bytes one read may take; see ``ServerState.read_buffer``."""


class ServerState:
    """What every connection of one listening server shares."""

    def __init__(
        self,
        handler: Handler,
        limits: Limits,
        *,
        scheme: str = "http",
        access_log: bool = True,
        access_log_format: str = "combined",
        proxies: TrustedProxies | None = None,
        root_path: str = "",
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.scheme = scheme
        self.dates = http_date_clock()
        self.access_log = AccessLog(access_log_format) if access_log else None
        self.proxies = proxies
        """Whose Forwarded / X-Forwarded-* headers to believe; None: --proxy-headers is off."""
        self.root_path = root_path
        """The prefix a proxy strips (normalized: "" or "/prefix"), put back in front of each path."""
        self.connections: set[HTTPConnection] = set()
        self.shutting_down = False
        self.timeouts = {phase: getattr(limits, guard.limit) if guard.limit and guard.from_entry else None
                         for phase, guard in GUARDS.items()}
        """Seconds each phase may last from its start, from ``GUARDS`` (None: not timed from its start;
        the body waits of HANDLING and DRAINING are armed by ``HTTPConnection._await_body``)."""
        self.read_buffer = memoryview(bytearray(_READ_BUFFER))
        """Where every connection's socket reads land, copied out at once (``buffer_updated``).

        One buffer serves all connections because the loop reads one socket
        at a time and hands the bytes over before the next read. Reading
        with ``recv`` instead makes a new 256 KiB bytes object per read and
        shrinks it: glibc serves that size with mmap, so each request paid
        an mmap, a page fault, an mremap and a munmap. 64 KiB keeps the
        copy made per read under glibc's mmap threshold.
        """
