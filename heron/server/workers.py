"""Several processes serving one listening socket (server layer).

``--workers N`` forks N children after the socket is bound, so they all
accept from the same kernel queue. The parent only supervises: it forwards
SIGTERM/SIGINT to the children (each drains gracefully), restarts a child
that dies on its own, and exits when every child has exited.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger("heron.error")

RESTART_DELAY = 1.0
"""Seconds to wait before restarting a child that died, so a crash loop cannot spin."""


def _spawn(target: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            target()
            code = 0
        except BaseException:
            logger.exception("worker %d failed", os.getpid())
        finally:
            os._exit(code)
    return pid


def run_workers(count: int, target: Callable[[], None]) -> None:
    """Fork ``count`` processes running ``target`` and supervise them until stopped."""
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    children: set[int] = set()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(count):
            children.add(_spawn(target))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                logger.warning("worker %d exited (status %d); restarting it", pid, status)
                time.sleep(RESTART_DELAY)
                if not stopping:
                    children.add(_spawn(target))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
