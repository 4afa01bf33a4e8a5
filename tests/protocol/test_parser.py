"""RequestParser: one test per rule of RFC 9112 that the parser enforces.

Every rejection is checked fed whole and fed byte by byte, for its exact
status, and for the parser staying dead afterwards (see helpers.assert_rejected).
"""

from __future__ import annotations

import pytest

from heron.errors import ProtocolError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.protocol.events import NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.parser import RequestParser

from .helpers import (
    assert_rejected,
    body_of,
    chunked,
    drain,
    parse,
    parse_bytewise,
    parse_one,
    request,
)

POST = b"POST /upload HTTP/1.1"
TE_CHUNKED = b"Transfer-Encoding: chunked"


# -- a plain request ----------------------------------------------------------


def test_simple_get_gives_head_and_end_of_message() -> None:
    events = parse(request(b"GET /a/b?x=1&y=2 HTTP/1.1", b"Accept: */*"))
    assert events == [
        RequestHead(
            method="GET",
            target="/a/b?x=1&y=2",
            path="/a/b",
            query="x=1&y=2",
            http_version="1.1",
            headers=[("Host", "example.com"), ("Accept", "*/*")],
            authority="example.com",
            keep_alive=True,
            expect_continue=False,
            content_length=0,
            chunked=False,
        ),
        EndOfMessage(),
    ]


def test_field_names_keep_their_case_and_values_lose_surrounding_whitespace() -> None:
    head = parse_one(request(b"GET / HTTP/1.1", b"X-Mixed-Case:  \t value with  inner space \t "))
    assert head.headers[-1] == ("X-Mixed-Case", "value with  inner space")


def test_empty_field_value_is_accepted() -> None:
    assert parse_one(request(b"GET / HTTP/1.1", b"X-Empty:")).headers[-1] == ("X-Empty", "")


def test_obs_text_in_field_value_is_decoded_as_latin1() -> None:
    assert parse_one(request(b"GET / HTTP/1.1", b"X-Name: caf\xe9")).headers[-1] == ("X-Name", "caf\xe9")


def test_tab_inside_field_value_is_accepted() -> None:
    assert parse_one(request(b"GET / HTTP/1.1", b"X-Tab: a\tb")).headers[-1] == ("X-Tab", "a\tb")


def test_nothing_is_emitted_before_the_head_is_complete() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n")
    assert parser.next_event() is NEED_DATA
    assert parser.at_message_start
    parser.feed(b"\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == EndOfMessage()
    assert parser.next_event() is NEED_DATA


# -- Content-Length -----------------------------------------------------------


def test_content_length_body_is_delivered() -> None:
    events = parse(request(POST, b"Content-Length: 5", body=b"hello"))
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.content_length == 5 and not head.chunked
    assert events[1:] == [Data(b"hello"), EndOfMessage()]


def test_content_length_body_arriving_in_pieces_is_delivered_as_it_comes() -> None:
    parser = RequestParser()
    parser.feed(request(POST, b"Content-Length: 10", body=b"abc"))
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Data(b"abc")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"defghij")
    assert drain(parser) == [Data(b"defghij"), EndOfMessage()]


def test_content_length_zero_means_no_body() -> None:
    events = parse(request(POST, b"Content-Length: 0"))
    assert len(events) == 2 and isinstance(events[1], EndOfMessage)


