"""The multipart/form-data decoder: parts as sent whatever the pieces, its limits, the advisories' bodies in one pass,
and Content-Disposition read so that no two readers could disagree."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.errors import ProtocolError
from heron.protocol.events import END_OF_MESSAGE, NEED_DATA, Data
from heron.protocol.multipart import (PART_END, FormPart, MultipartDecoder, PartHeaders, boundary_of, form_part,
                                      parse_content_disposition)

from .strategies import property_settings

BOUNDARY = b"----heronBoundary7MA4YWxkTrZu0gW"
LIMITS = {"max_parts": 100, "max_header_bytes": 1024, "max_headers": 8}


def body(*parts: tuple[list[tuple[str, str]], bytes], boundary: bytes = BOUNDARY, preamble: bytes = b"",
         epilogue: bytes = b"") -> bytes:
    """A body as browsers write it (RFC 7578 section 4)."""
    out = [preamble]
    for headers, content in parts:
        out.append(b"--" + boundary + b"\r\n")
        out.extend(f"{name}: {value}\r\n".encode() for name, value in headers)
        out.append(b"\r\n" + content + b"\r\n")
    out.append(b"--" + boundary + b"--\r\n" + epilogue)
    return b"".join(out)


def field(name: str, content: bytes) -> tuple[list[tuple[str, str]], bytes]:
    return [("Content-Disposition", f'form-data; name="{name}"')], content


def decode(pieces: list[bytes], **limits: int) -> list[tuple[list[tuple[str, str]], bytes]]:
    """Feed ``pieces``, draining after each; the parts as (headers, content). Data pieces may not be empty."""
    decoder = MultipartDecoder(BOUNDARY, **{**LIMITS, **limits})
    parts: list[tuple[list[tuple[str, str]], bytes]] = []
    content: list[bytes] = []
    ended = False
    for piece in pieces + [b""]:
        decoder.feed(piece)
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartHeaders):
                content = []
                parts.append((event.headers, b""))
            elif isinstance(event, Data):
                assert event.data, "an empty Data event"
                content.append(event.data)
            elif event is PART_END:
                parts[-1] = (parts[-1][0], b"".join(content))
            else:
                assert event is END_OF_MESSAGE and not ended
                ended = True
    decoder.end()
    assert ended
    return parts


def rejected(data: bytes, status: int, **limits: int) -> str:
    with pytest.raises(ProtocolError) as info:
        decode([data], **limits)
    assert info.value.status == status
    return info.value.detail


SAMPLE = [
    field("title", b"A tale"),
    ([("Content-Disposition", 'form-data; name="file"; filename="a.txt"'), ("Content-Type", "text/plain")],
     b"line one\r\nline two\r\n--not the boundary\r\n\r\n"),
    field("empty", b""),
    ([], b"no headers at all"),
]


def test_a_browser_body_decodes_to_its_parts() -> None:
    assert decode([body(*SAMPLE)]) == SAMPLE


def test_every_split_point_gives_the_same_parts() -> None:
    data = body(*SAMPLE, preamble=b"ignored preamble\r\n", epilogue=b"ignored epilogue")
    for cut in range(len(data) + 1):
        assert decode([data[:cut], data[cut:]]) == SAMPLE, cut


@property_settings(200)
@given(st.lists(st.binary(max_size=300), max_size=5), st.data())
def test_any_content_in_any_pieces_comes_back_exactly(contents: list[bytes], data: st.DataObject) -> None:
    parts = [field(f"f{i}", content) for i, content in enumerate(contents)]
    raw = body(*parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=8)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    assert decode(pieces) == parts


def test_a_body_byte_by_byte_decodes_the_same() -> None:
    data = body(*SAMPLE)
    assert decode([data[i:i + 1] for i in range(len(data))]) == SAMPLE


def test_padding_after_a_boundary_is_allowed_other_bytes_are_not() -> None:
    padded = body(*SAMPLE[:1]).replace(BOUNDARY + b"\r\n", BOUNDARY + b" \t \r\n", 1)
    assert decode([padded]) == SAMPLE[:1]
    assert "line end" in rejected(body(*SAMPLE[:1]).replace(BOUNDARY + b"\r\n", BOUNDARY + b"x\r\n", 1), 400)
    assert "line end" in rejected(b"--" + BOUNDARY + b" " * 300, 400)


def test_a_close_delimiter_right_away_is_an_empty_form() -> None:
    assert decode([b"--" + BOUNDARY + b"--"]) == []


@pytest.mark.parametrize("data", [
    body(*SAMPLE)[:-40],  # cut inside the last part
    b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; name=a\r\n\r\nno close",
    b"no boundary at all",
    b"",
])
def test_a_body_that_ends_before_its_close_delimiter_is_400(data: bytes) -> None:
    assert "closing boundary" in rejected(data, 400)


def test_bare_lf_line_ends_are_refused() -> None:
    lf_only = body(*SAMPLE[:2]).replace(b"\r\n", b"\n")
    assert rejected(lf_only, 400)
    lf_in_headers = b"--" + BOUNDARY + b"\r\nA: 1\nB: 2\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    assert "malformed" in rejected(lf_in_headers, 400)


@pytest.mark.parametrize("line", [b"no colon", b": no name", b"bad name: x", b"\tfolded: x"])
def test_a_malformed_part_header_is_400(line: bytes) -> None:
    data = b"--" + BOUNDARY + b"\r\n" + line + b"\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    assert "malformed" in rejected(data, 400)


def test_header_values_are_utf8_as_browsers_send_them_else_latin1() -> None:
    utf8 = (b'--' + BOUNDARY +
            b'\r\nContent-Disposition: form-data; name="f"; filename="\xc3\xa9t\xc3\xa9.txt"\r\n\r\nx\r\n')
    latin1 = b'--' + BOUNDARY + b'\r\nContent-Disposition: form-data; name="g"; filename="\xe9t\xe9.txt"\r\n\r\ny\r\n'
    parts = decode([utf8 + latin1 + b"--" + BOUNDARY + b"--"])
    assert [headers[0][1].endswith('filename="été.txt"') for headers, _ in parts] == [True, True]


def test_part_count_over_max_parts_is_413() -> None:
    assert decode([body(*[field("a", b"1")] * 3)], max_parts=3)
    assert "parts" in rejected(body(*[field("a", b"1")] * 4), 413, max_parts=3)


def test_part_headers_over_max_header_bytes_are_413_even_before_they_end() -> None:
    exact = [("X-Pad", "p" * (64 - len("X-Pad: \r\n")))]
    assert decode([body((exact, b"x"))], max_header_bytes=64) == [(exact, b"x")]
    over = [("X-Pad", "p" * (65 - len("X-Pad: \r\n")))]
    assert "too large" in rejected(body((over, b"x")), 413, max_header_bytes=64)
    endless = b"--" + BOUNDARY + b"\r\nX-Pad: " + b"p" * 100
    decoder = MultipartDecoder(BOUNDARY, **{**LIMITS, "max_header_bytes": 64})
    decoder.feed(endless)
    with pytest.raises(ProtocolError) as info:
        decoder.next_event()
    assert info.value.status == 413


def test_header_count_over_max_headers_is_413() -> None:
    headers = [(f"X-{i}", "v") for i in range(8)]
    assert decode([body((headers, b"x"))], max_headers=8) == [(headers, b"x")]
    assert "header fields" in rejected(body((headers + [("X-8", "v")], b"x")), 413, max_headers=8)


def test_a_dead_decoder_keeps_failing() -> None:
    decoder = MultipartDecoder(BOUNDARY, **LIMITS)
    decoder.feed(b"--" + BOUNDARY + b"x\r\n")
    for _ in range(2):
        with pytest.raises(ProtocolError):
            decoder.next_event()
    with pytest.raises(ProtocolError):
        decoder.end()


@pytest.mark.parametrize(("content_type", "boundary"), [
    ("multipart/form-data; boundary=abc", b"abc"),
    ('Multipart/Form-Data; charset=utf-8; boundary="a b:c"', b"a b:c"),
    ("multipart/form-data; boundary=" + "x" * 70, b"x" * 70),
    ("multipart/form-data;BOUNDARY=----WebKitFormBoundary7MA4YWxkTrZu0gW;",
     b"----WebKitFormBoundary7MA4YWxkTrZu0gW"),
])
def test_boundary_of_a_content_type(content_type: str, boundary: bytes) -> None:
    assert boundary_of(content_type) == boundary


@pytest.mark.parametrize("content_type", [
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=" + "x" * 71,
    'multipart/form-data; boundary="ends in space "', "multipart/form-data; boundary=a\x00b",
    "multipart/mixed; boundary=abc", "application/x-www-form-urlencoded",
    # Two readers could take two different boundaries from these: refused, not guessed.
    "multipart/form-data; boundary=a; boundary=b", 'multipart/form-data; boundary="a"; Boundary=a',
    "multipart/form-data; boundary=abc, text/plain", "multipart/form-data; boundary=a:b",
])
def test_a_content_type_without_a_valid_boundary_is_400(content_type: str) -> None:
    with pytest.raises(ProtocolError) as info:
        boundary_of(content_type)
    assert info.value.status == 400


# -- the advisories' bodies: linear time, bounded memory ---------------------------------------


def timed_decode(pieces: list[bytes]) -> float:
    started = time.perf_counter()
    decoder = MultipartDecoder(BOUNDARY, **LIMITS)
    held = 0
    for piece in pieces:
        decoder.feed(piece)
        while (event := decoder.next_event()) is not NEED_DATA:
            pass
        held = max(held, len(decoder._buf))  # noqa: SLF001  (what it holds is the point)
    assert held <= 2 * max(map(len, pieces)) + 4096, f"held {held} bytes"
    return time.perf_counter() - started


@pytest.mark.parametrize("junk", [b"\r\n" * (1 << 19), b"\r" * (1 << 20), b"-" * (1 << 20), b"x" * (1 << 20)])
def test_a_megabyte_of_junk_in_the_preamble_epilogue_or_a_part_is_one_pass(junk: bytes) -> None:
    """CVE-2024-53981, GHSA-mj87-hwqh-73pj, CVE-2023-46136: no work per byte in Python, no rescans."""
    pieces = [junk[i:i + 4096] for i in range(0, len(junk), 4096)]
    preamble = timed_decode(pieces + [body(*SAMPLE)])
    in_part = timed_decode([b"--" + BOUNDARY + b"\r\n\r\n"] + pieces + [b"\r\n--" + BOUNDARY + b"--"])
    epilogue = timed_decode([body(*SAMPLE)] + pieces)
    assert max(preamble, in_part, epilogue) < 0.25, (preamble, in_part, epilogue)


# -- Content-Disposition (RFC 7578 section 4.2) ------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ('form-data; name="title"', ("form-data", {"name": "title"})),
    ("form-data; name=title", ("form-data", {"name": "title"})),
    ('FORM-DATA ; NAME = "v" ;', ("form-data", {"name": "v"})),
    ('form-data; name="a;b"; filename="x; y=z.txt"', ("form-data", {"name": "a;b", "filename": "x; y=z.txt"})),
    ('form-data; name="f"; filename="C:\\dir\\f.txt"', ("form-data", {"name": "f", "filename": "C:\\dir\\f.txt"})),
    ('form-data; name="q\\"x"; filename="a\\\\b"', ("form-data", {"name": 'q"x', "filename": "a\\b"})),
    ('form-data; name="f"; filename="%22quoted%22 %0A.txt"',
     ("form-data", {"name": "f", "filename": "%22quoted%22 %0A.txt"})),
    ('form-data; name="f"; filename="été.txt"', ("form-data", {"name": "f", "filename": "été.txt"})),
    ("form-data; name=f; filename*=UTF-8''%C3%A9t%C3%A9.txt", ("form-data", {"name": "f", "filename": "été.txt"})),
    ("form-data; name=f; filename=\"été.txt\"; filename*=utf-8''%C3%A9t%C3%A9.txt",
     ("form-data", {"name": "f", "filename": "été.txt"})),
])
def test_content_disposition_as_browsers_and_libraries_write_it(value: str,
                                                                expected: tuple[str, dict[str, str]]) -> None:
    assert parse_content_disposition(value) == expected


@pytest.mark.parametrize("value", [
    'form-data; name="a"; name="b"',  # which one? parsers disagree: refused
    'form-data; name="a"; NAME="a"',
    "form-data; name=a; filename=a.txt; filename*=UTF-8''evil.exe",  # filename* must not override silently
    "form-data; name=a; name*=UTF-8''b",
    "form-data; name=a; filename*=koi8-r''x",
    "form-data; name=a; filename*=%41",
    'form-data; name="unterminated',
    'form-data; name="x"trailing',
    "form-data; orphan; name=x",
    "form-data; =x",
])
def test_an_ambiguous_content_disposition_is_400(value: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_content_disposition(value)
    assert info.value.status == 400


def test_a_form_part_gives_name_filename_and_content_type() -> None:
    file_part = [("Content-Disposition", 'form-data; name="f"; filename="a.png"'), ("Content-Type", "image/png")]
    assert form_part(file_part) == FormPart("f", "a.png", "image/png")
    assert form_part([("content-disposition", 'form-data; name="t"')]) == FormPart("t", None, "text/plain")
    assert form_part([("Content-Disposition", 'form-data; name="f"; filename=""')]) == FormPart(
        "f", "", "application/octet-stream")


@pytest.mark.parametrize("headers", [
    [],
    [("Content-Type", "text/plain")],
    [("Content-Disposition", 'attachment; name="a"')],
    [("Content-Disposition", 'form-data; filename="a"')],
    [("Content-Disposition", 'form-data; name="a"'), ("Content-Disposition", 'form-data; name="b"')],
    [("Content-Disposition", 'form-data; name="a"'), ("Content-Type", "text/plain"), ("Content-Type", "image/png")],
])
def test_a_part_that_does_not_say_which_field_it_is_is_400(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ProtocolError) as info:
        form_part(headers)
    assert info.value.status == 400
