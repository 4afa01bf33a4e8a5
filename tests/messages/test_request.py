"""Request in-process: query, cookies, url, and the body decoders (text, JSON, form), async and sync.

Requests are built from a RequestHead and an in-memory body, as
tests/web/test_app.py does; the same behaviour over real sockets is in
tests/integration/test_request_response.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from heron import HTTPError, MultiDict, Request
from heron.protocol.events import RequestHead

T = TypeVar("T")


class MemoryBody:
    """A body stream over bytes held in memory, handed out three bytes at a time."""

    def __init__(self, data: bytes = b"") -> None:
        self.chunks = [data[i : i + 3] for i in range(0, len(data), 3)]

    async def read_chunk(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def take_if_complete(self) -> None:
        return None  # never whole at once: the body is read piece by piece


def make_request(
    target: str = "/",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    method: str = "POST",
    host: str = "example.com",
    scheme: str = "http",
    loop: asyncio.AbstractEventLoop | None = None,
) -> Request:
    path, _, query = target.partition("?")
    fields = [("Host", host), *(headers or [])]
    head = RequestHead(method, target, path, query, "1.1", fields, host, True, False, len(body), False)
    return Request(head, MemoryBody(body), client=("127.0.0.1", 5000), scheme=scheme, loop=loop)


def typed(content_type: str, body: bytes) -> Request:
    return make_request("/", body, [("Content-Type", content_type)])


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def in_thread(build: Callable[[asyncio.AbstractEventLoop], Request], call: Callable[[Request], T]) -> T:
    """Run ``call(request)`` in a pool thread while the loop serves the body, as a ``def`` handler runs."""

    async def go() -> T:
        loop = asyncio.get_running_loop()
        request = build(loop)
        with ThreadPoolExecutor(1) as pool:
            return await loop.run_in_executor(pool, call, request)

    return asyncio.run(go())


# -- head-derived attributes -----------------------------------------------------------


def test_query_is_a_multidict_of_first_values_with_every_value_available() -> None:
    request = make_request("/search?tag=a&q=caf%C3%A9&tag=b&empty=")
    assert isinstance(request.query, MultiDict)
    assert request.query.get("q") == "café"
    assert request.query.get("tag") == "a"
    assert request.query.get_all("tag") == ["a", "b"]
    assert request.query.get("empty") == ""
    assert request.query.get("page", "1") == "1"
    assert request.query_string == "tag=a&q=caf%C3%A9&tag=b&empty="


def test_query_is_case_sensitive_and_cached() -> None:
    request = make_request("/?A=1&a=2")
    assert (request.query["A"], request.query["a"]) == ("1", "2")
    assert request.query is request.query


def test_path_is_decoded_and_raw_path_kept() -> None:
    request = make_request("/caf%C3%A9/a%2Fb?x=1")
    assert (request.path, request.raw_path) == ("/café/a/b", "/caf%C3%A9/a%2Fb")


def test_cookies_come_from_every_cookie_header_first_value_wins() -> None:
    request = make_request("/", headers=[("Cookie", "sid=abc; theme=dark"), ("cookie", "sid=other; lang=fr")])
    assert request.cookies == {"sid": "abc", "theme": "dark", "lang": "fr"}
    assert request.cookies is request.cookies


def test_cookies_are_empty_without_a_cookie_header() -> None:
    assert make_request("/").cookies == {}


def test_bad_cookie_pairs_do_not_hide_good_ones() -> None:
    assert make_request("/", headers=[("Cookie", "junk; =x; ok=1")]).cookies == {"ok": "1"}


def test_url_is_built_from_scheme_host_raw_path_and_query() -> None:
    assert make_request("/a%20b?x=%3F").url == "http://example.com/a%20b?x=%3F"
    assert make_request("/p", host="example.com:8443", scheme="https").url == "https://example.com:8443/p"


def test_url_never_uses_the_decoded_path() -> None:
    # %3F decoded would start a query and %23 a fragment: the URL must keep them escaped.
    assert make_request("/a%3Fb%23c").url == "http://example.com/a%3Fb%23c"


def test_client_scheme_host_and_method() -> None:
    request = make_request("/", method="PUT")
    assert (request.method, request.client, request.scheme, request.host) == (
        "PUT", ("127.0.0.1", 5000), "http", "example.com")


def test_content_type_is_the_lowercased_media_type_without_parameters() -> None:
    assert typed("Application/JSON; charset=UTF-8", b"").content_type == "application/json"
    assert make_request("/").content_type == ""


# -- body: bytes, stream ----------------------------------------------------------------


def test_body_is_read_whole_and_kept() -> None:
    request = make_request("/", b"hello world")

    async def go() -> tuple[bytes, bytes]:
        return await request.body(), await request.body()

    assert run(go()) == (b"hello world", b"hello world")


def test_stream_yields_the_body_in_pieces() -> None:
    request = make_request("/", b"hello world")

    async def go() -> list[bytes]:
        return [chunk async for chunk in request.stream()]

    chunks = run(go())
    assert len(chunks) > 1 and b"".join(chunks) == b"hello world"


# -- text ---------------------------------------------------------------------------------


def test_text_defaults_to_utf8() -> None:
    assert run(make_request("/", "café".encode()).text()) == "café"


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("text/plain; charset=latin-1", "café".encode("latin-1")),
        ('text/plain; charset="ISO-8859-1"', "café".encode("latin-1")),
        ("text/plain; charset=utf-16", "café".encode("utf-16")),
        ("text/plain; charset=Shift_JIS", "日本".encode("shift_jis")),
        ("text/plain", "café".encode()),
    ],
)
def test_text_is_decoded_with_the_content_type_charset(content_type: str, encoded: bytes) -> None:
    assert run(typed(content_type, encoded).text()) in ("café", "日本")


def test_undecodable_text_is_400_without_echoing_the_body() -> None:
    with pytest.raises(HTTPError) as info:
        run(typed("text/plain; charset=utf-8", b"caf\xe9 secret").text())
    assert info.value.status == 400
    assert info.value.detail == "request body is not valid utf-8"


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "zlib_codec", "rot13", ""])
def test_unknown_or_non_text_charset_is_415(charset: str) -> None:
    with pytest.raises(HTTPError) as info:
        run(typed(f"text/plain; charset={charset}", b"abc").text())
    assert info.value.status == 415
    assert charset not in info.value.detail or not charset


# -- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json",
     "application/vnd.api+json"])
def test_json_is_parsed_for_json_media_types(content_type: str) -> None:
    assert run(typed(content_type, b'{"a": [1, "\xc3\xa9"]}').json()) == {"a": [1, "é"]}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "json"])
def test_json_with_another_content_type_is_415(content_type: str | None) -> None:
    request = typed(content_type, b"{}") if content_type else make_request("/", b"{}")
    with pytest.raises(HTTPError) as info:
        run(request.json())
    assert info.value.status == 415
    assert "application/json" in info.value.detail


@pytest.mark.parametrize(
    "body", [b"", b"{", b'{"a": secret', b"NaN", b"[Infinity]", b"\xff\xfe\xfd", b"[" * 100_000, b"1" * 5000])
def test_bad_json_is_400_with_a_message_that_does_not_echo_the_body(body: bytes) -> None:
    with pytest.raises(HTTPError) as info:
        run(typed("application/json", body).json())
    assert info.value.status == 400
    assert info.value.detail.startswith("request body is not valid JSON")
    assert "secret" not in info.value.detail


def test_json_error_gives_the_position() -> None:
    with pytest.raises(HTTPError) as info:
        run(typed("application/json", b'{\n  "a": }').json())
    assert info.value.detail == "request body is not valid JSON (line 2, column 8)"


def test_json_accepts_utf16_as_json_loads_does() -> None:
    assert run(typed("application/json", '{"a": 1}'.encode("utf-16")).json()) == {"a": 1}


# -- form --------------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def test_form_is_a_multidict() -> None:
    form = run(typed(FORM, b"name=Ada+Lovelace&tag=a&tag=b&city=Z%C3%BCrich").form())
    assert form.get("name") == "Ada Lovelace"
    assert form.get_all("tag") == ["a", "b"]
    assert form["city"] == "Zürich"


def test_form_content_type_parameters_are_ignored() -> None:
    assert run(typed(FORM + "; charset=UTF-8", b"a=1").form()) == {"a": "1"}


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_form_with_another_content_type_is_415(content_type: str | None) -> None:
    request = typed(content_type, b"a=1") if content_type else make_request("/", b"a=1")
    with pytest.raises(HTTPError) as info:
        run(request.form())
    assert info.value.status == 415


def test_form_with_too_many_fields_is_413() -> None:
    body = b"&".join(b"f%d=1" % i for i in range(1001))
    with pytest.raises(HTTPError) as info:
        run(typed(FORM, body).form())
    assert (info.value.status, info.value.detail) == (413, "too many form fields (the limit is 1000)")
    assert len(run(typed(FORM, body).form(max_form_fields=1001))) == 1001


def test_urlencoded_field_over_the_field_size_limit_is_413() -> None:
    """The multipart field limit holds for urlencoded bodies too (CVE-2026-54283's gap)."""
    with pytest.raises(HTTPError) as info:
        run(typed(FORM, b"a=1&big=" + b"x" * 1025).form(max_form_field_bytes=1024))
    assert (info.value.status, info.value.detail) == (413, "a form field is larger than 1024 bytes")


# -- sync variants, from a pool thread ------------------------------------------------------


def test_read_text_json_and_form_work_from_a_thread() -> None:
    assert in_thread(lambda loop: make_request("/", "café".encode(), loop=loop), Request.read_text) == "café"
    assert in_thread(
        lambda loop: make_request("/", b'{"a": 1}', [("Content-Type", "application/json")], loop=loop),
        Request.read_json) == {"a": 1}
    form = in_thread(lambda loop: make_request("/", b"a=1&a=2", [("Content-Type", FORM)], loop=loop),
                     Request.read_form)
    assert form.get_all("a") == ["1", "2"]


def test_sync_decoders_raise_the_same_http_errors() -> None:
    with pytest.raises(HTTPError) as info:
        in_thread(lambda loop: make_request("/", b"{", [("Content-Type", "application/json")], loop=loop),
                  Request.read_json)
    assert info.value.status == 400


def test_sync_read_on_the_event_loop_raises_instead_of_deadlocking() -> None:
    async def go() -> None:
        request = make_request("/", b"{}", [("Content-Type", "application/json")], loop=asyncio.get_running_loop())
        with pytest.raises(RuntimeError, match="await request.body"):
            request.read_json()

    run(go())


def test_json_body_decoded_after_body_was_read() -> None:
    request = typed("application/json", json.dumps({"k": "v"}).encode())

    async def go() -> Any:
        await request.body()
        return await request.json()

    assert run(go()) == {"k": "v"}


def test_stream_after_body_yields_the_kept_body() -> None:
    request = make_request("/", b"hello world")

    async def go() -> list[bytes]:
        await request.body()
        return [chunk async for chunk in request.stream()]

    assert run(go()) == [b"hello world"]


def test_body_after_stream_is_an_error_not_a_silently_empty_body() -> None:
    request = typed("application/json", b'{"a": 1}')

    async def go() -> None:
        async for _chunk in request.stream():
            break
        with pytest.raises(RuntimeError, match="consumed by request.stream"):
            await request.json()
        with pytest.raises(RuntimeError, match="consumed by request.stream"):
            [chunk async for chunk in request.stream()]

    run(go())
