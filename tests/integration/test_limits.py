"""Every limit set from the command line answers with its status and closes (or drains) as documented."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import Serve
from .support import (ResponseReader, Server, app_spec, exchange, get, parse_responses, post, recv_until_close, request,
                      wait_readable)


def only_response(server: Server, data: bytes, method: str = "GET") -> int:
    """Send ``data``; the server must answer exactly once, say close, and close."""
    received = exchange(server, data + get("/plaintext"))  # a request after: must not be answered
    assert received.closed, "the server kept the connection open after refusing a request"
    responses = parse_responses(received.data, [method])
    assert len(responses) == 1, f"expected one response, got {[r.status for r in responses]}"
    assert responses[0].closes
    assert b"Traceback" not in received.data
    return responses[0].status


def test_request_line_over_max_request_line_gets_414(serve: Serve) -> None:
    server = serve("--max-request-line", "100")
    assert only_response(server, get("/echo?" + "a" * 120)) == 414


def test_request_line_at_max_request_line_is_accepted(serve: Serve) -> None:
    server = serve("--max-request-line", "100")
    target = "/echo?" + "a" * (100 - len("GET  HTTP/1.1") - len("/echo?"))
    line = f"GET {target} HTTP/1.1"
    assert len(line) == 100
    with server.connect() as sock:
        sock.sendall(get(target))
        assert ResponseReader(sock).read().status == 200


def test_endless_request_line_gets_414_before_it_ends(serve: Serve) -> None:
    server = serve("--max-request-line", "100")
    with server.connect() as sock:
        sock.sendall(b"GET /" + b"a" * 500)  # no line end ever arrives
        received = recv_until_close(sock, 3.0)
    assert received.closed
    assert [r.status for r in parse_responses(received.data)] == [414]


def test_header_section_over_max_header_bytes_gets_431(serve: Serve) -> None:
    server = serve("--max-header-bytes", "200")
    assert only_response(server, get("/plaintext", ("X-Big", "b" * 250))) == 431


def test_header_section_under_max_header_bytes_is_accepted(serve: Serve) -> None:
    server = serve("--max-header-bytes", "200")
    with server.connect() as sock:
        sock.sendall(get("/plaintext", ("X-Big", "b" * 100)))
        assert ResponseReader(sock).read().status == 200


def test_more_fields_than_max_header_count_gets_431(serve: Serve) -> None:
    server = serve("--max-header-count", "5")
    assert only_response(server, get("/plaintext", *[(f"X-{i}", "v") for i in range(10)])) == 431


def test_fields_up_to_max_header_count_are_accepted(serve: Serve) -> None:
    server = serve("--max-header-count", "5")
    with server.connect() as sock:
        sock.sendall(get("/plaintext", *[(f"X-{i}", "v") for i in range(4)]))  # + Host = 5
        assert ResponseReader(sock).read().status == 200


def test_content_length_over_max_body_bytes_gets_413_before_the_body_is_sent(serve: Serve, echo_app: str) -> None:
    server = serve("--max-body-bytes", "100", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Content-Length", "101")]))
        received = recv_until_close(sock, 3.0)  # no body byte was sent
    assert received.closed
    responses = parse_responses(received.data, ["POST"])
    assert [r.status for r in responses] == [413]
    assert responses[0].closes


def test_body_at_max_body_bytes_is_accepted(serve: Serve, echo_app: str) -> None:
    server = serve("--max-body-bytes", "100", app=echo_app)
    with server.connect() as sock:
        sock.sendall(post("/echo", b"x" * 100))
        assert ResponseReader(sock).read("POST").json()["body_len"] == 100


def test_chunked_body_over_max_body_bytes_gets_413(serve: Serve, echo_app: str) -> None:
    server = serve("--max-body-bytes", "100", app=echo_app)
    body = b"40\r\n" + b"x" * 64 + b"\r\n" + b"40\r\n" + b"y" * 64 + b"\r\n0\r\n\r\n"
    status = only_response(server, request("POST", "/echo", [("Transfer-Encoding", "chunked")], body), "POST")
    assert status == 413


def test_chunk_line_over_max_chunk_line_gets_400(serve: Serve, echo_app: str) -> None:
    server = serve("--max-chunk-line", "10", app=echo_app)
    body = b"5;ext=" + b"e" * 20 + b"\r\nhello\r\n0\r\n\r\n"
    status = only_response(server, request("POST", "/echo", [("Transfer-Encoding", "chunked")], body), "POST")
    assert status == 400


def test_chunk_extension_within_max_chunk_line_is_accepted(serve: Serve, echo_app: str) -> None:
    server = serve("--max-chunk-line", "10", app=echo_app)
    body = b"5;e=1\r\nhello\r\n0\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo", [("Transfer-Encoding", "chunked")], body))
        assert ResponseReader(sock).read("POST").json()["body_len"] == 5


def test_refused_client_sending_its_request_in_parts_reads_the_503_and_a_clean_close(serve: Serve) -> None:
    """The 503 goes out when the request starts to arrive, and the server then stops sending
    but reads on: a client still sending must not be answered with a reset (RFC 9112 9.6)."""
    server = serve("--max-connections", "1")
    with server.connect() as held, server.connect() as refused:
        held.sendall(get("/plaintext"))
        assert ResponseReader(held).read().status == 200
        time.sleep(0.1)
        assert not wait_readable(refused, 0), "answered before the client sent anything"
        refused.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        assert wait_readable(refused, 3.0)
        time.sleep(0.1)  # had the server closed with the answer, this body would bring back a reset
        refused.sendall(b"x" * 50000)
        time.sleep(0.1)
        refused.sendall(b"x" * 50000)  # ... which this send would report
        received = recv_until_close(refused, 3.0)
        assert received.ending == "closed", "the server must stop sending with a FIN, not a reset"
        assert [r.status for r in parse_responses(received.data)] == [503]


def test_a_refused_client_that_keeps_sending_is_closed_after_linger_timeout(serve: Serve) -> None:
    server = serve("--max-connections", "1", "--linger-timeout", "0.5")
    with server.connect() as held, server.connect() as refused, server.connect() as silent:
        held.sendall(get("/plaintext"))
        assert ResponseReader(held).read().status == 200
        refused.sendall(get("/plaintext"))
        assert wait_readable(refused, 3.0)
        started = time.monotonic()
        with pytest.raises(OSError):  # EPIPE or ECONNRESET once the server has closed
            while time.monotonic() - started < 5:
                refused.sendall(b"x" * 1000)
                time.sleep(0.02)
        elapsed = time.monotonic() - started
        assert 0.4 <= elapsed < 1.5, f"closed after {elapsed:.2f}s with linger_timeout 0.5"
        silence = recv_until_close(silent, 3.0)  # sends nothing: closed, unanswered, as soon
        assert silence.closed and silence.data == b""
        assert time.monotonic() - started < 1.5
        held.sendall(get("/plaintext"))  # the connection within the cap is served all along
        assert ResponseReader(held).read().status == 200


def test_connection_over_max_connections_gets_503_while_the_others_are_served(serve: Serve) -> None:
    server = serve("--max-connections", "2")
    first, second = server.connect(), server.connect()
    try:
        readers = [ResponseReader(first), ResponseReader(second)]
        for sock, reader in zip((first, second), readers):  # both are open and registered
            sock.sendall(get("/plaintext"))
            assert reader.read().status == 200
        with server.connect() as extra:
            extra.sendall(get("/plaintext"))
            received = recv_until_close(extra, 3.0)
        assert received.closed
        refused = parse_responses(received.data)
        assert [r.status for r in refused] == [503]
        assert refused[0].header("retry-after") == "1"
        for sock, reader in zip((first, second), readers):  # the open ones still work
            sock.sendall(get("/plaintext"))
            assert reader.read().body == b"Hello, World!"
    finally:
        first.close()
        second.close()
    server.wait_for_stderr("refusing connection .* \\(max_connections\\)")
    deadline = time.monotonic() + 5
    while True:  # once the others have gone, a new connection is served again
        with server.connect() as sock:
            sock.sendall(get("/plaintext"))
            response = ResponseReader(sock).read()
        if response.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.status == 200


SMUGGLED = b"GET /echo?smuggled HTTP/1.1\r\nHost: t\r\n\r\n"


def test_small_unread_body_is_drained_and_the_connection_reused(serve: Serve, echo_app: str) -> None:
    server = serve("--max-drain-bytes", "1000", app=echo_app)
    body = SMUGGLED * 10  # under 1000 bytes; the handler never reads it
    with server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request("POST", "/status/200", [("Content-Length", str(len(body)))]))
        response = reader.read("POST")
        assert response.status == 200 and not response.closes
        sock.sendall(body)  # arrives after the response: drained, never parsed
        sock.sendall(get("/echo?next"))
        following = reader.read()
        assert following.json()["query"] == "next"


def test_large_unread_body_closes_the_connection_instead_of_draining(serve: Serve, echo_app: str) -> None:
    server = serve("--max-drain-bytes", "1000", app=echo_app)
    body = SMUGGLED * 100  # over 1000 bytes
    with server.connect() as sock:
        sock.sendall(request("POST", "/status/200", [("Content-Length", str(len(body)))]) + body[:100])
        reader = ResponseReader(sock)
        response = reader.read("POST")
        assert response.status == 200
        assert response.closes
        try:
            sock.sendall(body[100:])
        except OSError:
            pass
        assert reader.read_all() == []


def test_unread_body_larger_than_max_drain_bytes_sent_late_closes_the_connection(serve: Serve, echo_app: str) -> None:
    server = serve("--max-drain-bytes", "1000", app=echo_app)
    with server.connect() as sock:
        sock.sendall(request("POST", "/status/200", [("Transfer-Encoding", "chunked")]))
        reader = ResponseReader(sock)
        response = reader.read("POST")
        assert response.status == 200
        chunk = b"400\r\n" + SMUGGLED.ljust(1024, b" ") + b"\r\n"
        try:
            for _ in range(10):  # 10 KiB of unread chunked body: over max_drain_bytes
                sock.sendall(chunk)
        except OSError:
            pass
        received = recv_until_close(sock, 3.0)
    assert received.closed
    assert received.data == b"", "bytes of an unread body were answered as a request"


def test_form_with_more_fields_than_max_form_fields_gets_413(serve: Serve) -> None:
    server = serve("--max-form-fields", "3", app=app_spec("reqresp"))
    ok = requests.post(server.url("/form"), data={"a": "1", "b": "2", "c": "3"}, timeout=5)
    assert ok.status_code == 200 and len(ok.json()["pairs"]) == 3
    for path in ("/form", "/form-sync"):
        refused = requests.post(server.url(path), data={"a": "1", "b": "2", "c": "3", "d": "4"}, timeout=5)
        assert (refused.status_code, refused.text) == (413, "too many form fields (the limit is 3)\n")