@pytest.mark.parametrize(
    "fields",
    [
        (b"Content-Length: 5", TE_CHUNKED),
        (TE_CHUNKED, b"Content-Length: 5"),
        (b"Content-Length: 0", TE_CHUNKED),
        (b"Content-Length: 5", b"Transfer-Encoding: gzip, chunked"),
    ],
)
def test_content_length_with_transfer_encoding_is_rejected(fields: tuple[bytes, ...]) -> None:
    assert_rejected(request(POST, *fields, body=b"5\r\nhello\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize(
    "fields",
    [
        (b"Content-Length: 5", b"Content-Length: 6"),
        (b"Content-Length: 5, 6",),
        (b"Content-Length: 5", b"Content-Length: 5, 6"),
        (b"Content-Length: 5,,5",),
    ],
)
def test_differing_duplicate_content_length_is_rejected(fields: tuple[bytes, ...]) -> None:
    assert_rejected(request(POST, *fields, body=b"hello!"), 400)


@pytest.mark.parametrize(
    "fields",
    [
        (b"Content-Length: 5", b"Content-Length: 5"),
        (b"Content-Length: 5, 5",),
        (b"Content-Length: 5 ,5", b"content-length:5"),
    ],
)
def test_identical_duplicate_content_length_is_accepted(fields: tuple[bytes, ...]) -> None:
    events = parse(request(POST, *fields, body=b"hello"))
    assert isinstance(events[0], RequestHead) and events[0].content_length == 5
    assert body_of(events) == b"hello"


@pytest.mark.parametrize(
    "fields",
    [
        (b"Content-Length: 5", b"X-A: 1", b"content-length: 5"),
        (b"Content-Length: 5, 5", b"X-A: 1"),
        (b"Content-Length: 005", b"X-A: 1"),
        (b"Content-Length: " + b"0" * 5000 + b"5", b"X-A: 1"),
    ],
)
def test_accepted_content_length_reaches_the_app_as_one_plain_number(fields: tuple[bytes, ...]) -> None:
    head = parse_one(request(POST, *fields, body=b"hello"))
    assert head.headers == [("Host", "example.com"), ("Content-Length", "5"), ("X-A", "1")]


@pytest.mark.parametrize("value", [b"chunked", b"CHUNKED", b" chunked "])
def test_decoded_transfer_encoding_is_not_passed_on(value: bytes) -> None:
    raw = request(POST, b"X-A: 1", b"Transfer-Encoding: " + value, b"X-B: 2", body=b"5\r\nhello\r\n0\r\n\r\n")
    head = parse_one(raw)
    assert head.chunked and head.headers == [("Host", "example.com"), ("X-A", "1"), ("X-B", "2")]


def test_plain_framing_fields_are_passed_on_as_sent() -> None:
    head = parse_one(request(POST, b"content-length: 5", body=b"hello"))
    assert head.headers == [("Host", "example.com"), ("content-length", "5")]


@pytest.mark.parametrize(
    "value",
    [
        b"+5",
        b"-1",
        b" 5 5",
        b"5 5",
        b"0x10",
        b"1_0",
        b"5.0",
        b"1e3",
        b"",
        b"\xb2",  # SUPERSCRIPT TWO: str.isdigit() says yes once decoded as latin-1
        "\uff15".encode("utf-8"),  # FULLWIDTH DIGIT FIVE
        "\u0661".encode("utf-8"),  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_content_length_that_is_not_plain_digits_is_rejected(value: bytes) -> None:
    assert_rejected(request(POST, b"Content-Length: " + value, body=b"hello"), 400)


def test_content_length_with_leading_zeros_is_accepted() -> None:
    head = parse_one(request(POST, b"Content-Length: 005", body=b"hello"))
    assert head.content_length == 5


def test_content_length_with_thousands_of_leading_zeros_is_not_a_crash() -> None:
    # int() refuses strings over 4300 digits; the parser must not let that escape.
    head = parse_one(request(POST, b"Content-Length: " + b"0" * 5000 + b"5", body=b"hello"))
    assert head.content_length == 5


@pytest.mark.parametrize("value", [b"9" * 19, b"9" * 100, b"18446744073709551616", b"9" * 5000])
def test_huge_content_length_is_rejected_as_too_large(value: bytes) -> None:
    assert_rejected(request(POST, b"Content-Length: " + value), 413)


def test_content_length_over_max_body_bytes_is_rejected_before_the_body() -> None:
    limits = Limits().replace(max_body_bytes=10)
    assert_rejected(request(POST, b"Content-Length: 11"), 413, limits)


def test_content_length_at_max_body_bytes_is_accepted() -> None:
    limits = Limits().replace(max_body_bytes=10)
    assert body_of(parse(request(POST, b"Content-Length: 10", body=b"0123456789"), limits)) == b"0123456789"


# -- Transfer-Encoding --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [
        # A coding we could name but do not decode: 501 (RFC 9112 section 6.1).
        (b"gzip, chunked", 501),
        (b"deflate, chunked", 501),
        # A coding nobody knows: 501, whether or not chunked is last.
        (b"foo", 501),
        (b"foo, chunked", 501),
        (b"chunked, foo", 501),
        (b"identity", 501),  # removed from HTTP by RFC 7230
        (b"chunked;q=1", 501),
        # chunked not final: the length cannot be known, 400 (RFC 9112 section 6.3 rule 4).
        (b"chunked, gzip", 400),
        (b"gzip", 400),
        (b"chunked, chunked", 400),
        # Empty lists, and empty members beside chunked: h11 and llhttp disagree about them.
        (b"", 400),
        (b" , ", 400),
        (b"chunked,", 400),
        (b", chunked", 400),
        (b"chunked , ", 400),
        (b"chunked,,", 400),
        (b"gzip,,chunked", 400),
    ],
)
def test_transfer_encoding_other_than_a_final_chunked_is_rejected(value: bytes, status: int) -> None:
    assert_rejected(request(POST, b"Transfer-Encoding: " + value, body=chunked(b"hello")), status)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ((b"Transfer-Encoding: gzip", TE_CHUNKED), 501),
        ((TE_CHUNKED, TE_CHUNKED), 400),
        ((TE_CHUNKED, b"Transfer-Encoding: gzip"), 400),
    ],
)
def test_repeated_transfer_encoding_fields_are_read_as_one_list(fields: tuple[bytes, ...], status: int) -> None:
    assert_rejected(request(POST, *fields, body=chunked(b"hello")), status)


