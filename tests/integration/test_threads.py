"""Plain ``def`` handlers run in a bounded thread pool: a full pool answers 503 instead of queueing."""

from __future__ import annotations

import threading
import time

import requests

from .conftest import Serve
from .support import app_spec


def start_blocking_request(url: str) -> tuple[threading.Thread, list[requests.Response]]:
    results: list[requests.Response] = []
    thread = threading.Thread(target=lambda: results.append(requests.get(url, timeout=10)))
    thread.start()
    return thread, results


def test_full_thread_pool_answers_503_with_retry_after(serve: Serve) -> None:
    server = serve("--threads", "1", "--thread-backlog", "0", app=app_spec("blocking"))
    thread, results = start_blocking_request(server.url("/block?s=1"))
    try:
        server.wait_for_stderr("block started")
        refused = requests.get(server.url("/block?s=0"), timeout=5)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert "Traceback" not in refused.text
    finally:
        thread.join(10)
    assert results[0].status_code == 200 and results[0].text == "unblocked\n"
    again = requests.get(server.url("/block?s=0"), timeout=5)  # the thread is free again
    assert again.status_code == 200


def test_blocking_handler_does_not_stall_async_handlers(serve: Serve) -> None:
    server = serve("--threads", "1", "--thread-backlog", "0", app=app_spec("blocking"))
    thread, results = start_blocking_request(server.url("/block?s=1.5"))
    try:
        server.wait_for_stderr("block started")
        started = time.monotonic()
        assert requests.get(server.url("/ping"), timeout=5).text == "pong\n"
        assert time.monotonic() - started < 0.5
    finally:
        thread.join(10)
    assert results[0].status_code == 200


def test_thread_backlog_queues_calls_up_to_its_size(serve: Serve) -> None:
    server = serve("--threads", "1", "--thread-backlog", "1", app=app_spec("blocking"))
    first, first_results = start_blocking_request(server.url("/block?s=0.8"))
    server.wait_for_stderr("block started")
    # Two more while the thread is busy: one fits the backlog and waits, the other is refused.
    second, second_results = start_blocking_request(server.url("/block?s=0"))
    third, third_results = start_blocking_request(server.url("/block?s=0"))
    for thread in (first, second, third):
        thread.join(10)
    assert first_results[0].status_code == 200
    assert sorted(r.status_code for r in second_results + third_results) == [200, 503]


def test_def_handler_reads_the_request_body(serve: Serve) -> None:
    server = serve(app=app_spec("blocking"))
    body = b"z" * 200_000
    response = requests.post(server.url("/upload"), data=body, timeout=5)
    assert response.text == f"read {len(body)}\n"
    chunked = requests.post(server.url("/upload"), data=iter([b"a" * 1000] * 50), timeout=5)
    assert chunked.text == "read 50000\n"
