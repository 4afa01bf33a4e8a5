"""ResponseWriter and format_http_date.

Every response the writer produces here is also read back by h11 acting as
a client: if h11 accepts it with the same status, headers and body, the
bytes are valid HTTP/1.1 framing, not merely what this file expects.
"""

from __future__ import annotations

import email.utils
import random

import h11
import pytest

from heron.protocol.writer import HeaderError, ResponseWriter, format_http_date

DATE = "Sun, 06 Nov 1994 08:49:37 GMT"


def read_with_h11(data: bytes, method: str = "GET", *, eof: bool = False) -> tuple[list[object], bytes]:
    """Parse ``data`` as the response to one ``method`` request: (events without Data, body).

    ``eof`` tells h11 the server then closed the connection (read-until-close bodies).
    """
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "example.com")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    events: list[object] = []
    body = b""
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            assert eof, "h11 needs more data: the response is incomplete"
            client.receive_data(b"")
            eof = False
            continue
        assert event is not h11.PAUSED
        if isinstance(event, h11.Data):
            body += event.data
            continue
        events.append(event)
        if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    # Nothing may follow the response (that would be a desync).
    assert client.trailing_data[0] == b""
    return events, body


def fields(response: object) -> list[tuple[str, str]]:
    assert isinstance(response, (h11.Response, h11.InformationalResponse))
    return [(n.decode(), v.decode("latin-1")) for n, v in response.headers]


def names(response: object) -> list[str]:
    return [n for n, _ in fields(response)]


def field(response: object, name: str) -> str | None:
    values = [v for n, v in fields(response) if n == name]
    assert len(values) <= 1, f"{name} sent more than once"
    return values[0] if values else None


def stream(writer: ResponseWriter, status: int, headers: list[tuple[str, str]], chunks: list[bytes],
           content_length: int | None = None, trailers: list[tuple[str, str]] | None = None) -> bytes:
    out = writer.head(status, headers, content_length, date=DATE)
    for chunk in chunks:
        out += writer.body(chunk)
    return out + writer.end(trailers)


# -- status line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "line"),
    [(200, b"HTTP/1.1 200 OK\r\n"), (404, b"HTTP/1.1 404 Not Found\r\n"),
     (418, b"HTTP/1.1 418 I'm a Teapot\r\n"), (599, b"HTTP/1.1 599 \r\n")],
)
def test_status_line_has_version_code_and_reason(status: int, line: bytes) -> None:
    data = ResponseWriter("GET", "1.1", True).complete(status, [], b"", date=DATE)
    assert data.startswith(line)
    events, _ = read_with_h11(data)
    assert isinstance(events[0], h11.Response) and events[0].status_code == status


def test_status_line_is_http11_even_for_http10_clients() -> None:
    assert ResponseWriter("GET", "1.0", False).complete(200, [], b"", date=DATE).startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("status", [0, 99, 600, 1000, -200])
def test_status_outside_100_to_599_raises(status: int) -> None:
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).complete(status, [], b"", date=DATE)


# -- framing choice -----------------------------------------------------------


def test_body_of_known_length_gets_content_length() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = writer.complete(200, [("Content-Type", "text/plain")], b"hello", date=DATE)
    assert data.endswith(b"\r\n\r\nhello")
    events, body = read_with_h11(data)
    assert field(events[0], "content-length") == "5" and field(events[0], "transfer-encoding") is None
    assert body == b"hello" and writer.keep_alive


def test_streamed_body_of_declared_length_gets_content_length() -> None:
    data = stream(ResponseWriter("GET", "1.1", True), 200, [], [b"hel", b"", b"lo"], content_length=5)
    events, body = read_with_h11(data)
    assert field(events[0], "content-length") == "5" and body == b"hello"


def test_body_of_unknown_length_is_chunked_on_http11() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = stream(writer, 200, [], [b"hello", b"", b" world"])
    assert data.endswith(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    events, body = read_with_h11(data)
    assert field(events[0], "transfer-encoding") == "chunked" and field(events[0], "content-length") is None
    assert body == b"hello world" and writer.keep_alive


def test_empty_body_chunk_never_emits_the_last_chunk() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], date=DATE)
    assert writer.body(b"") == b""
    assert writer.body(b"x") == b"1\r\nx\r\n"
    assert writer.body(b"") == b""
    assert writer.end() == b"0\r\n\r\n"


