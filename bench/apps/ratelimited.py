"""A route limited to 100 requests per 10 s for all clients together, and counters to check it.

    python3 -m heron bench/apps/ratelimited.py:app --workers 2 --no-access-log         # shared_store()
    python3 -m heron bench/apps/ratelimited.py:app_memory --workers 2 --no-access-log  # MemoryStore()
    python3 -m heron bench/apps/ratelimited.py:app_sqlite --workers 2 --no-access-log  # bench's SQLite prototype
                                                           # (its file: $RATELIMIT_SQLITE_PATH)

bench/ratelimit.py hammers ``GET /limited`` with wrk and then reads ``GET /count``:
issue 18 wants ``--workers 2`` to admit what one process would (about 100 + 10 per
second with GCRA), never a multiple per worker. Counting on the server, not only from
wrk's totals, also counts the requests wrk had in flight when it stopped, and gives
per worker what it answered and when its first and last ``/limited`` requests came
(the span the limit was applied over).

The counters live in shared memory made at import, before ``--workers`` forks (as
the limits and their default store are): one slot per worker, claimed under a lock
on the worker's first request, then written only by that worker.
``/plaintext`` answers without a limit, for the harness's readiness probe.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from heron import App, Request, Response
from heron.web.ratelimit import RateLimit, everyone
from heron.web.ratestores import MemoryStore

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/, for the prototype
from ratelimit import SqliteStore  # noqa: E402  (bench/ratelimit.py: the SQLite-WAL store measured beside heron's)

LIMIT = "100/10s"
SLOTS = 16
"""Workers a counter table has room for."""
_FIELDS = 5  # pid, admitted, refused, first request (time.time()), last request


class Counters:
    """Per worker: requests to /limited admitted and refused, and the times of the first and last."""

    def __init__(self) -> None:
        self._array = multiprocessing.get_context("fork").Array("d", SLOTS * _FIELDS)  # shared, made before the fork
        self._raw = self._array.get_obj()
        self._slot: tuple[int, int] | None = None  # (pid, index) of this process's slot

    def _mine(self) -> int:
        pid = os.getpid()
        if self._slot is None or self._slot[0] != pid:
            with self._array.get_lock():
                raw = self._raw
                index = next(i for i in range(SLOTS) if raw[i * _FIELDS] in (0, pid))
                raw[index * _FIELDS] = pid
            self._slot = (pid, index)
        return self._slot[1] * _FIELDS

    def record(self, status: int) -> None:
        base, now, raw = self._mine(), time.time(), self._raw
        raw[base + (1 if status < 300 else 2)] += 1
        if not raw[base + 3]:
            raw[base + 3] = now
        raw[base + 4] = now

    def snapshot(self) -> list[dict[str, Any]]:
        raw = self._raw
        return [dict(pid=int(raw[i]), admitted=int(raw[i + 1]), refused=int(raw[i + 2]), first=raw[i + 3],
                     last=raw[i + 4]) for i in range(0, SLOTS * _FIELDS, _FIELDS) if raw[i]]


def make_app(store: Any = None) -> App:
    """The app, its limit kept in ``store`` (None: RateLimit's default, ``shared_store()``)."""
    app = App()
    counters = Counters()
    limit = RateLimit(LIMIT, key=everyone, store=store)

    def counting(next_handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            response: Response = await next_handler(request)
            if request.path == "/limited":
                counters.record(response.status)
            return response
        return handler

    app.add_middleware(counting)

    @app.get("/limited")
    @limit
    async def limited(request: Request) -> str:
        return "admitted"

    @app.get("/count")
    async def count(request: Request) -> dict[str, Any]:
        return {"workers": counters.snapshot(), "pid": os.getpid()}

    @app.get("/plaintext")
    async def plaintext(request: Request) -> str:
        return "Hello, World!"

    return app


app = make_app()
app_memory = make_app(MemoryStore())


def __getattr__(name: str) -> App:
    """``app_sqlite``, made when asked for: its file goes to $RATELIMIT_SQLITE_PATH (else a new temp dir)."""
    if name != "app_sqlite":
        raise AttributeError(name)
    path = os.environ.get("RATELIMIT_SQLITE_PATH") or os.path.join(tempfile.mkdtemp(prefix="heron-rl-"), "limits.db")
    made = globals()["app_sqlite"] = make_app(SqliteStore(path))
    return made
