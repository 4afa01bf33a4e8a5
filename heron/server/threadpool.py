"""The bounded thread pool that runs blocking handlers (server layer).

Plain ``def`` handlers and WSGI apps must not run on the event loop, where
one slow call would stall every connection. They run here, on at most
``threads`` threads. The queue in front of the threads is bounded too:
when ``threads + backlog`` calls are already in flight a new call is
refused with ``ServiceUnavailable`` (503 with Retry-After) instead of
waiting in a queue that only grows while the server is overloaded.

It is the event loop's default executor (so
``loop.run_in_executor(None, ...)`` lands here), with a faster way in for
the calls heron makes on every request: ``run`` hands the result straight
to an asyncio future with one ``call_soon_threadsafe``, where
``run_in_executor`` goes through a ``concurrent.futures.Future`` (a lock
and a condition) chained to an asyncio one. On a WSGI app's plaintext
request that difference is most of the cost of the hop to the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

from heron.errors import ServiceUnavailable

T = TypeVar("T")

_Item = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any] | asyncio.Future[Any]"]


class BoundedThreadPool(ThreadPoolExecutor):
    """At most ``threads`` threads, and at most ``threads + backlog`` calls in flight.

    A ``ThreadPoolExecutor`` only because ``loop.set_default_executor``
    accepts nothing else: ``submit`` and ``shutdown`` are its own, and the
    base class's machinery is never started.
    """

    def __init__(self, threads: int, backlog: int) -> None:
        if threads < 1 or backlog < 0:
            raise ValueError("threads must be >= 1 and backlog >= 0")
        super().__init__(max_workers=threads, thread_name_prefix="heron-worker")
        self.capacity = threads + backlog
        self._max_threads = threads
        self._workers: list[threading.Thread] = []
        self._work: SimpleQueue[_Item | None] = SimpleQueue()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Calls queued or running."""
        return self._in_flight

    # -- ways in -------------------------------------------------------------------------

    def run(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], /, *args: Any) -> asyncio.Future[T]:
        """Call ``fn(*args)`` in a pool thread; its result (or exception) lands in the returned asyncio future."""
        future: asyncio.Future[T] = loop.create_future()
        self._enqueue((fn, args, future))
        return future

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """``Executor.submit``: what ``loop.run_in_executor`` and other library code use."""
        future: Future[T] = Future()
        self._enqueue(((lambda: fn(*args, **kwargs)) if kwargs else fn, args if not kwargs else (), future))
        return future

    def _enqueue(self, item: _Item) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            if self._in_flight >= self.capacity:
                raise ServiceUnavailable("Server busy: all worker threads are in use")
            self._in_flight += 1
            start = self._in_flight > len(self._workers) and len(self._workers) < self._max_threads
            if start:
                thread = threading.Thread(target=self._worker, name=f"heron-worker-{len(self._workers) + 1}",
                                          daemon=True)
                self._workers.append(thread)
        if start:
            thread.start()
        self._work.put(item)

    # -- in the threads ------------------------------------------------------------------------

    def _worker(self) -> None:
        while (item := self._work.get()) is not None:
            fn, args, target = item
            if isinstance(target, Future) and not target.set_running_or_notify_cancel():
                self._release()
                continue
            try:
                result, error = fn(*args), None
            except BaseException as exc:  # handed to the caller, as ThreadPoolExecutor does
                result, error = None, exc
            self._release()  # before the caller hears of it, so in_flight is already down then
            _deliver(target, result, error)
            del item, target, result, error  # no reference kept while the thread waits for the next call

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    # -- stopping --------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls; with ``cancel_futures``, drop those not started; threads end when idle."""
        with self._lock:
            self._closed = True
            threads = list(self._workers)
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except Empty:
                    break
                if item is not None:
                    self._release()
                    _cancel(item[2])
        for _ in threads:
            self._work.put(None)
        if wait:
            for thread in threads:
                thread.join()


def _deliver(target: Future[Any] | asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if isinstance(target, Future):
        if error is None:
            target.set_result(result)
        else:
            target.set_exception(error)
        return
    try:
        target.get_loop().call_soon_threadsafe(_settle, target, result, error)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _cancel(target: Future[Any] | asyncio.Future[Any]) -> None:
    if isinstance(target, Future):
        target.cancel()
        return
    try:
        target.get_loop().call_soon_threadsafe(target.cancel)
    except RuntimeError:
        pass