def test_chunked_body_frames_bytearray_and_large_chunks() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], date=DATE)
    assert writer.body(bytearray(b"ab")) == b"2\r\nab\r\n"
    assert writer.body(b"z" * 4096).startswith(b"1000\r\n")


def test_chunked_trailers_are_sent_after_the_last_chunk() -> None:
    data = stream(ResponseWriter("GET", "1.1", True), 200, [("Trailer", "X-Sum")], [b"abc"],
                  trailers=[("X-Sum", "42"), ("X-More", "v")])
    assert data.endswith(b"0\r\nX-Sum: 42\r\nX-More: v\r\n\r\n")
    events, body = read_with_h11(data)
    end = events[-1]
    assert isinstance(end, h11.EndOfMessage)
    assert [(n, v) for n, v in end.headers] == [(b"x-sum", b"42"), (b"x-more", b"v")]
    assert body == b"abc"


def test_trailers_are_dropped_without_chunked_framing() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], 1, date=DATE)
    writer.body(b"x")
    assert writer.end([("X-Sum", "1")]) == b""


@pytest.mark.parametrize("name", ["Content-Length", "transfer-encoding", "Connection"])
def test_framing_fields_in_trailers_raise(name: str) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], date=DATE)
    with pytest.raises(HeaderError):
        writer.end([(name, "1")])


@pytest.mark.parametrize("trailer", [("X-Bad", "a\r\nb"), ("X Bad", "v"), ("X-Bad", "caf\u20ac")])
def test_invalid_trailers_raise(trailer: tuple[str, str]) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], date=DATE)
    with pytest.raises(HeaderError):
        writer.end([trailer])


# -- responses without a body -------------------------------------------------


def test_head_response_keeps_content_length_but_sends_no_body() -> None:
    writer = ResponseWriter("HEAD", "1.1", True)
    data = writer.complete(200, [], b"hello", date=DATE)
    assert data.endswith(b"\r\n\r\n")
    events, body = read_with_h11(data, "HEAD")
    assert field(events[0], "content-length") == "5" and body == b"" and writer.keep_alive


def test_head_response_with_declared_length_and_empty_body_keeps_the_length() -> None:
    writer = ResponseWriter("HEAD", "1.1", True)
    data = writer.complete(200, [("Content-Length", "1234")], b"", date=DATE)
    events, body = read_with_h11(data, "HEAD")
    assert field(events[0], "content-length") == "1234" and body == b""


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_streamed_head_response_is_neither_chunked_nor_closed(version: str) -> None:
    writer = ResponseWriter("HEAD", version, True)
    data = stream(writer, 200, [], [b"ignored"])
    assert b"Transfer-Encoding" not in data and data.endswith(b"\r\n\r\n")
    assert writer.keep_alive
    events, body = read_with_h11(data, "HEAD")
    assert body == b""


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_send_no_body(status: int) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = writer.complete(status, [], b"should not be sent", date=DATE)
    assert data.endswith(b"\r\n\r\n") and b"should not" not in data
    events, body = read_with_h11(data)
    assert body == b"" and field(events[0], "transfer-encoding") is None
    assert writer.keep_alive


@pytest.mark.parametrize(("method", "status", "sends"), [("GET", 200, True), ("HEAD", 200, False),
                                                    ("GET", 204, False), ("GET", 304, False)])
def test_complete_parts_are_the_head_and_the_body_to_send_after_it(method: str, status: int, sends: bool) -> None:
    body = b"x" * 20_000
    head, after = ResponseWriter(method, "1.1", True).complete_parts(status, [("ETag", '"e"')], body, date=DATE)
    assert head + after == ResponseWriter(method, "1.1", True).complete(status, [("ETag", '"e"')], body, date=DATE)
    assert head.endswith(b"\r\n\r\n") and after == (body if sends else b"")
    events, received = read_with_h11(head + after, method)
    assert received == after and field(events[0], "etag") == '"e"'


