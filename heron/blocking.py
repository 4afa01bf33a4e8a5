"""Running a blocking call off the event loop (used by the web and hosting layers).

``def`` handlers, WSGI apps and sync iterators of streaming bodies must
run in a thread. When a heron server drives the running loop it registers
its bounded thread pool here, and ``run_blocking`` uses the pool's fast
way in (``BoundedThreadPool.run``); anywhere else (a test client, an app
run by another server) it falls back to ``loop.run_in_executor``. The
registry lets the layers below the server use the server's pool without
importing the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

__all__ = ["Runner", "run_blocking", "set_runner"]


class Runner(Protocol):
    """What a server registers: ``BoundedThreadPool`` is one."""

    def run(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], /, *args: Any) -> asyncio.Future[T]: ...


_runners: dict[asyncio.AbstractEventLoop, Runner] = {}


def set_runner(loop: asyncio.AbstractEventLoop, runner: Runner | None) -> None:
    """Make ``runner`` run the blocking calls made on ``loop`` (None: back to the loop's default executor)."""
    if runner is None:
        _runners.pop(loop, None)
    else:
        _runners[loop] = runner


def run_blocking(fn: Callable[..., T], /, *args: Any) -> asyncio.Future[T]:
    """``await run_blocking(fn, *args)``: ``fn(*args)`` in a thread, its result (or exception) here.

    Raises ``ServiceUnavailable`` at once (no await needed) when the
    server's pool is full.
    """
    loop = asyncio.get_running_loop()
    runner = _runners.get(loop)
    if runner is None:
        return loop.run_in_executor(None, fn, *args)
    return runner.run(loop, fn, *args)
