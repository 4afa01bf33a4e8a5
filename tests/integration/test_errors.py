"""Bad input and broken handlers cost one response, never the server, and never leak a traceback."""

from __future__ import annotations

import re
import socket

import requests

from .conftest import Serve
from .support import ECHO, ResponseReader, Server, app_spec, exchange, get, parse_responses, recv_until_close

LEAKS = (b"Traceback", b"RuntimeError", b"deliberate", b'File "', b"HeaderError", b"Evil")


def assert_no_leak(data: bytes) -> None:
    for marker in LEAKS:
        assert marker not in data, f"{marker!r} reached the client"


def test_garbage_gets_400_and_the_server_keeps_serving_others(echo_server: Server) -> None:
    for garbage in (b"\x00\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                    + b"\x00" * 40 + b"\r\n\r\n", b"GET / HTTP/2.0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"):
        received = exchange(echo_server, garbage)
        assert received.closed
        responses = parse_responses(received.data)
        assert len(responses) == 1 and responses[0].status in (400, 505), garbage
        assert_no_leak(received.data)
    response = requests.get(echo_server.url("/plaintext"), timeout=5)
    assert response.text == "Hello, World!"


def test_client_that_disconnects_mid_request_does_not_hurt_the_server(serve: Serve, echo_app: str) -> None:
    echo_server = serve(app=echo_app)
    for partial in (b"GET /plain", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc",
                    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"):
        with echo_server.connect() as sock:
            sock.sendall(partial)
    assert requests.get(echo_server.url("/plaintext"), timeout=5).text == "Hello, World!"
    assert "Traceback" not in echo_server.stderr()


def test_handler_exception_gives_500_and_the_same_connection_still_works(serve: Serve, echo_app: str) -> None:
    server = serve(app=echo_app)
    with server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get("/raise"))
        failed = reader.read()
        assert failed.status == 500
        assert failed.body == b"Internal Server Error\n"
        assert_no_leak(failed.body)
        sock.sendall(get("/plaintext"))
        assert reader.read().body == b"Hello, World!"
    assert requests.get(server.url("/plaintext"), timeout=5).status_code == 200
    log = server.wait_for_stderr("deliberate failure from /raise")
    assert log.count("Traceback") == 1, "the handler error should be logged exactly once"
    assert log.count("RuntimeError: deliberate failure from /raise") == 1


def test_response_header_injection_gets_500_without_the_injected_header(serve: Serve, echo_app: str) -> None:
    server = serve(app=echo_app)
    with server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get("/header?name=X-Test&value=a%0d%0aEvil:1"))
        response = reader.read()
        assert response.status == 500
        assert "evil" not in response.header_names() and "x-test" not in response.header_names()
        sock.sendall(get("/plaintext"))  # the connection is not poisoned
        assert reader.read().body == b"Hello, World!"
    # A heron handler's headers are checked when sent; a WSGI/ASGI adapter builds its Response from
    # the app's headers, so the same check fails a step earlier, as an error of the handler.
    failure = "error sending the response" if echo_app == ECHO else "unhandled error in handler"
    log = server.wait_for_stderr(failure)
    assert log.count(failure) == 1
    assert log.count("Traceback") == 1
    assert "has a control character (CR, LF, NUL, ...) in its value" in log
    assert "Evil:1" not in log.replace("\\r\\nEvil:1", ""), "raw injected bytes written to the log as a line"
    assert not re.search(r"^Evil", log, re.MULTILINE)


def test_invalid_response_header_name_gets_500(echo_server: Server) -> None:
    received = exchange(echo_server, get("/header?name=Evil%3a1%0d%0aX&value=v", ("Connection", "close")))
    responses = parse_responses(received.data)
    assert [r.status for r in responses] == [500]
    assert_no_leak(received.data)


def test_header_with_nul_in_value_gets_500(echo_server: Server) -> None:
    received = exchange(echo_server, get("/header?name=X-Test&value=a%00b", ("Connection", "close")))
    assert [r.status for r in parse_responses(received.data)] == [500]


def test_valid_response_header_from_the_query_is_sent(echo_server: Server) -> None:
    response = requests.get(echo_server.url("/header"), params={"name": "X-Test", "value": "a b"}, timeout=5)
    assert response.headers["X-Test"] == "a b"


def test_error_replies_do_not_echo_the_request(echo_server: Server) -> None:
    received = exchange(echo_server, b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: t\r\nX-Y : z\r\n\r\n")
    responses = parse_responses(received.data)
    assert [r.status for r in responses] == [400]
    assert b"script" not in received.data and b"X-Y" not in received.data


def test_client_that_half_closes_mid_body_is_disconnected_without_an_error_log(serve: Serve, echo_app: str) -> None:
    server = serve("--body-timeout", "5", app=echo_app)
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)  # no more body will come
        received = recv_until_close(sock, 2.0)
    assert received.closed, "the connection lingered after the client gave up on its body"
    assert requests.get(server.url("/plaintext"), timeout=5).status_code == 200
    server.stop()
    assert "Traceback" not in server.stderr() and "ERROR" not in server.stderr()


def test_bad_request_is_logged_once_with_the_rule_not_the_bytes(serve: Serve) -> None:
    server = serve()
    exchange(server, b"GET /secret-token-123 HTTP/1.1\r\nHost: t\r\nX-Bad : 1\r\n\r\n")
    log = server.wait_for_stderr("400: whitespace between header name and colon")
    server.stop()
    log = server.stderr()
    assert log.count(" 400: ") == 1
    assert "secret-token-123" not in log


def test_bad_request_after_a_good_one_is_answered_in_order_then_closed(echo_server: Server) -> None:
    received = exchange(echo_server, get("/echo?n=1") + b"BAD REQUEST LINE\r\n\r\n" + get("/echo?n=3"))
    assert received.closed
    responses = parse_responses(received.data)
    assert [r.status for r in responses] == [200, 400]
    assert responses[0].json()["query"] == "n=1"
    assert responses[1].closes


def test_stream_that_fails_midway_is_cut_off_visibly_and_logged_once(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(get("/broken-stream"))
        reader = ResponseReader(sock)
        response = reader.read()
        assert response.status == 200
        assert not response.complete, "a failed stream must not look like a complete response"
        assert response.body.startswith(b"first\n")
        assert reader.read_all() == []
    assert_no_leak(response.body)
    assert requests.get(server.url("/pid"), timeout=5).status_code == 200
    log = server.wait_for_stderr("RuntimeError: deliberate failure in the middle of a stream")
    assert log.count("Traceback") == 1
