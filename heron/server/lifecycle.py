"""Starting a server in one process and stopping it gracefully (server layer).

SIGTERM and SIGINT start a drain: stop accepting, let in-flight requests
finish (their responses say ``Connection: close``), close idle keep-alive
connections at once, and after ``shutdown_timeout`` close whatever is left
(cancelling its handler; a blocking handler's thread is abandoned).

The app is a ``Servable``: its ``startup`` is awaited before the first
connection is accepted, and its ``shutdown`` after the drain; a failing
startup raises ``StartupFailed`` out of ``serve``, and the command line
turns it into one line and exit status 3.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable
from typing import NoReturn

from heron.blocking import set_runner
from heron.errors import StartupFailed
from heron.messages.contracts import Servable
from heron.server.config import ServerConfig
from heron.server.connection import HTTPConnection
from heron.server.loops import loop_factory
from heron.server.proxy import normalize_root_path, parse_trusted_proxies
from heron.server.state import ServerState
from heron.server.threadpool import BoundedThreadPool

logger = logging.getLogger("heron.error")


class Server:
    """One process's server: accepts on a socket until told to stop."""

    def __init__(self, app: Servable, config: ServerConfig, ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        """Its startup is awaited before the first connection is accepted (if it raises, serve() raises
        StartupFailed); its shutdown once the drain is over, if startup succeeded (errors are logged)."""
        self.config = config
        self.state = ServerState(
            app.handle, config.limits, scheme="https" if ssl_context else "http",
            access_log=config.access_log, access_log_format=config.access_log_format,
            proxies=parse_trusted_proxies(config.forwarded_allow_ips) if config.proxy_headers else None,
            root_path=normalize_root_path(config.root_path),
        )
        self.ssl_context = ssl_context
        self._stop: asyncio.Event | None = None
        self.busy_threads = 0
        """Blocking handlers still running when serve() returned (past shutdown_timeout)."""

    def stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler on the loop)."""
        if self._stop is not None:
            self._stop.set()

    async def serve(self, sock: socket.socket, ready: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        # Signals are caught from here on, so a SIGTERM during startup hooks
        # still leads to a drain and the shutdown hooks, not a sudden death.
        caught: list[int] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self.stop)
                caught.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (uvloop: ValueError), or no signals here
                pass
        try:
            await self._serve(loop, sock, ready)
        finally:
            _ignore_signals(loop, caught)

    async def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                     ready: Callable[[], None] | None) -> None:
        pool = BoundedThreadPool(self.config.threads, self.config.thread_backlog)
        loop.set_default_executor(pool)
        set_runner(loop, pool)  # def handlers and WSGI apps take the pool's fast way in
        try:
            await self._serve_with(loop, sock, ready, pool)
        finally:
            set_runner(loop, None)
            pool.shutdown(wait=False, cancel_futures=True)
            self.busy_threads = pool.in_flight

    async def _serve_with(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                          ready: Callable[[], None] | None, pool: BoundedThreadPool) -> None:
        self._stop = asyncio.Event()
        try:
            await self.app.startup()
        except Exception as exc:
            if isinstance(exc, StartupFailed):
                raise
            raise StartupFailed(f"{type(exc).__name__}: {exc}") from exc
        state = self.state
        server = await loop.create_server(
            lambda: HTTPConnection(state, loop), sock=sock, backlog=self.config.backlog,
            ssl=self.ssl_context, ssl_handshake_timeout=self._handshake_timeout(),
        )
        if ready is not None:
            ready()
        try:
            await self._stop.wait()
        finally:
            await self._drain(server, pool)
            try:
                await self.app.shutdown()
            except Exception:
                logger.exception("shutdown hook failed")

    def _handshake_timeout(self) -> float | None:
        """The TLS handshake is bounded by header_timeout (None: plain TCP, no handshake).

        A connection is only handed to ``HTTPConnection`` (and its timers and
        ``max_connections``) once the handshake is done, so a client that
        connects and never finishes it would otherwise hold a socket for
        asyncio's default of 60 seconds: a slowloris one layer down.
        """
        return self.config.limits.header_timeout if self.ssl_context is not None else None

    async def _drain(self, server: asyncio.base_events.Server, pool: BoundedThreadPool) -> None:
        """Stop accepting, close idle connections, wait for the rest (and for blocking handlers) until the deadline."""
        state = self.state
        state.shutting_down = True
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        deadline = asyncio.get_running_loop().time() + self.config.limits.shutdown_timeout
        while (state.connections or pool.in_flight) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if state.connections:
            logger.warning("shutdown_timeout reached: closing %d connections", len(state.connections))
            for connection in list(state.connections):
                if connection.transport is not None:
                    connection.transport.abort()
        await asyncio.sleep(0)


def _ignore_signals(loop: asyncio.AbstractEventLoop, caught: list[int]) -> None:
    """Once serving is over, further SIGTERM/SIGINT are ignored: the process is already stopping.

    The loop's handlers must go before the loop closes: closing it first
    closes the pipe its handlers write to, and a signal arriving then (a
    supervisor stopping every worker at once) prints a traceback nobody
    can act on.
    """
    for signum in caught:
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)


async def _cancel_leftover_tasks(grace: float = 1.0) -> None:
    """Cancel what still runs on the loop once serving is over, and let it unwind.

    That is handlers cut off by shutdown_timeout (or whose client left) and
    TLS handshakes in progress. Left pending, each would be destroyed with
    the loop and reported as "Task was destroyed but it is pending!", a
    warning nobody can act on. ``grace`` bounds a handler that ignores the
    cancellation.
    """
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)


def run_in_process(app: Servable, config: ServerConfig, sock: socket.socket,
                   ssl_context: ssl.SSLContext | None = None) -> None:
    """Run a server on ``sock`` in this process until it is signalled to stop.

    If blocking handlers are still running once the drain is over (they
    outlived ``shutdown_timeout``), the process exits without them.
    """
    loop = loop_factory(config.loop)()
    asyncio.set_event_loop(loop)
    server = Server(app, config, ssl_context)
    try:
        loop.run_until_complete(server.serve(sock))
    finally:
        loop.run_until_complete(_cancel_leftover_tasks())
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
    if server.busy_threads:
        _exit_without_threads(server.busy_threads)


def _exit_without_threads(busy: int) -> NoReturn:
    """End the process now, abandoning pool threads stuck in blocking handlers.

    A thread cannot be interrupted, and Python joins thread-pool threads at
    exit, so a handler blocked in ``time.sleep`` or a slow query would hold
    the process past the deadline ``shutdown_timeout`` promises.
    """
    logger.warning("%d blocking handler%s still running after shutdown_timeout: exiting without waiting",
                   busy, "" if busy == 1 else "s")
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken: nothing more can be said
            pass
    os._exit(0)
