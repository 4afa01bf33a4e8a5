"""The Autobahn TestSuite's cases (RFC 6455 and RFC 7692 conformance) against the echo apps' ``/ws``.

kosoku runs the cases: Autobahn's own case files, driven by a native
runner. Here runs the part that takes seconds: every case of sections 1-7,
9 and 10 (framing, pings and pongs, reserved bits, opcodes, fragmentation,
UTF-8, the closing handshake, messages up to 16 MiB, auto-fragmentation)
and, of the compression sections 12 and 13, each payload kind and each
negotiated parameter set at 16 bytes and at 4 KiB. bench/autobahn.py runs
every case and writes the report that docs/autobahn.md keeps.

Each case must come out OK: not NON-STRICT, not FAILED. INFORMATIONAL is
what Autobahn says where RFC 6455 leaves the behaviour open (a close
arriving before an echo, close codes 5000 and up), and is accepted there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from kosoku import FailureError, run_fuzzingclient

from .conftest import ServerPool
from .support import ECHO_APPS, Server

COMPRESSION = [f"{section}.{case}" for section in ("12.1", "12.2", "12.3", "12.4", "12.5", "13.1", "13.2", "13.3",
                                                   "13.4", "13.5", "13.6", "13.7") for case in (1, 5)]
QUICK = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", *COMPRESSION]
MAX_MESSAGE = 16 * 1024 * 1024 + 4096  # section 9 sends messages of 16 MiB
PASSING = {"OK", "INFORMATIONAL"}


@pytest.fixture(scope="module", params=["heron", "asgi"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("autobahn"))
    try:
        yield pool.start("--max-websocket-message", str(MAX_MESSAGE), app=ECHO_APPS[request.param])
    finally:
        pool.stop_all()


def run_cases(server: Server, cases: list[str]) -> list[Any]:
    """kosoku's results (``CaseResult``), one per case, whether they passed or not."""
    url = f"ws://{server.host}:{server.port}/ws"
    try:
        return asyncio.run(asyncio.wait_for(run_fuzzingclient(url, cases, concurrency=4), timeout=120))
    except FailureError as failure:
        return failure.results


def test_the_quick_autobahn_cases_all_pass(server: Server) -> None:
    results = run_cases(server, QUICK)
    assert len(results) > 300
    wrong = [(r.case_id, r.behavior.value, r.behavior_close.value, r.result) for r in results
             if r.behavior.value not in PASSING or r.behavior_close.value not in PASSING]
    assert wrong == []
    informational = sorted(r.case_id for r in results if r.behavior.value == "INFORMATIONAL")
    assert informational == ["7.1.6", "7.13.1", "7.13.2"]
