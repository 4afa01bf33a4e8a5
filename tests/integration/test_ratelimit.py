"""Rate limits over real sockets: one budget for the whole server with --workers, and the fields real clients read."""

from __future__ import annotations

import concurrent.futures
import time

import requests

from .conftest import Serve
from .support import app_spec


def test_with_two_workers_the_limit_holds_for_the_server_not_per_process(serve: Serve) -> None:
    server = serve("--workers", "2", app=app_spec("ratelimited"))

    def get(_: int) -> tuple[int, str]:
        response = requests.get(server.url("/limited"), headers={"Connection": "close"}, timeout=10)
        return response.status_code, response.headers["X-Worker"]

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(get, range(120)))
    elapsed = time.monotonic() - started
    assert len({worker for _, worker in answers}) == 2, "both workers should have answered"
    admitted = sum(status == 200 for status, _ in answers)
    # 20 a minute: the burst of 20, plus one more for every 3 s the test took (well under one, usually)
    assert 20 <= admitted <= 20 + int(elapsed / 3) + 1, (admitted, elapsed)
    assert {status for status, _ in answers} == {200, 429}


def test_a_real_client_reads_retry_after_and_the_ratelimit_fields(serve: Serve) -> None:
    server = serve(app=app_spec("ratelimited"))
    with requests.Session() as session:
        first = session.get(server.url("/pid"), timeout=5)
        assert first.headers["RateLimit-Policy"] == '"default";q=1000;w=60'
        assert first.headers["RateLimit"] == '"default";r=999;t=1'
        for _ in range(20):
            session.get(server.url("/limited"), timeout=5)
        refused = session.get(server.url("/limited"), timeout=5)
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 3
        assert '"limited";r=0' in refused.headers["RateLimit"]
        assert session.get(server.url("/pid"), timeout=5).status_code == 200  # the same connection goes on
