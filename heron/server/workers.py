"""Several processes serving one listening socket (server layer).

``--workers N`` forks N children after the socket is bound, so they all
accept from the same kernel queue. The parent only supervises: it forwards
SIGTERM/SIGINT to the children (each drains gracefully), restarts a child
that dies on its own, and returns when every child has exited. A child
whose app failed to start tells the parent why through a pipe; the parent
then stops the others and raises ``StartupFailed`` with that message, as
one process would.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from heron.errors import StartupFailed

logger = logging.getLogger("heron.error")

EXIT_STARTUP_FAILED = 3
"""A worker's exit status when the app's startup hook failed: restarting it would fail again, so all stop."""

_MAX_REPORT = 4096
"""Bytes of a child's startup failure message passed to the parent (one line is expected)."""

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


def _spawn(target: Callable[[], None], reports: dict[int, int]) -> int:
    """Fork a child running ``target``; the read end of its report pipe goes in ``reports``."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            watch_parent(parent)
            target()
            code = 0
        except StartupFailed as exc:
            os.write(write_end, str(exc).encode("utf-8", "replace")[:_MAX_REPORT])
            code = EXIT_STARTUP_FAILED
        except SystemExit as exc:  # the app's own sys.exit()
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            logger.exception("worker %d failed", os.getpid())
        finally:
            os._exit(code)
    os.close(write_end)
    reports[pid] = read_end
    return pid


def _report(reports: dict[int, int], pid: int) -> str:
    """What child ``pid`` said before it exited ("" if nothing); its pipe is closed."""
    fd = reports.pop(pid)
    try:
        return os.read(fd, _MAX_REPORT).decode("utf-8", "replace")
    finally:
        os.close(fd)


def run_workers(count: int, target: Callable[[], None]) -> None:
    """Fork ``count`` processes running ``target`` and supervise them until stopped.

    Raises ``StartupFailed`` (with the first failing child's message) once
    every child has exited, if one of them could not start its app.
    """
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
    reports: dict[int, int] = {}
    failure: str | None = None
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(count):
            children.add(_spawn(target, reports))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            said = _report(reports, pid)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_STARTUP_FAILED and failure is None:
                failure = said or "a worker's startup failed"
                stop(signal.SIGTERM, None)
            if not stopping:
                logger.warning("worker %d exited (status %d); restarting it", pid, status)
                time.sleep(RESTART_DELAY)
                if not stopping:
                    children.add(_spawn(target, reports))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for fd in reports.values():
            os.close(fd)
    if failure is not None:
        raise StartupFailed(failure)
