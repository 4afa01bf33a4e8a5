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
import threading
import time
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger("heron.error")

EXIT_STARTUP_FAILED = 3
"""A worker's exit status when the app's startup hook failed: restarting it would fail again, so all stop."""

RESTART_DELAY = 1.0
"""Seconds to wait before restarting a child that died, so a crash loop cannot spin."""


ORPHAN_CHECK_INTERVAL = 1.0
"""Seconds between a worker's checks that its supervisor is still alive."""


def watch_parent(parent: int) -> None:
    """Drain this process if its supervisor ``parent`` dies without telling it (SIGKILL, OOM).

    Without this, orphaned workers (or a ``--reload`` server) would go on
    accepting on the shared socket with nobody to stop or restart them.
    Checks from a daemon thread; SIGTERM starts the same graceful drain as
    for a normal stop.
    """
    threading.Thread(target=_wait_for_orphaning, args=(parent,), name="heron-orphan-watch", daemon=True).start()


def _wait_for_orphaning(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_INTERVAL)
    logger.warning("process %d: supervisor %d is gone; shutting down", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)


def _spawn(target: Callable[[], None]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            watch_parent(parent)
            target()
            code = 0
        except SystemExit as exc:  # the target already said why, in one line
            code = exc.code if isinstance(exc.code, int) else 1
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
    startup_failed = False
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
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_STARTUP_FAILED and not startup_failed:
                startup_failed = True
                stop(signal.SIGTERM, None)
            if not stopping:
                logger.warning("worker %d exited (status %d); restarting it", pid, status)
                time.sleep(RESTART_DELAY)
                if not stopping:
                    children.add(_spawn(target))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if startup_failed:
        raise SystemExit(EXIT_STARTUP_FAILED)