def test_204_never_has_content_length() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(204, [("Content-Length", "0")], b"", date=DATE)
    assert b"Content-Length" not in data


def test_streamed_204_is_not_chunked() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = stream(writer, 204, [], [b"x"])
    assert b"Transfer-Encoding" not in data and data.endswith(b"\r\n\r\n")
    read_with_h11(data)


def test_304_repeats_the_content_length_the_app_declared() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(
        304, [("ETag", '"v1"'), ("Content-Length", "1234")], b"", date=DATE
    )
    events, body = read_with_h11(data)
    assert field(events[0], "content-length") == "1234" and field(events[0], "etag") == '"v1"' and body == b""


def test_informational_response_has_no_framing_and_does_not_start_the_response() -> None:
    writer = ResponseWriter("POST", "1.1", True)
    interim = writer.head(100, [], date=DATE)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert not writer.started
    final = writer.complete(200, [], b"ok", date=DATE)
    events, body = read_with_h11(interim + final, "POST")
    assert isinstance(events[0], h11.InformationalResponse) and events[0].status_code == 100
    assert isinstance(events[1], h11.Response) and body == b"ok"


def test_101_keeps_the_apps_upgrade_connection_option() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = writer.head(101, [("Upgrade", "websocket"), ("Connection", "Upgrade")], date=DATE)
    assert data == b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


# -- connection management ----------------------------------------------------


def test_http10_with_known_length_says_keep_alive() -> None:
    writer = ResponseWriter("GET", "1.0", True)
    data = writer.complete(200, [], b"hi", date=DATE)
    events, body = read_with_h11(data)
    assert field(events[0], "connection") == "keep-alive" and body == b"hi" and writer.keep_alive


def test_http10_with_unknown_length_is_read_until_close() -> None:
    writer = ResponseWriter("GET", "1.0", True)
    data = stream(writer, 200, [], [b"hello", b" world"])
    assert not writer.keep_alive
    assert data.endswith(b"\r\n\r\nhello world")
    events, body = read_with_h11(data, eof=True)
    assert field(events[0], "connection") == "close"
    assert field(events[0], "transfer-encoding") is None and field(events[0], "content-length") is None
    assert body == b"hello world"


def test_http10_without_keep_alive_says_close() -> None:
    writer = ResponseWriter("GET", "1.0", False)
    events, _ = read_with_h11(writer.complete(200, [], b"hi", date=DATE))
    assert field(events[0], "connection") == "close" and not writer.keep_alive


def test_http11_keep_alive_sends_no_connection_field() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    events, _ = read_with_h11(writer.complete(200, [], b"hi", date=DATE))
    assert field(events[0], "connection") is None and writer.keep_alive


def test_connection_close_is_sent_when_keep_alive_is_false() -> None:
    writer = ResponseWriter("GET", "1.1", False)
    events, _ = read_with_h11(writer.complete(200, [], b"hi", date=DATE))
    assert field(events[0], "connection") == "close" and not writer.keep_alive


@pytest.mark.parametrize("value", ["close", "Close", "keep-alive, close", "x-option,CLOSE"])
def test_app_set_connection_close_is_honoured(value: str) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    events, _ = read_with_h11(writer.complete(200, [("Connection", value)], b"hi", date=DATE))
    assert not writer.keep_alive
    assert "close" in [t.strip().lower() for t in (field(events[0], "connection") or "").split(",")]


@pytest.mark.parametrize("value", ["x-closed", "enclosed", "keep-alive"])
def test_app_set_connection_without_the_close_token_keeps_alive(value: str) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = writer.complete(200, [("Connection", value)], b"hi", date=DATE)
    assert writer.keep_alive
    assert b"keep-alive" not in data.lower()


def test_app_set_keep_alive_field_is_dropped() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(200, [("Keep-Alive", "timeout=99")], b"", date=DATE)
    assert b"Keep-Alive" not in data


def test_app_set_transfer_encoding_is_replaced_by_the_writers_framing() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = stream(writer, 200, [("Transfer-Encoding", "chunked")], [b"abc"])
    assert data.count(b"Transfer-Encoding") == 1
    _, body = read_with_h11(data)
    assert body == b"abc"
    data = ResponseWriter("GET", "1.1", True).complete(200, [("Transfer-Encoding", "chunked")], b"abc", date=DATE)
    events, body = read_with_h11(data)
    assert field(events[0], "transfer-encoding") is None and field(events[0], "content-length") == "3"