@pytest.mark.parametrize("value", [b"chunked", b"Chunked", b"CHUNKED", b"  chunked  ", b"\tchunked"])
def test_chunked_transfer_encoding_is_accepted_in_any_case_and_list_form(value: bytes) -> None:
    events = parse(request(POST, b"Transfer-Encoding: " + value, body=chunked(b"hello")))
    head = events[0]
    assert isinstance(head, RequestHead) and head.chunked and head.content_length is None
    assert body_of(events) == b"hello"


def test_transfer_encoding_in_http10_is_rejected() -> None:
    assert_rejected(request(b"POST / HTTP/1.0", TE_CHUNKED, body=chunked(b"hello")), 400)


# -- chunked bodies -----------------------------------------------------------


def test_chunked_body_is_delivered_without_framing() -> None:
    events = parse(request(POST, TE_CHUNKED, body=chunked(b"hello", b" ", b"world" * 10)))
    assert body_of(events) == b"hello world" + b"world" * 9
    assert events[-1] == EndOfMessage()


def test_chunks_already_in_the_buffer_become_one_data_event() -> None:
    """Tiny chunks must not cost an object each: a 2-byte chunk is 7 bytes on the wire, 35 bytes as an object."""
    pieces = [b"%02d" % (i % 100) for i in range(5000)]
    events = parse(request(POST, TE_CHUNKED, body=chunked(*pieces)))
    assert [type(e) for e in events] == [RequestHead, Data, EndOfMessage]
    assert body_of(events) == b"".join(pieces)


def test_chunk_data_is_handed_out_as_it_arrives() -> None:
    parser = RequestParser()
    parser.feed(request(POST, TE_CHUNKED) + b"5\r\nhel")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Data(b"hel")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"lo\r\n3\r\n ab\r\n2\r\ncd")
    assert parser.next_event() == Data(b"lo abcd")
    parser.feed(b"\r\n0\r\nX-T: 1\r\n\r\n")
    assert parser.next_event() == EndOfMessage((("X-T", "1"),))


