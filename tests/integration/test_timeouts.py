"""Every timeout fires with the right answer and closes the connection, even against a client that keeps trickling."""

from __future__ import annotations

import socket
import time

from .conftest import Serve
from .support import ResponseReader, app_spec, get, parse_responses, recv_until_close, request, wait_readable


def test_slowloris_head_gets_408_within_header_timeout_although_bytes_keep_coming(serve: Serve) -> None:
    server = serve("--header-timeout", "0.5")
    trickle = get("/plaintext", *[(f"X-Pad-{i}", "y" * 20) for i in range(50)])
    received = b""
    with server.connect() as sock:
        started = time.monotonic()
        for byte in trickle:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server closed on us mid-send
                break
            if wait_readable(sock, 0.02):
                rest = recv_until_close(sock, 2.0)
                received = rest.data
                assert rest.closed
                break
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"slowloris kept the connection {elapsed:.2f}s with header_timeout 0.5"
    assert elapsed >= 0.45
    responses = parse_responses(received)
    assert [r.status for r in responses] == [408]
    assert responses[0].closes
    server.wait_for_stderr("408: request head not received within header_timeout")


def test_connection_that_sends_nothing_is_closed_after_header_timeout(serve: Serve) -> None:
    server = serve("--header-timeout", "0.5")
    with server.connect() as sock:
        started = time.monotonic()
        received = recv_until_close(sock, 3.0)
        elapsed = time.monotonic() - started
    assert received.closed and received.data == b"", "an idle new connection gets no response, only a close"
    assert 0.4 <= elapsed < 1.5


def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(serve: Serve) -> None:
    server = serve("--keepalive-timeout", "0.5")
    with server.connect() as sock:
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().status == 200
        started = time.monotonic()
        received = recv_until_close(sock, 3.0)
        elapsed = time.monotonic() - started
    assert received.closed and received.data == b""
    assert 0.4 <= elapsed < 1.5


def test_keep_alive_connection_used_in_time_stays_open(serve: Serve) -> None:
    server = serve("--keepalive-timeout", "0.6")
    with server.connect() as sock:
        reader = ResponseReader(sock)
        for _ in range(4):  # 4 x 0.3 s: longer than the timeout in total, never idle that long
            sock.sendall(get("/plaintext"))
            assert reader.read().status == 200
            time.sleep(0.3)
        sock.sendall(get("/plaintext"))
        assert reader.read().status == 200
        # Timers are re-armed lazily (one handle, deadline moved on): the idle
        # period still counts from the last response, not from an earlier one.
        started = time.monotonic()
        received = recv_until_close(sock, 3.0)
        elapsed = time.monotonic() - started
    assert received.closed and received.data == b""
    assert 0.5 <= elapsed < 1.5


def test_stalled_body_gets_408_and_close_after_body_timeout(serve: Serve, echo_app: str) -> None:
    server = serve("--body-timeout", "0.5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "100")], b"x" * 10))
        started = time.monotonic()
        received = recv_until_close(sock, 3.0)
        elapsed = time.monotonic() - started
    assert received.closed
    assert 0.4 <= elapsed < 1.5
    responses = parse_responses(received.data, ["POST"])
    assert [r.status for r in responses] == [408]
    assert responses[0].closes
    server.wait_for_stderr("408: request body stalled longer than body_timeout")


def test_stalled_chunked_body_gets_408(serve: Serve, echo_app: str) -> None:
    server = serve("--body-timeout", "0.5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Transfer-Encoding", "chunked")], b"a\r\n01234"))
        received = recv_until_close(sock, 3.0)
    assert received.closed
    assert [r.status for r in parse_responses(received.data, ["POST"])] == [408]


# /stream?n=100000 is about 1.6 MB; the kernel's send buffer on loopback can grow
# to 4 MB (tcp_wmem) and swallow a whole response, so a few are pipelined to be
# sure the server, not the kernel, is left holding unsent bytes.
STREAMS = 8
STREAM_BYTES = 100000 * len("chunk99999\n")


def test_client_that_never_reads_is_cut_off_after_write_timeout(serve: Serve, echo_app: str) -> None:
    server = serve("--write-timeout", "0.5", app=echo_app)
    sock = server.connect(rcvbuf=4096)
    try:
        sock.sendall(get("/stream?n=100000") * STREAMS)
        # Never read: the buffers fill, then write_timeout must end the connection.
        server.wait_for_stderr("did not read the response within write_timeout", timeout=15)
        received = recv_until_close(sock, 10.0)
    finally:
        sock.close()
    assert received.closed, "the connection was still open after the write timeout"
    assert len(received.data) < STREAMS * STREAM_BYTES
    responses = parse_responses(received.data)
    assert 1 <= len(responses) < STREAMS
    assert not responses[-1].complete, "the connection ended between responses: nothing was cut off"


