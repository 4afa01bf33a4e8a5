"""The bounded thread pool refuses work instead of queueing without bound."""

from __future__ import annotations

import asyncio
import threading

import pytest

from heron.blocking import run_blocking, set_runner
from heron.errors import ServiceUnavailable
from heron.server.threadpool import BoundedThreadPool


def test_pool_refuses_past_threads_plus_backlog_with_503() -> None:
    pool = BoundedThreadPool(threads=1, backlog=1)
    release = threading.Event()
    try:
        running = pool.submit(release.wait, 10)
        queued = pool.submit(lambda: "queued")
        with pytest.raises(ServiceUnavailable) as info:
            pool.submit(lambda: "refused")
        assert info.value.status == 503
        assert ("Retry-After", "1") in info.value.headers
        release.set()
        assert running.result(10) is True
        assert queued.result(10) == "queued"
    finally:
        release.set()
        pool.shutdown(wait=True)


def test_capacity_is_released_when_work_finishes() -> None:
    pool = BoundedThreadPool(threads=1, backlog=0)
    try:
        for i in range(5):
            assert pool.submit(lambda i=i: i * 2).result(10) == i * 2
        assert pool.in_flight == 0
    finally:
        pool.shutdown(wait=True)


def test_capacity_is_released_when_work_raises() -> None:
    pool = BoundedThreadPool(threads=1, backlog=0)
    try:
        future = pool.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            future.result(10)
        assert pool.submit(lambda: "again").result(10) == "again"
    finally:
        pool.shutdown(wait=True)


@pytest.mark.parametrize("threads,backlog", [(0, 1), (1, -1)])
def test_bad_sizes_are_refused(threads: int, backlog: int) -> None:
    with pytest.raises(ValueError):
        BoundedThreadPool(threads, backlog)


def test_run_hands_the_result_or_the_error_to_an_asyncio_future() -> None:
    pool = BoundedThreadPool(threads=2, backlog=0)

    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        name = await pool.run(loop, lambda: threading.current_thread().name)
        with pytest.raises(ZeroDivisionError):
            await pool.run(loop, lambda: 1 / 0)
        return name, threading.current_thread().name

    try:
        worker, caller = asyncio.run(main())
        assert worker.startswith("heron-worker") and worker != caller
        assert pool.in_flight == 0
    finally:
        pool.shutdown(wait=True)


def test_run_refuses_at_once_when_full() -> None:
    pool = BoundedThreadPool(threads=1, backlog=0)
    release = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        busy = pool.run(loop, release.wait, 10)
        with pytest.raises(ServiceUnavailable):
            pool.run(loop, lambda: "refused")
        release.set()
        assert await busy is True

    try:
        asyncio.run(main())
    finally:
        release.set()
        pool.shutdown(wait=True)


def test_shutdown_cancels_what_has_not_started_and_refuses_more() -> None:
    pool = BoundedThreadPool(threads=1, backlog=2)
    started, release = threading.Event(), threading.Event()
    running = pool.submit(lambda: started.set() or release.wait(10))
    queued = pool.submit(lambda: "never")
    assert started.wait(10)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    assert pool.in_flight == 1  # the running call, which cannot be stopped
    with pytest.raises(RuntimeError):
        pool.submit(lambda: "late")
    release.set()
    assert running.result(10) is True


def test_run_blocking_uses_the_registered_pool_and_falls_back_to_the_default_executor() -> None:
    pool = BoundedThreadPool(threads=1, backlog=0)

    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        default = await run_blocking(lambda: threading.current_thread().name)
        set_runner(loop, pool)
        try:
            ours = await run_blocking(lambda: threading.current_thread().name)
        finally:
            set_runner(loop, None)
        return default, ours

    try:
        default, ours = asyncio.run(main())
        assert not default.startswith("heron-worker") and ours.startswith("heron-worker")
    finally:
        pool.shutdown(wait=True)