def test_app_set_content_length_frames_a_streamed_body() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    data = stream(writer, 200, [("content-length", "3")], [b"a", b"bc"])
    events, body = read_with_h11(data)
    assert field(events[0], "content-length") == "3" and body == b"abc"


def test_identical_app_set_content_lengths_are_sent_once() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(
        200, [("Content-Length", "3"), ("Content-Length", "3")], b"abc", date=DATE
    )
    assert data.count(b"Content-Length") == 1


@pytest.mark.parametrize("value", ["4", "2", "abc", "-1", "+3", " 3", "3.0", "\u0663", "\u00b2", "9" * 5000,
                                   str(10**18)])
def test_app_set_content_length_that_does_not_match_the_body_raises(value: str) -> None:
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).complete(200, [("Content-Length", value)], b"abc", date=DATE)


def test_negative_content_length_argument_raises() -> None:
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).head(200, [], -1, date=DATE)


def test_date_and_server_are_present_once() -> None:
    events, _ = read_with_h11(ResponseWriter("GET", "1.1", True).complete(200, [], b"", date=DATE))
    assert field(events[0], "date") == DATE and field(events[0], "server") == "heron"


def test_app_set_date_and_server_replace_the_defaults() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(
        200, [("server", "custom"), ("Date", "Mon, 07 Nov 1994 08:49:37 GMT")], b"", date=DATE
    )
    events, _ = read_with_h11(data)
    assert field(events[0], "server") == "custom"
    assert field(events[0], "date") == "Mon, 07 Nov 1994 08:49:37 GMT"


def test_repeated_app_fields_keep_their_order() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(
        200, [("Set-Cookie", "a=1"), ("X-A", "x"), ("Set-Cookie", "b=2")], b"", date=DATE
    )
    events, _ = read_with_h11(data)
    assert [v for n, v in fields(events[0]) if n == "set-cookie"] == ["a=1", "b=2"]


# -- header safety ------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ("X-Evil", "a\r\nSet-Cookie: x=1"),
        ("X-Evil", "a\nb"),
        ("X-Evil", "a\rb"),
        ("X-Evil", "a\x00b"),
        ("X-Evil", "a\x1bb"),  # ESC and the other controls: not field-vchar (RFC 9110 section 5.5)
        ("X-Evil", "a\x7fb"),
        ("X-Evil", "\x0b"),
        ("X-Evil\r\nX-Other", "v"),
        ("X-Evil\n", "v"),
        ("X\x00Evil", "v"),
        ("X Evil", "v"),
        ("X-Evil:", "v"),
        ("", "v"),
        ("X-Caf\u00e9", "v"),
    ],
)
def test_unsafe_header_name_or_value_raises_and_is_never_serialised(header: tuple[str, str]) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    with pytest.raises(HeaderError):
        writer.complete(200, [header], b"", date=DATE)
    with pytest.raises(HeaderError):
        writer.head(200, [("X-Fine", "ok"), header], date=DATE)


def test_tab_space_and_obs_text_in_a_value_are_sent() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(200, [("X-Fine", "a\tb c\xe9")], b"", date=DATE)
    assert b"\r\nX-Fine: a\tb c\xe9\r\n" in data


@pytest.mark.parametrize("value", ["caf\u20ac", "\u4e2d\u6587", "emoji \U0001f600"])
def test_non_latin1_value_raises(value: str) -> None:
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).complete(200, [("X-Text", value)], b"", date=DATE)


def test_latin1_value_is_sent_as_one_byte_per_character() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(200, [("X-Text", "caf\u00e9")], b"", date=DATE)
    assert b"X-Text: caf\xe9\r\n" in data


@pytest.mark.parametrize("header", [(b"X", "v"), ("X", b"v"), ("X", 1), (None, "v")])
def test_non_str_name_or_value_raises(header: tuple[object, object]) -> None:
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).complete(200, [header], b"", date=DATE)  # type: ignore[list-item]


