"""Pipelining: requests sent back to back without waiting are answered in order."""

from __future__ import annotations

import hashlib

from .conftest import Serve
from .support import ResponseReader, Server, get, post, request


def test_pipelined_requests_are_answered_in_order(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(b"".join(get(f"/echo?n={i}") for i in range(10)))
        reader = ResponseReader(sock)
        queries = [reader.read().json()["query"] for _ in range(10)]
    assert queries == [f"n={i}" for i in range(10)]


def test_pipelined_post_with_body_in_the_middle_is_framed_right(echo_server: Server) -> None:
    body = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n" * 3  # looks like requests; is a body
    with echo_server.connect() as sock:
        sock.sendall(get("/echo?n=1") + post("/echo?n=2", body) + get("/echo?n=3"))
        reader = ResponseReader(sock)
        first, second, third = (reader.read().json() for _ in range(3))
        sock.sendall(get("/plaintext", ("Connection", "close")))
        last = reader.read()
        assert reader.read_all() == []
    assert (first["query"], second["query"], third["query"]) == ("n=1", "n=2", "n=3")
    assert second["body_len"] == len(body)
    assert second["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert last.body == b"Hello, World!"


def test_pipelined_chunked_post_is_followed_by_the_next_request(echo_server: Server) -> None:
    chunked = request("POST", "/echo?n=1", [("Transfer-Encoding", "chunked")], b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    with echo_server.connect() as sock:
        sock.sendall(chunked + get("/echo?n=2"))
        reader = ResponseReader(sock)
        first, second = reader.read().json(), reader.read().json()
    assert first["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
    assert second["query"] == "n=2"


def test_pipelined_requests_beyond_the_pipeline_buffer_are_all_answered(serve: Serve,
                                                                        echo_app: str) -> None:
    server = serve("--max-pipelined-bytes", "1024", app=echo_app)
    count = 300
    with server.connect() as sock:
        sock.sendall(b"".join(get(f"/echo?n={i}") for i in range(count)))
        reader = ResponseReader(sock, timeout=20)
        queries = [reader.read().json()["query"] for _ in range(count)]
    assert queries == [f"n={i}" for i in range(count)]


def test_pipelined_head_request_gets_no_body_and_the_next_response_follows(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request("HEAD", "/plaintext") + get("/plaintext"))
        reader = ResponseReader(sock)
        head = reader.read("HEAD")
        after = reader.read()
    assert head.status == 200 and head.body == b"" and head.header("content-length") == "13"
    assert after.body == b"Hello, World!"
