"""Expect: 100-continue: the interim response is sent only when the handler reads the body.

A handler that answers without reading must not invite the body; the client
then gets the final status without a 100, and whatever body bytes it sends
anyway are never taken for a request.
"""

from __future__ import annotations

import time

from .conftest import Serve
from .support import ResponseReader, Server, app_spec, get, is_closed_by_peer, request, wait_readable

BODY = b"0123456789" * 10
SMUGGLED = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"


def expect_head(method: str, target: str, length: int) -> bytes:
    return request(method, target, [("Content-Length", str(length)), ("Expect", "100-continue")])


def test_expect_continue_gets_100_then_the_final_response(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(expect_head("POST", "/echo", len(BODY)))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(BODY)
        response = ResponseReader(sock).read()
        assert response.status == 200
        assert response.json()["body_len"] == len(BODY)
        # the connection is still usable
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().body == b"Hello, World!"


def test_100_continue_waits_until_the_handler_reads_the_body(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(expect_head("POST", "/read-later?s=0.6", len(BODY)))
        server.wait_for_stderr("read-later started")
        started = time.monotonic()
        assert not wait_readable(sock, 0.3), "100 Continue sent before the handler asked for the body"
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert time.monotonic() - started >= 0.4
        sock.sendall(BODY)
        response = ResponseReader(sock).read("POST")
    assert response.status == 200 and response.body == b"read 100\n"
    assert response.informational == []  # the 100 was consumed above, and only one was sent


def test_handler_that_never_reads_gets_no_100_and_the_connection_closes(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(expect_head("POST", "/plaintext", len(SMUGGLED)))  # /plaintext is GET only: 405
        reader = ResponseReader(sock)
        response = reader.read("POST")
        assert response.status == 405
        assert response.informational == []
        assert response.closes
        try:
            sock.sendall(SMUGGLED)  # the client sends its body anyway: never parsed as a request
        except OSError:
            pass
        assert is_closed_by_peer(sock, 2.0)
        assert reader.buffer == b""


def test_unread_body_after_expect_is_never_parsed_as_a_request(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(expect_head("GET", "/status/200", len(SMUGGLED)))
        reader = ResponseReader(sock)
        response = reader.read()
        assert (response.status, response.body, response.informational) == (200, b"200\n", [])
        assert response.closes
        try:
            sock.sendall(SMUGGLED)
        except OSError:
            pass
        assert reader.read_all() == []


def test_expect_continue_from_http10_is_ignored(echo_server: Server) -> None:
    head = request("POST", "/echo", [("Content-Length", str(len(BODY))), ("Expect", "100-continue")], version="1.0")
    with echo_server.connect() as sock:
        sock.sendall(head + BODY)
        response = ResponseReader(sock).read("POST")
    assert response.informational == []
    assert response.json()["body_len"] == len(BODY)


def test_unknown_expectation_gets_417_and_close(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "3"), ("Expect", "teapot")]) + b"abc")
        responses = ResponseReader(sock).read_all()
    assert [r.status for r in responses] == [417]
    assert responses[0].closes