@pytest.mark.parametrize(
    "bad", [[("X", "a\nb")], [("X", "caf\u20ac")], [("Content-Length", "9")], [("Connection", "close"), ("X", "\u20ac")]]
)
def test_header_error_leaves_the_writer_usable_for_an_error_response(bad: list[tuple[str, str]]) -> None:
    writer = ResponseWriter("GET", "1.1", True)
    with pytest.raises(HeaderError):
        writer.complete(200, bad, b"abc", date=DATE)
    assert not writer.started and writer.keep_alive
    events, body = read_with_h11(writer.complete(500, [], b"error", date=DATE))
    assert isinstance(events[0], h11.Response) and events[0].status_code == 500 and body == b"error"


# -- body length bookkeeping --------------------------------------------------


def test_body_longer_than_content_length_raises() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], 3, date=DATE)
    assert writer.body(b"ab") == b"ab"
    with pytest.raises(HeaderError):
        writer.body(b"cd")


def test_body_shorter_than_content_length_raises_at_end() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], 3, date=DATE)
    writer.body(b"ab")
    with pytest.raises(HeaderError):
        writer.end()


def test_head_twice_raises() -> None:
    writer = ResponseWriter("GET", "1.1", True)
    writer.head(200, [], 0, date=DATE)
    with pytest.raises(RuntimeError):
        writer.head(200, [], 0, date=DATE)


def test_body_before_head_raises() -> None:
    with pytest.raises(RuntimeError):
        ResponseWriter("GET", "1.1", True).body(b"x")


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("version", ["1.1", "1.0"])
@pytest.mark.parametrize("status", [200, 201, 204, 206, 301, 304, 404, 500])
@pytest.mark.parametrize("known_length", [True, False])
def test_every_combination_is_valid_http_for_h11(method: str, version: str, status: int, known_length: bool) -> None:
    writer = ResponseWriter(method, version, True)
    payload = [b"chunk-one ", b"chunk-two"]
    length = sum(map(len, payload)) if known_length else None
    data = stream(writer, status, [("Content-Type", "text/plain")], payload, content_length=length)
    events, body = read_with_h11(data, method, eof=not writer.keep_alive)
    assert isinstance(events[0], h11.Response) and events[0].status_code == status
    bodiless = method == "HEAD" or status in (204, 304)
    assert body == (b"" if bodiless else b"chunk-one chunk-two")
    assert writer.keep_alive is (version == "1.1" or known_length or bodiless)


# -- dates --------------------------------------------------------------------


def test_format_http_date_known_example() -> None:
    assert format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_format_http_date_matches_email_utils_for_many_timestamps() -> None:
    rng = random.Random(1994)
    stamps: list[float] = [0, 1, 59, 60, 86399, 86400, 951782400, 951868800, 2147483647, 2147483648,
                           4102444800, 253402300799, -1, -0.5, 0.999, 1.5, 1700000000.75]
    stamps += [rng.randrange(0, 253402300800) for _ in range(2000)]
    stamps += [rng.uniform(0, 4e9) for _ in range(500)]
    for t in stamps:
        assert format_http_date(t) == email.utils.formatdate(t, usegmt=True), t


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [("GET", 200, True), ("HEAD", 200, False), ("GET", 204, False), ("GET", 304, False), ("POST", 201, True)],
)
def test_sends_body_tells_the_server_whether_to_produce_a_body(method: str, status: int, expected: bool) -> None:
    writer = ResponseWriter(method, "1.1", True)
    assert not writer.sends_body  # nothing is decided before the head
    writer.head(status, [], None, date=DATE)
    assert writer.sends_body is expected


def test_fields_remembered_as_valid_do_not_weaken_the_check() -> None:
    from heron.protocol import writer as writer_module

    writer_module.validate_headers([("X-Seen", "ok")])
    writer_module.validate_headers([("X-Seen", "ok")])  # answered from the memory of valid fields
    assert ("X-Seen", "ok") in writer_module._CHECKED
    with pytest.raises(HeaderError):
        writer_module.validate_headers([("X-Seen", "ok"), ("X-Seen", "ok\r\nX-Injected: 1")])
    with pytest.raises(HeaderError):
        writer_module.validate_headers([["X Bad", "v"]])  # type: ignore[list-item]  # a list pair: checked, not hashed
    writer_module.validate_headers([["X-List", "v"]])  # type: ignore[list-item]
    assert ("X-List", "v") not in writer_module._CHECKED


