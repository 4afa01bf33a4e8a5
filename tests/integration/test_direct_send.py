"""Bytes written on the socket itself, beside the transport (heron/server/direct.py).

A large in-memory body goes out behind its head in one gather ``sendmsg``
and a file response's head with MSG_MORE, both straight on the socket
while the transport holds nothing; what the socket does not take then
goes through the transport. These tests hold the client back so that
the socket fills mid-response, and check every byte arrives, in order,
whichever way it went.
"""

from __future__ import annotations

import gc
import hashlib
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron import App, FileResponse, Request, Response
from heron.server.direct import _borrow_socket
from heron.testing import live_server

from .support import ResponseReader, get, request

LOOPS = ["asyncio", "uvloop"]


def _body(size: int) -> bytes:
    """``size`` bytes that differ from any other size's, so a misplaced piece shows."""
    seed = hashlib.sha256(str(size).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture(params=LOOPS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "mid.bin").write_bytes(_body(100_003))
    (tmp_path / "big.bin").write_bytes(_body(3_000_000))
    app = App()

    @app.get("/bytes/{size:int}")
    async def sized(request: Request, size: int) -> Response:
        return Response(_body(size), content_type="application/octet-stream")

    @app.get("/file/{name}")
    async def file(request: Request, name: str) -> FileResponse:
        return FileResponse(tmp_path / name)

    with live_server(app, loop=request.param) as base:
        yield base


def _connect(url: str, receive_buffer: int | None = None) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    if receive_buffer is not None:  # before connecting, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, int(port)))
    return sock


def test_pipelined_large_bodies_reach_a_slow_reader_whole_and_in_order(url: str) -> None:
    # The first body fills the socket: the rest of it, and the responses after it,
    # go through the transport's buffer, behind it.
    sizes = [3_000_000, 13, 16 * 1024, 200_000, 16 * 1024 - 1, 1_000_000]
    with _connect(url, receive_buffer=16 * 1024) as sock:
        sock.sendall(b"".join(get(f"/bytes/{size}") for size in sizes)
                     + request("HEAD", "/bytes/100000") + get("/file/big.bin") + get("/bytes/70000"))
        time.sleep(0.3)  # the server writes until the socket is full, then waits for us
        reader = ResponseReader(sock, timeout=20)
        for size in sizes:
            response = reader.read()
            assert response.status == 200
            assert response.header("content-length") == str(size)
            assert response.body == _body(size)
        head = reader.read("HEAD")
        assert head.header("content-length") == "100000" and head.body == b""
        assert reader.read().body == _body(3_000_000)
        assert reader.read().body == _body(70_000)


def test_a_file_response_behind_a_held_back_body_is_framed_right(url: str) -> None:
    with _connect(url, receive_buffer=16 * 1024) as sock:
        sock.sendall(get("/bytes/2000000") + get("/file/big.bin") + get("/file/empty.txt"))
        time.sleep(0.3)
        reader = ResponseReader(sock, timeout=20)
        assert reader.read().body == _body(2_000_000)
        assert reader.read().body == _body(3_000_000)
        empty = reader.read()
        assert empty.status == 200 and empty.header("content-length") == "0" and empty.body == b""


def test_file_responses_leave_at_once(url: str) -> None:
    # Nothing of a file response may be held back in the kernel: not an empty file's head (sent
    # alone: with MSG_MORE it would wait for the next response), nor a file's last piece, which
    # no uncork pushes any more (held by a cork, it would wait for the kernel's 200 ms timer).
    # The bound allows for the client's delayed ACK on loopback, which can add 40 ms to a
    # response larger than the receive window the client has opened so far.
    with _connect(url) as sock:
        reader = ResponseReader(sock, timeout=5)
        for name, size in (("empty.txt", 0), ("mid.bin", 100_003)):
            times = []
            for _ in range(5):
                started = time.monotonic()
                sock.sendall(get(f"/file/{name}"))
                response = reader.read()
                times.append(time.monotonic() - started)
                assert response.status == 200 and response.body == _body(size)
            assert sorted(times)[2] < 0.15, (name, times)


def test_connections_closed_after_large_responses_leave_the_others_working(url: str) -> None:
    # The socket object heron sends on shares the transport's descriptor (released, never closed,
    # when the connection ends): connections come and go around one that stays, which keeps working.
    keeper = _connect(url)
    keeper_reader = ResponseReader(keeper)
    try:
        for round_ in range(20):
            with _connect(url) as sock:
                sock.sendall(get("/bytes/100000") + get("/file/big.bin", ("Connection", "close")))
                reader = ResponseReader(sock, timeout=20)
                assert reader.read().body == _body(100_000)
                assert reader.read().body == _body(3_000_000)
            keeper.sendall(get(f"/bytes/{20_000 + round_}"))
            assert keeper_reader.read().body == _body(20_000 + round_)
    finally:
        keeper.close()


def test_a_borrowed_socket_never_closes_the_descriptor() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        socket.setdefaulttimeout(5)
        try:
            borrowed = _borrow_socket(left)
        finally:
            socket.setdefaulttimeout(None)
        assert borrowed is not None
        assert borrowed.gettimeout() == 0.0  # never waits, whatever the process default
        assert borrowed.sendmsg([b"he", b"ad"]) == 4
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unclosed-socket ResourceWarning would fail here
            del borrowed
            gc.collect()
        left.sendall(b"!")  # still open
        assert right.recv(16) == b"head!"


def test_no_socket_is_borrowed_from_a_closed_one() -> None:
    # The connection then writes everything through its transport, as over TLS.
    sock = socket.socket()
    sock.close()
    assert _borrow_socket(sock) is None
