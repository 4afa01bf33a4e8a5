"""Many clients, big bodies, slow readers and clients that leave early: the server copes and stays quiet."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import Serve
from .support import ResponseReader, Server, get, parse_responses, recv_until_close, request


def test_many_concurrent_clients_are_all_served(echo_server: Server) -> None:
    def one(i: int) -> str:
        with requests.Session() as session:
            replies = [session.post(echo_server.url(f"/echo?c={i}"), data=b"x" * i, timeout=10).json()
                       for _ in range(5)]
        assert all(r["body_len"] == i for r in replies)
        return str(replies[-1]["query"])

    with ThreadPoolExecutor(50) as pool:
        queries = list(pool.map(one, range(100)))
    assert queries == [f"c={i}" for i in range(100)]


def test_large_upload_arrives_intact(echo_server: Server) -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB: well past every buffer, so reading pauses and resumes
    response = requests.post(echo_server.url("/echo"), data=payload, timeout=30)
    assert response.json()["body_len"] == len(payload)
    assert response.json()["body_sha256"] == hashlib.sha256(payload).hexdigest()


def test_simultaneous_uploads_each_keep_their_own_bytes(echo_server: Server) -> None:
    """Every connection's socket reads land in one shared buffer (ServerState.read_buffer):
    bodies arriving at the same time, each several times that buffer, stay apart."""
    payloads = [bytes([i]) * 300_000 + os.urandom(1_000) for i in range(8)]

    def upload(payload: bytes) -> str:
        response = requests.post(echo_server.url("/echo"), data=payload, timeout=30)
        return str(response.json()["body_sha256"])

    for _ in range(3):
        with ThreadPoolExecutor(len(payloads)) as pool:
            digests = list(pool.map(upload, payloads))
        assert digests == [hashlib.sha256(payload).hexdigest() for payload in payloads]


def test_large_chunked_upload_arrives_intact(echo_server: Server) -> None:
    pieces = [bytes([i % 256]) * 50_000 for i in range(60)]
    response = requests.post(echo_server.url("/echo"), data=iter(pieces), timeout=30)
    assert response.json()["body_sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_slow_but_steady_reader_gets_the_whole_stream_despite_a_short_write_timeout(serve: Serve,
                                                                                    echo_app: str) -> None:
    server = serve("--write-timeout", "0.5", app=echo_app)
    sock = server.connect(rcvbuf=16384)
    try:
        sock.sendall(get("/stream?n=100000", ("Connection", "close")) * 1)
        data = bytearray()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sock.settimeout(5)
            chunk = sock.recv(262144)
            if not chunk:
                break
            data += chunk
            time.sleep(0.01)  # slower than the server writes, never stalled for write_timeout
    finally:
        sock.close()
    (response,) = parse_responses(bytes(data))
    assert response.complete
    assert response.body == b"".join(b"chunk%d\n" % i for i in range(100000))
    assert "write_timeout" not in server.stderr()


def test_client_leaving_mid_stream_is_not_logged_as_an_error(serve: Serve, echo_app: str) -> None:
    server = serve(app=echo_app)
    sock = server.connect()
    sock.sendall(get("/stream?n=100000"))
    assert sock.recv(1000).startswith(b"HTTP/1.1 200 OK")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    sock.close()
    assert requests.get(server.url("/plaintext"), timeout=5).text == "Hello, World!"
    server.stop()
    log = server.stderr()
    assert "ERROR" not in log and "Traceback" not in log
    assert "socket.send() raised exception" not in log, "the stream went on writing into the dead socket"
    assert log.count("\n") == 1  # nothing but the "serving on" line


def test_half_closed_client_gets_answers_to_every_request_it_sent(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(get("/echo?n=1") + request("POST", "/echo?n=2", [("Content-Length", "3")], b"abc")
                     + get("/echo?n=3"))
        sock.shutdown(socket.SHUT_WR)
        responses = ResponseReader(sock).read_all(["GET", "POST", "GET"])
    assert [r.json()["query"] for r in responses] == ["n=1", "n=2", "n=3"]


def test_half_closed_client_with_a_partial_request_is_closed(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(get("/plaintext") + b"GET /plain")
        sock.shutdown(socket.SHUT_WR)
        received = recv_until_close(sock, 2.0)
    assert received.closed
    assert [r.body for r in parse_responses(received.data)] == [b"Hello, World!"]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))  # type: ignore[union-attr]


def test_pipelining_client_that_never_reads_cannot_grow_server_memory(serve: Serve, echo_app: str) -> None:
    """Answers to a client that does not read must not pile up in the server.

    Without backpressure the server would go on parsing pipelined requests
    and queueing responses in its send buffer (about 75 MiB in 8 s here);
    with it, it stops reading once the client stops reading.
    """
    server = serve(app=echo_app)
    before = _rss_kib(server.pid)
    requests_block = b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n" * 1000
    with server.connect(rcvbuf=4096) as sock:
        sock.setblocking(False)
        pending = memoryview(requests_block)
        sent = 0
        start = last_progress = time.monotonic()
        while time.monotonic() - last_progress < 1.0 and time.monotonic() - start < 5.0:
            try:
                n = sock.send(pending)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            sent += n
            pending = pending[n:] or memoryview(requests_block)
            last_progress = time.monotonic()
        growth_mib = (_rss_kib(server.pid) - before) / 1024
    assert growth_mib < 16, f"server grew {growth_mib:.0f} MiB while a client sent {sent / 1e6:.0f} MB unread"
    assert requests.get(server.url("/plaintext"), timeout=5).status_code == 200
