"""SIGTERM drains: in-flight requests finish, idle connections close, new ones are refused, within a deadline."""

from __future__ import annotations

import signal
import socket
import threading
import time

from .conftest import Serve
from .support import ResponseReader, Server, app_spec, get, is_closed_by_peer, recv_until_close


def wait_refused(server: Server, timeout: float) -> float:
    """Seconds until connecting to the server's port is refused."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            sock = socket.create_connection((server.host, server.port), timeout=1)
        except ConnectionRefusedError:
            return time.monotonic() - started
        sock.close()
        time.sleep(0.02)
    raise AssertionError(f"new connections still accepted {timeout}s after SIGTERM")


def test_sigterm_lets_the_request_in_flight_finish_then_exits(serve: Serve) -> None:
    server = serve("--shutdown-timeout", "5", app=app_spec("slow"))
    idle = server.connect()
    busy = server.connect()
    try:
        idle.sendall(get("/pid"))
        assert ResponseReader(idle).read().status == 200  # now an idle kept-alive connection
        busy.sendall(get("/sleep?s=1"))
        server.wait_for_stderr("sleep started")
        signalled = time.monotonic()
        server.signal()
        assert is_closed_by_peer(idle, 0.8), "the idle keep-alive connection was not closed at once"
        wait_refused(server, 0.9)
        response = ResponseReader(busy).read()
        assert response.status == 200 and response.body == b"slept\n"
        assert response.closes
        assert is_closed_by_peer(busy, 1.0)
    finally:
        idle.close()
        busy.close()
    assert server.wait_exit(2) == 0
    assert time.monotonic() - signalled < 2.5


def test_sigint_drains_like_sigterm(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(get("/sleep?s=0.5"))
        server.wait_for_stderr("sleep started")
        server.signal(signal.SIGINT)
        assert ResponseReader(sock).read().body == b"slept\n"
    assert server.wait_exit(3) == 0
    assert "Traceback" not in server.stderr() and "KeyboardInterrupt" not in server.stderr()


def test_shutdown_timeout_cuts_off_a_handler_that_takes_too_long(serve: Serve) -> None:
    server = serve("--shutdown-timeout", "0.5", app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(get("/sleep?s=10"))
        server.wait_for_stderr("sleep started")
        signalled = time.monotonic()
        server.signal()
        received = recv_until_close(sock, 5)
        assert received.closed and received.data == b""
    server.wait_exit(3)
    assert time.monotonic() - signalled < 2.0
    log = server.wait_for_stderr("shutdown_timeout reached: closing 1 connections")
    assert "Task was destroyed but it is pending" not in log


def test_shutdown_timeout_also_bounds_a_blocking_def_handler(serve: Serve) -> None:
    server = serve("--shutdown-timeout", "0.5", app=app_spec("blocking"))
    result: list[object] = []

    def blocked() -> None:
        with server.connect() as sock:
            sock.sendall(get("/block?s=10"))
            result.append(recv_until_close(sock, 15))

    thread = threading.Thread(target=blocked)
    thread.start()
    try:
        server.wait_for_stderr("block started")
        signalled = time.monotonic()
        server.signal()
        server.wait_exit(5)
        assert time.monotonic() - signalled < 2.0, "a blocked pool thread held the process past shutdown_timeout"
    finally:
        thread.join(15)
    assert "1 blocking handler still running after shutdown_timeout" in server.stderr()
    assert result and result[0].closed  # type: ignore[attr-defined]


def test_workers_drain_in_flight_requests_on_sigterm(serve: Serve) -> None:
    server = serve("--workers", "2", "--shutdown-timeout", "5", app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(get("/sleep?s=0.8"))
        server.wait_for_stderr("sleep started")
        server.signal()
        response = ResponseReader(sock).read()
    assert response.body == b"slept\n" and response.closes
    assert server.wait_exit(3) == 0


def test_drain_waits_for_a_blocking_handler_whose_client_left(serve: Serve) -> None:
    server = serve("--shutdown-timeout", "5", app=app_spec("blocking"))
    with server.connect() as sock:
        sock.sendall(get("/block?s=0.8"))
        server.wait_for_stderr("block started")
    # The client is gone, but the handler's work (a write, say) is still in progress.
    signalled = time.monotonic()
    server.signal()
    assert server.wait_exit(5) == 0
    assert time.monotonic() - signalled >= 0.6, "the process exited under a handler that was still working"
    assert "still running after shutdown_timeout" not in server.stderr()
