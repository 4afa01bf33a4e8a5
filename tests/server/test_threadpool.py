"""The bounded thread pool refuses work instead of queueing without bound."""

from __future__ import annotations

import threading

import pytest

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
