"""``--reload``: restart the server when a watched ``.py`` file changes (server layer; development only).

The supervisor never imports the app, so a syntax error in the middle of
an edit cannot kill it. It binds the listening socket once and runs the
server as a child process (``python -m heron ... --fd N``) that inherits
the socket. Every ``POLL_INTERVAL`` it compares the modification times of
the ``.py`` files under the watched directories; on a change it stops the
child the normal way (SIGTERM: a graceful drain), waits for it, and starts
a new one. Connections made in between wait in the socket's queue instead
of being refused. A child that exits on its own (the app failed to
import) is reported, and started again at the next change.

Polling the file system with the standard library is enough for a person
saving a file, and needs neither inotify bindings nor a dependency.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType

from heron.server.workers import watch_parent

logger = logging.getLogger("heron.error")

POLL_INTERVAL = 0.5
"""Seconds between two scans of the watched files: quick enough for an edit-and-reload loop, cheap when idle."""

MAX_WATCHED_FILES = 10_000
"""Stop collecting ``.py`` files past this many (and say so): run from a home directory, a scan would never end."""

SKIPPED_DIRS = frozenset({"__pycache__", "site-packages", "node_modules"})
"""Directories never walked, besides hidden ones (``.git``, ``.venv``): installed or generated code, not yours."""

STOP_GRACE = 5.0
"""Seconds a stopped server gets beyond ``shutdown_timeout`` to exit before it is killed."""

SUPERVISOR_ENV = "HERON_RELOAD_SUPERVISOR"
"""Set in the server's environment to the supervisor's pid, so the server stops if the supervisor is killed."""

Snapshot = dict[str, tuple[int, int]]
"""Path of each watched file: its (modification time in ns, size)."""


def scan(roots: Sequence[Path]) -> tuple[Snapshot, bool]:
    """The ``.py`` files under ``roots`` (in a stable order) and whether ``MAX_WATCHED_FILES`` cut the list short."""
    files: Snapshot = {}
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                if len(files) >= MAX_WATCHED_FILES:
                    return files, True
                path = os.path.join(directory, name)
                try:
                    st = os.stat(path)
                except OSError:  # deleted (or a dangling link) between listing and stat
                    continue
                files[path] = (st.st_mtime_ns, st.st_size)
    return files, False


def first_change(before: Snapshot, after: Snapshot) -> str | None:
    """A file that was added, removed or modified between two scans, if any."""
    for path in after.keys() | before.keys():
        if before.get(path) != after.get(path):
            return path
    return None


def outermost(directories: Iterable[str]) -> list[Path]:
    """The directories, minus those inside another one of them: each file is watched once."""
    paths = sorted({Path(d).resolve() for d in directories})
    return [p for p in paths if not any(p != q and p.is_relative_to(q) for q in paths)]


def watch_supervisor() -> None:
    """In a server started by the supervisor: shut down if the supervisor dies without stopping it."""
    if os.environ.get(SUPERVISOR_ENV) == str(os.getppid()):
        watch_parent(os.getppid())


class Reloader:
    """Runs ``command`` (a server given ``sock`` by ``--fd``) and restarts it when a file under ``roots`` changes."""

    def __init__(self, command: Sequence[str], sock: socket.socket, roots: Sequence[Path],
                 stop_timeout: float) -> None:
        self.command = list(command)
        self.sock = sock
        self.roots = roots
        self.stop_timeout = stop_timeout
        self._stopping = False
        self._exit_reported = False

    def run(self) -> None:
        """Supervise until SIGINT or SIGTERM, then stop the server and return."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            snapshot = self._scan(announce=True)
            child = self._start()
            try:
                while not self._stopping:
                    time.sleep(POLL_INTERVAL)
                    self._report_exit(child)
                    latest = self._scan()
                    changed = first_change(snapshot, latest)
                    snapshot = latest
                    if changed is not None and not self._stopping:
                        logger.info("reload: %s changed; restarting the server", changed)
                        self._stop(child)
                        child = self._start()
            finally:
                self._stop(child)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _scan(self, announce: bool = False) -> Snapshot:
        files, truncated = scan(self.roots)
        if announce:
            logger.info("reload: watching %d .py files under %s", len(files), ", ".join(map(str, self.roots)))
            if truncated:
                logger.warning("reload: more than %d .py files; changes to the others go unnoticed:"
                               " start heron from your project's directory", MAX_WATCHED_FILES)
        return files

    def _start(self) -> subprocess.Popen[bytes]:
        self._exit_reported = False
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
        return subprocess.Popen(self.command, pass_fds=(self.sock.fileno(),), env=env)

    def _report_exit(self, child: subprocess.Popen[bytes]) -> None:
        """Say once that the server exited on its own (it printed why), and that a change will start it again."""
        code = child.poll()
        if code is not None and not self._exit_reported and not self._stopping:
            self._exit_reported = True
            logger.warning("reload: the server exited with status %d; waiting for a file to change", code)

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        """SIGTERM (a graceful drain) and wait; SIGKILL if it outlives the drain's deadline."""
        if child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(self.stop_timeout + STOP_GRACE)
        except subprocess.TimeoutExpired:
            logger.warning("reload: the server did not stop in time; killing it")
            child.kill()
            child.wait()