def test_data_before_a_framing_error_comes_first_then_the_error() -> None:
    parser = RequestParser()
    parser.feed(request(POST, TE_CHUNKED) + b"2\r\nab\r\n2\r\ncd\r\nzz\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Data(b"abcd")
    for _ in range(2):  # and the parser stays dead
        with pytest.raises(ProtocolError) as info:
            parser.next_event()
        assert info.value.status == 400


@pytest.mark.parametrize("size", [b"a", b"A", b"00a", b"000000000000000a"])
def test_chunk_size_is_hex_in_either_case_with_up_to_16_digits(size: bytes) -> None:
    events = parse(request(POST, TE_CHUNKED, body=size + b"\r\n" + b"x" * 10 + b"\r\n0\r\n\r\n"))
    assert body_of(events) == b"x" * 10


@pytest.mark.parametrize(
    "size",
    [b"0x5", b"-1", b"+5", b" 5", b"5 ", b"5\t", b"g", b"5g", b"1" * 17, b"0" * 16 + b"5", b"", b"\xb5"],
)
def test_malformed_chunk_size_is_rejected(size: bytes) -> None:
    assert_rejected(request(POST, TE_CHUNKED, body=size + b"\r\nhello\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize("after", [b"XX0\r\n\r\n", b"\n0\r\n\r\n", b"\r0\r\n\r\n", b"X", b"\n"])
def test_chunk_data_not_followed_by_crlf_is_rejected(after: bytes) -> None:
    assert_rejected(request(POST, TE_CHUNKED, body=b"5\r\nhello" + after), 400)


@pytest.mark.parametrize(
    "line",
    [b"5;name=value", b'5 ; a="q"', b"5;", b"5\t;x", b"5;a;b=c;d", b"5;ext=\xff", b"5;a=\"x;y\""],
)
def test_chunk_extensions_are_tolerated(line: bytes) -> None:
    events = parse(request(POST, TE_CHUNKED, body=line + b"\r\nhello\r\n0;last\r\n\r\n"))
    assert body_of(events) == b"hello"


@pytest.mark.parametrize("ext", [b"5;a\x00b", b"5;a\x7f", b"5;a\x01"])
def test_control_characters_in_chunk_extensions_are_rejected(ext: bytes) -> None:
    assert_rejected(request(POST, TE_CHUNKED, body=ext + b"\r\nhello\r\n0\r\n\r\n"), 400)


def test_chunk_line_at_max_chunk_line_is_accepted() -> None:
    limits = Limits().replace(max_chunk_line=16)
    line = b"5;" + b"x" * 14
    assert len(line) == 16
    data = request(POST, TE_CHUNKED, body=line + b"\r\nhello\r\n0\r\n\r\n")
    assert body_of(parse(data, limits)) == body_of(parse_bytewise(data, limits)) == b"hello"


def test_chunk_line_over_max_chunk_line_is_rejected() -> None:
    limits = Limits().replace(max_chunk_line=16)
    line = b"5;" + b"x" * 15
    assert_rejected(request(POST, TE_CHUNKED, body=line + b"\r\nhello\r\n0\r\n\r\n"), 400, limits)


def test_chunk_line_over_max_chunk_line_is_rejected_before_it_ends() -> None:
    limits = Limits().replace(max_chunk_line=16)
    assert_rejected(request(POST, TE_CHUNKED, body=b"5;" + b"x" * 100), 400, limits)


def test_trailers_are_returned_in_end_of_message() -> None:
    body = chunked(b"hello", trailers=b"X-Checksum: abc\r\nX-Other:  two \r\n")
    events = parse(request(POST, TE_CHUNKED, body=body))
    assert events[-1] == EndOfMessage((("X-Checksum", "abc"), ("X-Other", "two")))
    assert events == parse_bytewise(request(POST, TE_CHUNKED, body=body))


def test_chunked_body_over_max_body_bytes_is_rejected_before_the_oversized_chunk() -> None:
    limits = Limits().replace(max_body_bytes=10)
    parser = RequestParser(limits)
    parser.feed(request(POST, TE_CHUNKED, body=b"6\r\nhello!\r\n5\r\nworld\r\n0\r\n\r\n"))
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Data(b"hello!")
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 413


@pytest.mark.parametrize("body", [chunked(b"x" * 6, b"x" * 5), chunked(b"x" * 11), b"ffffffffffffffff\r\n"])
def test_running_total_of_chunked_body_over_max_body_bytes_is_rejected(body: bytes) -> None:
    assert_rejected(request(POST, TE_CHUNKED, body=body), 413, Limits().replace(max_body_bytes=10))


def test_chunked_body_at_max_body_bytes_is_accepted() -> None:
    limits = Limits().replace(max_body_bytes=10)
    assert body_of(parse(request(POST, TE_CHUNKED, body=chunked(b"x" * 4, b"y" * 6)), limits)) == b"xxxxyyyyyy"


def test_trailer_section_over_max_header_bytes_is_rejected() -> None:
    limits = Limits().replace(max_header_bytes=64)
    trailers = b"X-Big: " + b"a" * 80 + b"\r\n"
    assert_rejected(request(POST, TE_CHUNKED, body=chunked(b"hi", trailers=trailers)), 431, limits)
    assert_rejected(request(POST, TE_CHUNKED, body=b"0\r\n" + trailers), 431, limits)


def test_trailer_section_at_max_header_bytes_is_accepted() -> None:
    limits = Limits().replace(max_header_bytes=64)
    trailers = b"X-Big: " + b"a" * (64 - len(b"X-Big: \r\n")) + b"\r\n"
    assert len(trailers) == 64
    data = request(POST, TE_CHUNKED, body=chunked(b"hi", trailers=trailers))
    assert parse(data, limits)[-1] == parse_bytewise(data, limits)[-1] == EndOfMessage((("X-Big", "a" * 55),))


def test_too_many_trailer_fields_are_rejected() -> None:
    limits = Limits().replace(max_header_count=3)
    trailers = b"".join(b"X-%d: v\r\n" % i for i in range(4))
    assert_rejected(request(POST, TE_CHUNKED, body=chunked(b"hi", trailers=trailers)), 431, limits)


# -- line endings -------------------------------------------------------------

_BARE_LINE_ENDS = [
    # (where, complete request, prefix that never completes)
    ("request line LF", b"GET / HTTP/1.1\nHost: a\r\n\r\n", b"GET / HTTP/1.1\nHost: a"),
    ("request line CR", b"GET / HTTP/1.1\rHost: a\r\n\r\n", b"GET / HTTP/1.1\rHost: a"),
    ("header LF", b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\nX: y"),
    ("header CR", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\rX: y"),
    ("head ends LF LF", b"GET / HTTP/1.1\r\nHost: a\n\n", b"GET / HTTP/1.1\r\nHost: a\n"),
    ("head ends CRLF LF", b"GET / HTTP/1.1\r\nHost: a\r\n\n", b"GET / HTTP/1.1\r\nHost: a\r\n\nX"),
    ("leading empty line LF", b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", b"\nGET"),
    (
        "chunk line LF",
        request(POST, TE_CHUNKED, body=b"5\nhello\r\n0\r\n\r\n"),
        request(POST, TE_CHUNKED, body=b"5\nhe"),
    ),
    (
        "chunk line CR",
        request(POST, TE_CHUNKED, body=b"5\rhello\r\n0\r\n\r\n"),
        request(POST, TE_CHUNKED, body=b"5\rhe"),
    ),
    (
        "last chunk LF",
        request(POST, TE_CHUNKED, body=b"0\n\r\n"),
        request(POST, TE_CHUNKED, body=b"0\n"),
    ),
    (
        "trailer LF",
        request(POST, TE_CHUNKED, body=b"0\r\nX: y\nZ: w\r\n\r\n"),
        request(POST, TE_CHUNKED, body=b"0\r\nX: y\nZ"),
    ),
    (
        "trailer CR",
        request(POST, TE_CHUNKED, body=b"0\r\nX: y\rZ: w\r\n\r\n"),
        request(POST, TE_CHUNKED, body=b"0\r\nX: y\rZ"),
    ),
    (
        "trailer section ends LF",
        request(POST, TE_CHUNKED, body=b"0\r\n\n"),
        request(POST, TE_CHUNKED, body=b"0\r\n\nX"),
    ),
]


@pytest.mark.parametrize(("where", "data", "prefix"), _BARE_LINE_ENDS, ids=[c[0] for c in _BARE_LINE_ENDS])
def test_bare_lf_or_cr_as_line_end_is_rejected(where: str, data: bytes, prefix: bytes) -> None:
    assert_rejected(data, 400)


@pytest.mark.parametrize(("where", "data", "prefix"), _BARE_LINE_ENDS, ids=[c[0] for c in _BARE_LINE_ENDS])
def test_bare_lf_or_cr_is_rejected_even_if_the_message_never_completes(where: str, data: bytes, prefix: bytes) -> None:
    assert_rejected(prefix, 400)


def test_cr_at_the_end_of_the_buffer_waits_for_the_next_byte() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"\nHost: a\r")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"\n\r")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"\n")
    assert isinstance(parser.next_event(), RequestHead)


@pytest.mark.parametrize("fold", [b"X: a\r\n b", b"X: a\r\n\tb", b" Host: a"])
def test_obs_fold_is_rejected(fold: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", fold), 400)


@pytest.mark.parametrize("line", [b"Host : a", b"Host\t: a", b"Host   :a"])
def test_whitespace_between_field_name_and_colon_is_rejected(line: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", line, host=None), 400)


def test_field_line_without_colon_is_rejected() -> None:
    assert_rejected(request(b"GET / HTTP/1.1", b"NoColonHere"), 400)


# -- tokens and characters ----------------------------------------------------


@pytest.mark.parametrize("method", [b"G@T", b"GE(T", b"GET,", b"G\x00T", b"G\xc3\xa9T", b"GE\x7fT", b"GET/"])
def test_invalid_token_in_method_is_rejected(method: bytes) -> None:
    assert_rejected(request(method + b" / HTTP/1.1"), 400)


def test_unusual_but_valid_method_tokens_are_accepted() -> None:
    assert parse_one(request(b"M-SEARCH! / HTTP/1.1")).method == "M-SEARCH!"
    assert parse_one(request(b"get / HTTP/1.1")).method == "get"  # methods are case-sensitive


@pytest.mark.parametrize(
    "line",
    [b"X@Y: z", b"(X): z", b"X\x00: z", b": novalue", b"X\xe9: z", b"X/Y: z", b'"X": z', b"X\x7f: z"],
)
def test_invalid_token_in_field_name_is_rejected(line: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", line), 400)


@pytest.mark.parametrize("char", [b"\x00", b"\x01", b"\x08", b"\x0b", b"\x0c", b"\x1b", b"\x1f", b"\x7f"])
def test_control_character_in_field_value_is_rejected(char: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", b"X-Value: a" + char + b"b"), 400)


# -- Host and request-target --------------------------------------------------


def test_missing_host_in_http11_is_rejected() -> None:
    assert_rejected(request(b"GET / HTTP/1.1", host=None), 400)


def test_missing_host_in_http10_is_accepted() -> None:
    head = parse_one(request(b"GET / HTTP/1.0", host=None))
    assert head.authority == ""


@pytest.mark.parametrize("second", [b"Host: example.com", b"Host: other.example", b"host: "])
def test_duplicate_host_is_rejected(second: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", second), 400)


@pytest.mark.parametrize(
    "host", [b"a b", b"x/y", b"a@b", b"user@example.com", b"[::1", b"a:b:c", b"example.com:http", b"ex\xe9.com", b"a?b"]
)
def test_malformed_host_is_rejected(host: bytes) -> None:
    assert_rejected(request(b"GET / HTTP/1.1", host=host), 400)


@pytest.mark.parametrize(
    "host", ["example.com", "example.com:8080", "[::1]", "[::1]:80", "127.0.0.1:1", "xn--bcher-kva.example", ""]
)
def test_valid_host_is_the_authority(host: str) -> None:
    assert parse_one(request(b"GET / HTTP/1.1", host=host.encode())).authority == host


def test_each_request_on_a_connection_has_its_host_checked() -> None:
    """The parser skips the check for a Host equal to the last valid one; any other is checked."""
    parser = RequestParser(Limits())
    for host in (b"a.example", b"a.example", b"b.example:81", b"a.example"):
        parser.feed(request(b"GET / HTTP/1.1", host=host))
        head = parser.next_event()
        assert isinstance(head, RequestHead) and head.authority == host.decode()
        assert isinstance(parser.next_event(), EndOfMessage)
    parser.feed(request(b"GET / HTTP/1.1", host=b"a b"))
    with pytest.raises(ProtocolError) as caught:
        parser.next_event()
    assert caught.value.status == 400


def test_absolute_form_authority_wins_over_host() -> None:
    head = parse_one(request(b"GET http://a.example:81/p/q?x=1 HTTP/1.1", host=b"b.example"))
    assert (head.authority, head.path, head.query) == ("a.example:81", "/p/q", "x=1")
    assert head.target == "http://a.example:81/p/q?x=1"


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [(b"http://a.example", "/", ""), (b"HTTPS://a.example?x", "/", "x"), (b"http://[::1]:8080/", "/", "")],
)
def test_absolute_form_without_path_has_root_path(target: bytes, path: str, query: str) -> None:
    head = parse_one(request(b"GET " + target + b" HTTP/1.1"))
    assert (head.path, head.query) == (path, query)


@pytest.mark.parametrize(
    "target",
    [b"ftp://a.example/", b"http://", b"http:///p", b"http://u@a.example/", b"http://:80/", b"a.example/x",
     b"http:/a.example/", b"http://a b/"],
)
def test_invalid_absolute_form_is_rejected(target: bytes) -> None:
    assert_rejected(request(b"GET " + target + b" HTTP/1.1"), 400)


def test_absolute_form_still_needs_a_valid_host_field_in_http11() -> None:
    # RFC 9112 section 3.2: a 1.1 request without Host is rejected whatever its target.
    assert_rejected(request(b"GET http://a.example/ HTTP/1.1", host=None), 400)


def test_asterisk_form_is_accepted_for_options() -> None:
    head = parse_one(request(b"OPTIONS * HTTP/1.1"))
    assert (head.target, head.path, head.query) == ("*", "*", "")


@pytest.mark.parametrize("method", [b"GET", b"POST", b"CONNECT", b"options"])
def test_asterisk_form_is_rejected_outside_options(method: bytes) -> None:
    assert_rejected(request(method + b" * HTTP/1.1"), 400)


@pytest.mark.parametrize("target", ["example.com:443", "[::1]:443", "127.0.0.1:8080"])
def test_connect_takes_authority_form(target: str) -> None:
    head = parse_one(request(b"CONNECT " + target.encode() + b" HTTP/1.1"))
    assert (head.authority, head.path, head.query) == (target, "", "")


@pytest.mark.parametrize("target", [b"example.com", b"[::1]", b"example.com:", b":443", b"/", b"http://a.example/", b"*"])
def test_connect_without_host_and_port_is_rejected(target: bytes) -> None:
    assert_rejected(request(b"CONNECT " + target + b" HTTP/1.1"), 400)


def test_authority_form_outside_connect_is_rejected() -> None:
    assert_rejected(request(b"GET example.com:443 HTTP/1.1"), 400)


@pytest.mark.parametrize(
    "target", [b"/a#frag", b"/#", b"/caf\xc3\xa9", b"/\xff", b"/a b", b"/a\tb", b"/a\x00", b"/a\x7f", b"/a\x01"]
)
def test_fragment_non_ascii_space_or_control_in_target_is_rejected(target: bytes) -> None:
    assert_rejected(request(b"GET " + target + b" HTTP/1.1"), 400)


def test_percent_encoded_target_is_kept_encoded() -> None:
    head = parse_one(request(b"GET /caf%C3%A9/%2F?q=%20 HTTP/1.1"))
    assert (head.path, head.query) == ("/caf%C3%A9/%2F", "q=%20")


# -- request line shape and version -------------------------------------------


@pytest.mark.parametrize("line", [b"GET  / HTTP/1.1", b" GET / HTTP/1.1", b"GET / HTTP/1.1 ", b"GET /", b"GET", b""])
def test_malformed_request_line_is_rejected(line: bytes) -> None:
    assert_rejected(request(line), 400)


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/3.0", b"HTTP/0.9", b"HTTP/9.9"])
def test_unsupported_major_version_is_rejected_with_505(version: bytes) -> None:
    assert_rejected(request(b"GET / " + version), 505)


@pytest.mark.parametrize("version", [b"HTTP/1.2", b"HTTP/1.9"])
def test_higher_http1_minor_version_is_treated_as_11(version: bytes) -> None:
    head = parse_one(request(b"GET / " + version))
    assert head.http_version == "1.1" and head.keep_alive


@pytest.mark.parametrize(
    "version", [b"HTTP/1.10", b"http/1.1", b"HTTP/1", b"HTTP/11", b"HTTP/ 1.1", b"HTTPS/1.1", b"HTTP/1.1x", b"HTTP/\xb9.1"]
)
def test_malformed_version_is_rejected(version: bytes) -> None:
    assert_rejected(request(b"GET / " + version), 400)


# -- size limits --------------------------------------------------------------

SMALL_LINE = Limits().replace(max_request_line=32)


def _line_of(length: int) -> bytes:
    line = b"GET /" + b"a" * (length - len(b"GET / HTTP/1.1")) + b" HTTP/1.1"
    assert len(line) == length
    return line


def test_request_line_at_max_request_line_is_accepted() -> None:
    assert parse_one(request(_line_of(32)), SMALL_LINE).method == "GET"


def test_request_line_over_max_request_line_is_rejected_with_414() -> None:
    assert_rejected(request(_line_of(33)), 414, SMALL_LINE)


def test_incomplete_request_line_over_max_request_line_is_rejected_with_414() -> None:
    assert_rejected(b"GET /" + b"a" * 100, 414, SMALL_LINE)


def test_request_line_over_max_request_line_is_414_while_the_header_section_is_still_arriving() -> None:
    # Whole, this is 414 (the request line is checked first); cut before the
    # head is complete it must not become 431 just because fields are pending.
    limits = Limits().replace(max_request_line=32, max_header_bytes=16)
    assert_rejected(request(_line_of(40), b"X-Long: " + b"v" * 40), 414, limits)
    assert_rejected(_line_of(40) + b"\r\nHost: example.com\r\nX-Long: " + b"v" * 40, 414, limits)


SMALL_HEAD = Limits().replace(max_header_bytes=64)


def _fields_of(size: int) -> bytes:
    """A header section (after the request line, without the final empty line) of ``size`` bytes."""
    fields = b"Host: a\r\nX-Pad: " + b"p" * (size - len(b"Host: a\r\nX-Pad: \r\n")) + b"\r\n"
    assert len(fields) == size
    return fields


def test_header_section_at_max_header_bytes_is_accepted() -> None:
    data = b"GET / HTTP/1.1\r\n" + _fields_of(64) + b"\r\n"
    assert parse_one(data, SMALL_HEAD).headers[-1][0] == "X-Pad"


def test_header_section_over_max_header_bytes_is_rejected_with_431() -> None:
    assert_rejected(b"GET / HTTP/1.1\r\n" + _fields_of(65) + b"\r\n", 431, SMALL_HEAD)


def test_incomplete_header_section_over_max_header_bytes_is_rejected_with_431() -> None:
    assert_rejected(b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"p" * 100, 431, SMALL_HEAD)


@pytest.mark.parametrize("line", [b" GET / HTTP/1.1", b"GET / HTTP/1.1 ", b"GET  / HTTP/1.1", b"GET / HTTP/1.1x"])
def test_a_wrong_request_line_fails_as_soon_as_it_is_whole_not_with_the_rest_of_the_head(line: bytes) -> None:
    whole = RequestParser(DEFAULT_LIMITS)
    whole.feed(line + b"\r\nHost: a\r\n\r\n")
    with pytest.raises(ProtocolError) as expected:
        whole.next_event()
    for cut in (line + b"\r\n", line + b"\r\nHo"):
        parser = RequestParser(DEFAULT_LIMITS)
        parser.feed(cut)
        with pytest.raises(ProtocolError) as info:
            parser.next_event()
        assert (info.value.status, info.value.detail) == (expected.value.status, expected.value.detail)


def test_header_count_at_max_header_count_is_accepted() -> None:
    limits = Limits().replace(max_header_count=3)
    assert len(parse_one(request(b"GET / HTTP/1.1", b"A: 1", b"B: 2"), limits).headers) == 3


def test_header_count_over_max_header_count_is_rejected_with_431() -> None:
    limits = Limits().replace(max_header_count=3)
    assert_rejected(request(b"GET / HTTP/1.1", b"A: 1", b"B: 2", b"C: 3"), 431, limits)


def test_limits_apply_to_each_pipelined_request_separately() -> None:
    data = request(_line_of(32)) * 5
    assert len(parse(data, SMALL_LINE)) == 10


# -- Expect -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fields", "expected"),
    [
        (POST, (b"Content-Length: 5",), True),
        (POST, (TE_CHUNKED,), True),
        (POST, (b"Content-Length: 0",), False),
        (b"GET / HTTP/1.1", (), False),
        (b"POST / HTTP/1.0", (b"Content-Length: 5",), False),  # RFC 9110 section 10.1.1
    ],
)
def test_expect_100_continue_is_reported_only_for_http11_with_a_body(
    line: bytes, fields: tuple[bytes, ...], expected: bool
) -> None:
    events = parse(request(line, b"Expect: 100-continue", *fields))
    head = events[0]
    assert isinstance(head, RequestHead) and head.expect_continue is expected


def test_expect_100_continue_is_case_insensitive() -> None:
    events = parse(request(POST, b"expect: 100-Continue", b"Content-Length: 1"))
    assert isinstance(events[0], RequestHead) and events[0].expect_continue


@pytest.mark.parametrize(
    "line", [b"POST / HTTP/1.1", b"POST / HTTP/1.0"]
)
@pytest.mark.parametrize("value", [b"foo", b"100-continue, foo", b"200-ok", b"100-continue;x=1"])
def test_other_expectations_are_rejected_with_417(line: bytes, value: bytes) -> None:
    assert_rejected(request(line, b"Expect: " + value, b"Content-Length: 1", body=b"x"), 417)


# -- connection management ----------------------------------------------------


def test_leading_empty_lines_before_a_request_are_ignored() -> None:
    data = b"\r\n\r\n\r\n" + request()
    assert isinstance(parse_one(data), RequestHead)
    parser = RequestParser()
    parser.feed(request() + b"\r\n")
    assert len(drain(parser)) == 2
    parser.feed(b"\r\n" + request())
    assert len(drain(parser)) == 2


@pytest.mark.parametrize(
    ("version", "fields", "keep_alive"),
    [
        (b"1.1", (), True),
        (b"1.1", (b"Connection: close",), False),
        (b"1.1", (b"Connection: Keep-Alive, CLOSE",), False),
        (b"1.1", (b"Connection: upgrade", b"Connection: close"), False),
        (b"1.1", (b"Connection: upgrade",), True),
        (b"1.1", (b"Connection: closed",), True),
        (b"1.0", (), False),
        (b"1.0", (b"Connection: keep-alive",), True),
        (b"1.0", (b"Connection: Keep-Alive",), True),
        (b"1.0", (b"Connection: keep-alive, close",), False),
        (b"1.0", (b"Connection: keep-alives",), False),
    ],
)
def test_keep_alive_follows_version_and_connection_field(
    version: bytes, fields: tuple[bytes, ...], keep_alive: bool
) -> None:
    assert parse_one(request(b"GET / HTTP/" + version, *fields)).keep_alive is keep_alive


def test_pipelined_requests_in_one_buffer_give_their_events_in_order() -> None:
    data = (
        request(b"GET /1 HTTP/1.1")
        + request(b"POST /2 HTTP/1.1", b"Content-Length: 3", body=b"abc")
        + request(b"POST /3 HTTP/1.1", TE_CHUNKED, body=chunked(b"de", b"f", trailers=b"T: 1\r\n"))
        + request(b"GET /4 HTTP/1.0", b"Connection: keep-alive")
    )
    events = parse(data)
    shape = [(type(e).__name__, getattr(e, "target", getattr(e, "data", None))) for e in events]
    assert shape == [
        ("RequestHead", "/1"), ("EndOfMessage", None),
        ("RequestHead", "/2"), ("Data", b"abc"), ("EndOfMessage", None),
        ("RequestHead", "/3"), ("Data", b"def"), ("EndOfMessage", None),
        ("RequestHead", "/4"), ("EndOfMessage", None),
    ]
    assert events[7] == EndOfMessage((("T", "1"),))
    assert events == parse_bytewise(data)


def test_parser_leaves_pipelined_requests_buffered_until_asked() -> None:
    parser = RequestParser()
    second = request(b"GET /2 HTTP/1.1")
    parser.feed(request(b"GET /1 HTTP/1.1") + second)
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == EndOfMessage()
    assert parser.buffered == len(second)
    assert parser.at_message_start


@pytest.mark.parametrize(
    "framing",
    [
        lambda inner: request(POST, b"Content-Length: %d" % len(inner), body=inner),
        lambda inner: request(POST, TE_CHUNKED, body=chunked(inner)),
        lambda inner: request(POST, TE_CHUNKED, body=chunked(inner[:7], inner[7:])),
    ],
    ids=["content-length", "chunked", "chunked-split"],
)
def test_body_of_one_request_is_never_parsed_as_the_next_request(framing: object) -> None:
    smuggled = request(b"GET /admin HTTP/1.1", b"Content-Length: 0")
    assert callable(framing)
    data = framing(smuggled)
    for events in (parse(data), parse_bytewise(data)):
        heads = [e for e in events if isinstance(e, RequestHead)]
        assert [h.target for h in heads] == ["/upload"]
        assert body_of(events) == smuggled
        assert isinstance(events[-1], EndOfMessage)


def test_unread_body_bytes_stay_buffered_after_head() -> None:
    parser = RequestParser()
    parser.feed(request(POST, b"Content-Length: 5", body=b"hel"))
    assert isinstance(parser.next_event(), RequestHead)
    assert not parser.at_message_start
    assert parser.buffered == 3
