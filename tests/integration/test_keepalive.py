"""Connection reuse: HTTP/1.1 keeps connections open, HTTP/1.0 only when asked, ``close`` is honoured."""

from __future__ import annotations

import http.client

import requests

from .support import ResponseReader, Server, exchange, get, is_closed_by_peer, parse_responses


def test_one_connection_carries_several_requests(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        reader = ResponseReader(sock)
        for i in range(5):
            sock.sendall(get(f"/echo?i={i}"))
            response = reader.read()
            assert response.status == 200
            assert response.json()["query"] == f"i={i}"
            assert not response.closes


def test_http_client_reuses_its_socket(echo_server: Server) -> None:
    conn = http.client.HTTPConnection(echo_server.host, echo_server.port, timeout=5)
    try:
        conn.request("GET", "/plaintext")
        first = conn.getresponse()
        assert first.read() == b"Hello, World!"
        sock = conn.sock
        for _ in range(3):
            conn.request("POST", "/echo", body=b"x" * 10)
            response = conn.getresponse()
            assert response.status == 200
            response.read()
            assert conn.sock is sock, "http.client had to reconnect: the server closed a kept-alive connection"
    finally:
        conn.close()


def test_requests_session_sends_several_requests_on_one_connection(echo_server: Server) -> None:
    with requests.Session() as session:
        ports = set()
        for _ in range(3):
            response = session.get(echo_server.url("/plaintext"), stream=True, timeout=5)
            ports.add(response.raw._connection.sock.getsockname()[1])
            assert response.content == b"Hello, World!"
        assert len(ports) == 1


def test_http10_request_without_keep_alive_is_answered_then_closed(echo_server: Server) -> None:
    received = exchange(echo_server, get("/plaintext", version="1.0") + get("/plaintext", version="1.0"))
    assert received.closed
    responses = parse_responses(received.data)
    assert len(responses) == 1, "a request after an HTTP/1.0 request without keep-alive was answered"
    assert responses[0].status == 200
    assert responses[0].body == b"Hello, World!"
    assert responses[0].closes


def test_http10_keep_alive_keeps_the_connection_open(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        reader = ResponseReader(sock)
        for _ in range(3):
            sock.sendall(get("/plaintext", ("Connection", "keep-alive"), version="1.0"))
            response = reader.read()
            assert response.status == 200
            assert response.header("connection") == "keep-alive"
            assert response.body == b"Hello, World!"


def test_connection_close_is_honoured_and_the_server_closes(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(get("/plaintext", ("Connection", "close")) + get("/plaintext"))
        reader = ResponseReader(sock)
        response = reader.read()
        assert response.status == 200
        assert response.closes
        assert is_closed_by_peer(sock, 2.0)
        assert reader.buffer == b"", "the request after Connection: close was answered"
