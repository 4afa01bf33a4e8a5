"""The bounded thread pool that runs blocking handlers (server layer).

Plain ``def`` handlers (and, later, WSGI apps) must not run on the event
loop, where one slow call would stall every connection. They run here,
on at most ``threads`` threads. The queue in front of the threads is
bounded too: when ``threads + backlog`` calls are already in flight a new
call is refused with ``ServiceUnavailable`` (503 with Retry-After) instead
of waiting in a queue that only grows while the server is overloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from heron.errors import ServiceUnavailable

T = TypeVar("T")


class BoundedThreadPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor that refuses work past a fixed number in flight."""

    def __init__(self, threads: int, backlog: int) -> None:
        if threads < 1 or backlog < 0:
            raise ValueError("threads must be >= 1 and backlog >= 0")
        super().__init__(max_workers=threads, thread_name_prefix="heron-worker")
        self.capacity = threads + backlog
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._in_flight >= self.capacity:
                raise ServiceUnavailable("Server busy: all worker threads are in use")
            self._in_flight += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: object = None) -> None:
        with self._lock:
            self._in_flight -= 1