def test_memory_of_valid_fields_is_bounded() -> None:
    from heron.protocol import writer as writer_module

    for i in range(writer_module._MAX_CHECKED + 10):
        writer_module.validate_headers([("X-Many", str(i))])
    assert len(writer_module._CHECKED) <= writer_module._MAX_CHECKED


# -- header lists worked out once (_PREPARED) -------------------------------------


def test_a_remembered_header_list_frames_each_response_for_itself() -> None:
    """The app's part is remembered; framing, Connection and the length check are per response."""
    headers = [("Content-Type", "text/plain"), ("Connection", "x-option")]
    closing = ResponseWriter("GET", "1.1", False).complete(200, headers, b"abc", date=DATE)
    kept = ResponseWriter("GET", "1.1", True).complete(200, headers, b"abcd", date=DATE)
    old = ResponseWriter("GET", "1.0", True).complete(200, headers, b"", date=DATE)
    assert b"Connection: x-option, close\r\n" in closing and b"Content-Length: 3\r\n" in closing
    assert b"Connection: x-option\r\n" in kept and b"close" not in kept and b"Content-Length: 4\r\n" in kept
    assert b"Connection: x-option, keep-alive\r\n" in old
    declared = [("Content-Length", "3")]
    assert ResponseWriter("GET", "1.1", True).complete(200, declared, b"abc", date=DATE).endswith(b"\r\n\r\nabc")
    with pytest.raises(HeaderError):  # the same list, remembered with length 3, for a 4-byte body
        ResponseWriter("GET", "1.1", True).complete(200, declared, b"abcd", date=DATE)


def test_a_bad_header_list_is_refused_every_time_and_list_pairs_are_checked_each_time() -> None:
    for _ in range(2):
        with pytest.raises(HeaderError):
            ResponseWriter("GET", "1.1", True).complete(200, [("X", "a\r\nb")], b"", date=DATE)
    pairs = [["X-List", "ok"]]  # unhashable: never remembered, still sent
    for _ in range(2):
        data = ResponseWriter("GET", "1.1", True).complete(200, pairs, b"", date=DATE)  # type: ignore[arg-type]
        assert b"\r\nX-List: ok\r\n" in data
    pairs[0][1] = "bad\r\nInjected: 1"
    with pytest.raises(HeaderError):
        ResponseWriter("GET", "1.1", True).complete(200, pairs, b"", date=DATE)  # type: ignore[arg-type]


def test_date_and_server_set_by_the_app_replace_the_writers() -> None:
    data = ResponseWriter("GET", "1.1", True).complete(200, [("Server", "mine")], b"", date=DATE)
    assert b"Server: mine\r\n" in data and b"heron" not in data and f"Date: {DATE}\r\n".encode() in data
    data = ResponseWriter("GET", "1.1", True).complete(200, [("Date", "x")], b"", date=DATE)
    assert b"Date: x\r\n" in data and DATE.encode() not in data and b"Server: heron\r\n" in data


def test_the_remembered_header_lists_and_dates_stay_bounded() -> None:
    """An app whose every response has its own header values (a request id) cannot grow the memos."""
    from heron.protocol import writer as writer_module

    for i in range(writer_module._MAX_PREPARED + 100):
        data = ResponseWriter("GET", "1.1", True).complete(200, [("X-Request-Id", str(i))], b"", date=DATE)
        assert f"\r\nX-Request-Id: {i}\r\n".encode() in data
        assert len(writer_module._PREPARED) <= writer_module._MAX_PREPARED
    for second in range(10):
        date = format_http_date(784111777 + second)
        data = ResponseWriter("GET", "1.1", True).complete(200, [], b"", date=date)
        assert f"\r\nDate: {date}\r\nServer: heron\r\n".encode() in data
        assert len(writer_module._DATE_AND_SERVER) <= 4
