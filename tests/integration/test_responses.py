"""Response framing seen by real clients: HEAD, bodiless statuses, chunked streams, HTTP/1.0."""

from __future__ import annotations

import hashlib
import http.client

import pytest
import requests

from .conftest import Serve
from .support import ECHO_APPS, ResponseReader, Server, app_spec, exchange, get, parse_responses, request


def test_head_gets_the_headers_of_get_but_no_body(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request("HEAD", "/plaintext") + get("/plaintext"))
        reader = ResponseReader(sock)
        head = reader.read("HEAD")
        get_response = reader.read()
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == "13" == get_response.header("content-length")
    assert head.header("content-type") == get_response.header("content-type")
    assert get_response.body == b"Hello, World!", "bytes of a HEAD body were sent and taken for the next response"


def test_head_of_a_stream_has_no_body_and_no_chunked_framing(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request("HEAD", "/stream?n=3") + get("/plaintext"))
        reader = ResponseReader(sock)
        head = reader.read("HEAD")
        after = reader.read()
    assert head.status == 200 and head.body == b""
    assert after.body == b"Hello, World!"


def test_head_of_a_stream_never_runs_the_generator(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(request("HEAD", "/marked-stream") + get("/marked-stream"))
        reader = ResponseReader(sock)
        head = reader.read("HEAD")
        got = reader.read()
    assert head.status == 200 and head.body == b""
    assert got.body == b"produced\n"
    server.wait_for_stderr("slow: stream generator closed")
    # One generator ran to its end (the GET's); the HEAD's never started.
    assert server.stderr().count("slow: stream generator running") == 1


def test_head_with_http_client(echo_server: Server) -> None:
    conn = http.client.HTTPConnection(echo_server.host, echo_server.port, timeout=5)
    try:
        conn.request("HEAD", "/plaintext")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b""
        assert response.getheader("Content-Length") == "13"
    finally:
        conn.close()


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_and_not_modified_have_no_body(echo_server: Server, status: int) -> None:
    received = exchange(echo_server, get(f"/status/{status}") + get("/plaintext", ("Connection", "close")))
    first, second = parse_responses(received.data)
    assert first.status == status and first.body == b""
    if status == 204:
        assert first.header("content-length") is None and first.header("transfer-encoding") is None
    assert received.data.count(b"HTTP/1.1 ") == 2
    assert second.body == b"Hello, World!"


@pytest.mark.parametrize("status", [100, 101, 103])
def test_1xx_from_a_handler_gets_500_instead_of_shifting_later_responses(echo_server: Server, status: int) -> None:
    with echo_server.connect() as sock:
        sock.sendall(get(f"/status/{status}") + get("/plaintext"))
        reader = ResponseReader(sock)
        first = reader.read()
        second = reader.read()
    assert (first.status, first.informational) == (500, [])
    assert second.body == b"Hello, World!"


def test_stream_is_chunked_and_decodes_with_requests(echo_server: Server) -> None:
    response = requests.get(echo_server.url("/stream"), params={"n": "50"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.headers
    assert response.text == "".join(f"chunk{i}\n" for i in range(50))


def test_stream_read_incrementally_with_requests(echo_server: Server) -> None:
    with requests.get(echo_server.url("/stream"), params={"n": "2000"}, stream=True, timeout=5) as response:
        lines = list(response.iter_lines())
    assert lines == [f"chunk{i}".encode() for i in range(2000)]


def test_empty_stream_is_a_valid_chunked_response(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(get("/stream?n=0") + get("/plaintext"))
        reader = ResponseReader(sock)
        empty = reader.read()
        after = reader.read()
    assert empty.status == 200 and empty.body == b""
    assert after.body == b"Hello, World!"


def test_http10_client_gets_a_stream_unchunked_ending_at_close(echo_server: Server) -> None:
    received = exchange(echo_server, get("/stream?n=5", version="1.0"))
    assert received.closed
    head, _, body = received.data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Content-Length" not in head
    assert b"Connection: close" in head
    assert body == b"".join(b"chunk%d\n" % i for i in range(5))


def test_http10_keep_alive_client_still_gets_a_stream_ending_at_close(echo_server: Server) -> None:
    received = exchange(echo_server, get("/stream?n=5", ("Connection", "keep-alive"), version="1.0"))
    assert received.closed, "an HTTP/1.0 body without a length can only end at the close"
    responses = parse_responses(received.data)
    assert len(responses) == 1 and responses[0].closes
    assert responses[0].body == b"".join(b"chunk%d\n" % i for i in range(5))


def test_http10_client_gets_fixed_length_response_with_content_length(echo_server: Server) -> None:
    received = exchange(echo_server, get("/plaintext", version="1.0"))
    responses = parse_responses(received.data)
    assert responses[0].header("content-length") == "13"
    assert responses[0].body == b"Hello, World!"


def test_every_response_has_date_and_server(echo_server: Server) -> None:
    response = requests.get(echo_server.url("/status/404"), timeout=5)
    assert response.status_code == 404
    assert response.headers["Server"] == "heron"
    assert response.headers["Date"].endswith(" GMT")


def test_unknown_path_gets_404_and_wrong_method_405_with_allow(echo_server: Server) -> None:
    assert requests.get(echo_server.url("/nowhere"), timeout=5).status_code == 404
    response = requests.delete(echo_server.url("/plaintext"), timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("method", ["PROPFIND", "BREW", "OPTIONS", "TRACE", "PATCH"])
def test_echo_answers_any_method_including_extension_methods(echo_server: Server, method: str) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request(method, "/echo?q=1"))
        response = ResponseReader(sock).read(method)
    assert response.status == 200
    assert response.json()["method"] == method


def test_echo_reports_the_request_as_the_app_received_it(echo_server: Server, echo_app: str) -> None:
    """What reached the app, compared as far as its interface can say it (see examples/echo_wsgi.py)."""
    sent = [("Host", "t"), ("X-Request-ID", "7"), ("x-multi", "a"), ("X-Multi", "b"), ("Content-Type", "text/plain"),
            ("Content-Length", "5"), ("X-Latin", "caf\xe9")]
    with echo_server.connect() as sock:
        sock.sendall(request("PUT", "/%65cho?q=%20a+b&r", sent[1:], b"hello"))
        report = ResponseReader(sock).read("PUT").json()
    assert (report["method"], report["path"], report["query"]) == ("PUT", "/echo", "q=%20a+b&r")
    assert (report["body_len"], report["body_sha256"]) == (5, hashlib.sha256(b"hello").hexdigest())
    if echo_app == ECHO_APPS["heron"]:  # names, order and repeats as sent
        assert report["headers"] == [list(pair) for pair in sent]
    elif echo_app == ECHO_APPS["asgi"]:  # the same, names lower-cased
        assert report["headers"] == [[name.lower(), value] for name, value in sent]
    else:  # WSGI: one environ key per name, repeats joined with ", ", case and order lost
        joined: dict[str, str] = {}
        for name, value in sent:
            joined[name.lower()] = joined[name.lower()] + ", " + value if name.lower() in joined else value
        assert {name.lower(): value for name, value in report["headers"]} == joined


def test_options_asterisk_gets_204_with_allow(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(request("OPTIONS", "*"))
        response = ResponseReader(sock).read("OPTIONS")
    assert response.status == 204
    assert "GET" in (response.header("allow") or "")


def test_a_handler_learns_that_its_client_left(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    sock = server.connect()
    sock.sendall(get("/wait-for-disconnect?s=30"))
    server.wait_for_stderr("slow: waiting for the client to leave")
    sock.close()
    server.wait_for_stderr("slow: the client left", timeout=5)


def test_a_streaming_response_ends_with_the_trailers_it_set_while_streaming(serve: Serve) -> None:
    server = serve(app=app_spec("slow"))
    with server.connect() as sock:
        sock.sendall(get("/trailers") + get("/pid"))
        data = b""
        while not data.endswith(b"\n") or b"Digest-Chunks" not in data or data.count(b"HTTP/1.1 200") < 2:
            more = sock.recv(65536)
            if not more:
                break
            data += more
    first, _, rest = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in first.lower()
    assert rest.startswith(b"6\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\nDigest-Chunks: 2\r\n\r\nHTTP/1.1 200 OK")
