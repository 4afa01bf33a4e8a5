"""``--workers N``: several processes answer on one port, and SIGTERM stops them all."""

from __future__ import annotations

import os
import time

import requests

from .conftest import Serve
from .support import app_spec


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return True


def test_two_workers_both_answer_and_sigterm_stops_them_all(serve: Serve) -> None:
    server = serve("--workers", "2", app=app_spec("slow"))
    pids: set[int] = set()
    deadline = time.monotonic() + 15
    while len(pids) < 2 and time.monotonic() < deadline:
        # a new connection each time, so either worker may accept it
        response = requests.get(server.url("/pid"), headers={"Connection": "close"}, timeout=5)
        pids.add(int(response.text))
    assert len(pids) == 2, f"only worker(s) {pids} answered"
    assert server.pid not in pids, "the supervising parent answered a request itself"
    server.signal()
    assert server.wait_exit(5) == 0
    deadline = time.monotonic() + 5
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(pid) for pid in pids), "a worker outlived its parent"


def test_killed_worker_is_replaced(serve: Serve) -> None:
    server = serve("--workers", "2", app=app_spec("slow"))
    victim = int(requests.get(server.url("/pid"), headers={"Connection": "close"}, timeout=5).text)
    os.kill(victim, 9)
    server.wait_for_stderr(f"worker {victim} exited .*restarting it")
    pids: set[int] = set()
    deadline = time.monotonic() + 15
    while len(pids) < 2 and time.monotonic() < deadline:
        try:
            response = requests.get(server.url("/pid"), headers={"Connection": "close"}, timeout=5)
        except requests.ConnectionError:  # accepted by the dying worker just before it died
            continue
        pids.add(int(response.text))
    assert victim not in pids
    assert len(pids) == 2, "the dead worker was not replaced"


def test_workers_stop_when_their_supervisor_is_killed(serve: Serve) -> None:
    server = serve("--workers", "2", app=app_spec("slow"))
    pids: set[int] = set()
    deadline = time.monotonic() + 15
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(int(requests.get(server.url("/pid"), headers={"Connection": "close"}, timeout=5).text))
    server.signal(9)  # the supervisor dies without forwarding anything
    server.wait_exit(5)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in pids), "orphaned workers kept serving"
