"""Starting a server in one process and stopping it gracefully (server layer).

SIGTERM and SIGINT start a drain: stop accepting, let in-flight requests
finish (their responses say ``Connection: close``), close idle keep-alive
connections at once, and after ``shutdown_timeout`` close whatever is left.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
from collections.abc import Callable

from heron.config import ServerConfig
from heron.server.connection import Handler, HTTPConnection, ServerState
from heron.server.loops import loop_factory
from heron.server.threadpool import BoundedThreadPool

logger = logging.getLogger("heron.error")


class Server:
    """One process's server: accepts on a socket until told to stop."""

    def __init__(self, handler: Handler, config: ServerConfig, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.state = ServerState(handler, config.limits, scheme="https" if ssl_context else "http",
                                 access_log=config.access_log)
        self.ssl_context = ssl_context
        self._stop: asyncio.Event | None = None

    def stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler on the loop)."""
        if self._stop is not None:
            self._stop.set()

    async def serve(self, sock: socket.socket, ready: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        pool = BoundedThreadPool(self.config.threads, self.config.thread_backlog)
        loop.set_default_executor(pool)
        self._stop = asyncio.Event()
        state = self.state
        server = await loop.create_server(
            lambda: HTTPConnection(state), sock=sock, ssl=self.ssl_context, backlog=self.config.backlog,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                pass
        if ready is not None:
            ready()
        try:
            await self._stop.wait()
        finally:
            await self._drain(server)
            pool.shutdown(wait=False, cancel_futures=True)

    async def _drain(self, server: asyncio.base_events.Server) -> None:
        state = self.state
        state.shutting_down = True
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        deadline = asyncio.get_running_loop().time() + self.config.limits.shutdown_timeout
        while state.connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if state.connections:
            logger.warning("shutdown_timeout reached: closing %d connections", len(state.connections))
            for connection in list(state.connections):
                if connection.transport is not None:
                    connection.transport.abort()
        await asyncio.sleep(0)


def run_in_process(handler: Handler, config: ServerConfig, sock: socket.socket,
                   ssl_context: ssl.SSLContext | None = None) -> None:
    """Run a server on ``sock`` in this process until it is signalled to stop."""
    loop = loop_factory(config.loop)()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(Server(handler, config, ssl_context).serve(sock))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
