"""Ambiguous framing is refused and the connection closed: a byte after it is never a request.

Each message hides a second request where a lenient parser might find one.
Exactly one response (the refusal) may come back, and then the close.
"""

from __future__ import annotations

import pytest

from .support import ResponseReader, Server, exchange, get, parse_responses

SMUGGLED = b"GET /echo?smuggled HTTP/1.1\r\nHost: t\r\n\r\n"

AMBIGUOUS = {
    "content-length-and-chunked": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n" + SMUGGLED),
    "chunked-and-content-length": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 44\r\n\r\n"
        b"0\r\n\r\n" + SMUGGLED),
    "differing-duplicate-content-length": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n" + SMUGGLED),
    "differing-content-length-list": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0, 40\r\n\r\n" + SMUGGLED),
    "signed-content-length": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +0\r\n\r\n" + SMUGGLED),
    "bad-chunk-size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0x5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk-size-with-space": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5 \r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk-data-longer-than-size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "obs-fold": (
        b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n Content-Length: 40\r\n\r\n" + SMUGGLED),
    "obs-fold-in-transfer-encoding": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    "bare-lf-in-head": (
        b"GET /echo HTTP/1.1\nHost: t\nContent-Length: 40\n\n" + SMUGGLED),
    "bare-lf-between-fields": (
        b"GET /echo HTTP/1.1\r\nHost: t\nContent-Length: 40\r\n\r\n" + SMUGGLED),
    "bare-lf-after-chunk-size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "space-before-colon": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n"
        b"0\r\n\r\n" + SMUGGLED),
    "transfer-encoding-not-ending-in-chunked": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + SMUGGLED),
    "chunked-twice": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n" + SMUGGLED),
    "chunked-with-empty-member-after": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n" + SMUGGLED),
    "chunked-with-empty-member-before": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    "chunked-with-empty-member-spaced": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked , \r\n\r\n0\r\n\r\n" + SMUGGLED),
    "transfer-encoding-in-http10": (
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
}


@pytest.mark.parametrize("message", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_ambiguous_message_gets_one_refusal_and_close(echo_server: Server, message: bytes) -> None:
    received = exchange(echo_server, message)
    assert received.closed
    responses = parse_responses(received.data, ["POST"])
    assert len(responses) == 1, f"a smuggled request was answered: {[r.status for r in responses]}"
    assert 400 <= responses[0].status < 600
    assert responses[0].closes
    assert b"smuggled" not in received.data


@pytest.mark.parametrize("target", ["/echo", "/status/200"])
def test_bad_chunk_size_closes_whether_or_not_the_handler_reads(echo_server: Server, target: str) -> None:
    message = (f"POST {target} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
               + b"5\r\nhello\r\nzz\r\n" + SMUGGLED)
    received = exchange(echo_server, message)
    assert received.closed
    responses = parse_responses(received.data, ["POST"])
    assert len(responses) == 1
    assert responses[0].closes
    if target == "/echo":
        assert responses[0].status == 400


def test_bad_chunk_sent_later_to_a_handler_that_answered_closes_the_connection(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(b"POST /status/200 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        reader = ResponseReader(sock)
        assert reader.read("POST").status == 200
        try:
            sock.sendall(b"zz\r\n" + SMUGGLED)
        except OSError:
            pass
        assert reader.read_all() == []


def test_identical_duplicate_content_length_is_accepted(echo_server: Server) -> None:
    with echo_server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
                     + get("/plaintext"))
        reader = ResponseReader(sock)
        assert reader.read("POST").json()["body_len"] == 5
        assert reader.read().body == b"Hello, World!"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    b"Content-Length: 5, 5\r\n\r\nhello",
    b"Content-Length: 0005\r\n\r\nhello",
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"Transfer-Encoding: CHUNKED\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
], ids=["two-fields", "list", "leading-zeros", "chunked", "chunked-upper-case"])
def test_the_app_sees_the_framing_the_server_decided_in_plain_form(echo_server: Server, framing: bytes) -> None:
    """One Content-Length in plain digits (WSGI's CONTENT_LENGTH, the ASGI headers), no decoded Transfer-Encoding."""
    with echo_server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\n" + framing)
        echoed = ResponseReader(sock).read("POST").json()
    assert echoed["body_len"] == 5
    framing_fields = [[name.lower(), value] for name, value in echoed["headers"]
                      if name.lower() in ("content-length", "transfer-encoding")]
    assert framing_fields == ([] if b"chunked" in framing.lower() else [["content-length", "5"]])