def test_server_still_serves_after_cutting_off_a_slow_reader(serve: Serve, echo_app: str) -> None:
    server = serve("--write-timeout", "0.3", app=echo_app)
    slow = server.connect(rcvbuf=4096)
    try:
        slow.sendall(get("/stream?n=100000") * STREAMS)
        with server.connect() as sock:
            sock.sendall(get("/plaintext"))
            assert ResponseReader(sock).read().body == b"Hello, World!"
        server.wait_for_stderr("write_timeout", timeout=10)
    finally:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        slow.close()
    with server.connect() as sock:
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().body == b"Hello, World!"


def test_slowloris_on_a_kept_alive_connection_also_gets_408(serve: Serve) -> None:
    server = serve("--header-timeout", "0.5", "--keepalive-timeout", "5")
    with server.connect() as sock:
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().status == 200
        started = time.monotonic()
        for byte in get("/plaintext", ("X-Pad", "p" * 200)):
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            if wait_readable(sock, 0.02):
                break
        received = recv_until_close(sock, 2.0)
        elapsed = time.monotonic() - started
    assert [r.status for r in parse_responses(received.data)] == [408]
    assert elapsed < 1.5, "the header timeout reset with every trickled byte"


def test_unread_body_that_stalls_after_the_response_is_closed_after_body_timeout(serve: Serve, echo_app: str) -> None:
    server = serve("--body-timeout", "0.5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/status/200", [("Content-Length", "1000")], b"x" * 10))
        reader = ResponseReader(sock)
        assert reader.read("POST").status == 200  # answered without reading; the rest is to be drained
        started = time.monotonic()
        received = recv_until_close(sock, 3.0)
        elapsed = time.monotonic() - started
    assert received.closed and received.data == b""
    assert elapsed < 1.5


# -- min_body_rate: a body that keeps trickling -------------------------------------------------


def trickle(sock: socket.socket, piece: bytes, every: float, until: float) -> float:
    """Send ``piece`` every ``every`` seconds until the server closes or ``until`` seconds pass; the seconds taken."""
    started = time.monotonic()
    while time.monotonic() - started < until:
        try:
            sock.sendall(piece)
        except OSError:
            break
        if wait_readable(sock, every):
            break  # the server answered (and is closing)
    return time.monotonic() - started


def test_a_body_trickled_at_one_byte_a_second_gets_408_at_the_default_rate(serve: Serve) -> None:
    """body_timeout alone never fires for a byte a second; at the defaults (240 B/s after 5 s) it ends in 30 s."""
    server = serve()
    with server.connect(timeout=35) as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "1000")]))
        elapsed = trickle(sock, b"x", 1.0, 30.0)
        received = recv_until_close(sock, 5.0)
    assert 4.5 <= elapsed < 8, elapsed
    assert received.closed
    responses = parse_responses(received.data, ["POST"])
    assert [r.status for r in responses] == [408] and responses[0].closes
    server.wait_for_stderr("408: request body arrived slower than min_body_rate")


def test_a_body_under_min_body_rate_gets_408_once_the_grace_is_over(serve: Serve, echo_app: str) -> None:
    server = serve("--min-body-rate", "1000", "--body-rate-grace", "0.5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "100000")]))
        elapsed = trickle(sock, b"x" * 10, 0.05, 5.0)  # 200 B/s, well under 1000
        received = recv_until_close(sock, 3.0)
    assert 0.4 <= elapsed < 1.5, elapsed
    assert [r.status for r in parse_responses(received.data, ["POST"])] == [408]


def test_a_body_at_min_body_rate_or_faster_is_read_whole(serve: Serve, echo_app: str) -> None:
    server = serve("--min-body-rate", "1000", "--body-rate-grace", "0.5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "3000")]))
        for _ in range(15):  # 200 bytes every 0.1 s: 2000 B/s, for 1.5 s, three times the grace
            sock.sendall(b"y" * 200)
            time.sleep(0.1)
        response = ResponseReader(sock).read("POST")
    assert response.status == 200 and response.json()["body_len"] == 3000


def test_only_the_time_the_handler_waits_for_the_body_counts(serve: Serve) -> None:
    """The handler sleeps 2 s before reading: 1000 bytes over 2.2 s is under 1000 B/s by the clock,
    but the handler waited for bytes only about 0.2 s of it."""
    server = serve("--min-body-rate", "1000", "--body-rate-grace", "0.5", app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(request("POST", "/read-later?s=2", [("Content-Length", "1000")], b"z" * 500))
        server.wait_for_stderr("slow: read-later started")
        time.sleep(2.2)
        sock.sendall(b"z" * 500)
        response = ResponseReader(sock).read("POST")
    assert response.status == 200 and response.body == b"read 1000\n"


def test_an_unread_body_trickling_after_the_response_is_cut_off_by_the_rate(serve: Serve) -> None:
    server = serve("--min-body-rate", "1000", "--body-rate-grace", "0.5")
    with server.connect() as sock:
        sock.sendall(request("POST", "/status/200", [("Content-Length", "20000")], b"x" * 10))
        assert ResponseReader(sock).read("POST").status == 200  # the rest is to be drained
        elapsed = trickle(sock, b"x" * 10, 0.05, 5.0)
        received = recv_until_close(sock, 3.0)
    assert received.closed and received.data == b""
    assert elapsed < 1.5, elapsed
