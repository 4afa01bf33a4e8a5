"""The Response family, header validation when headers are set, cookies, and handler return values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone

import pytest

from heron import (
    App,
    HTMLResponse,
    HTTPError,
    JSONResponse,
    RedirectResponse,
    Request,
    Response,
    StreamingResponse,
    TextResponse,
)
from heron.protocol.events import RequestHead
from heron.protocol.writer import HeaderError
from heron.web.rendering import to_response


def set_cookies(response: Response) -> list[str]:
    return [v for n, v in response.headers if n == "Set-Cookie"]


# -- the family ----------------------------------------------------------------------------


def test_str_body_is_utf8_text() -> None:
    response = Response("café")
    assert (response.body, response.header("content-type")) == ("café".encode(), "text/plain; charset=utf-8")


def test_bytes_body_has_no_content_type_unless_given() -> None:
    assert Response(b"x").header("content-type") is None
    assert Response(b"x", content_type="image/png").header("Content-Type") == "image/png"


def test_text_response() -> None:
    response = TextResponse("hi", 201, {"X-A": "1"})
    assert (response.status, response.body, response.header("content-type"), response.header("x-a")) == (
        201, b"hi", "text/plain; charset=utf-8", "1")


def test_html_response_takes_str_or_bytes() -> None:
    assert HTMLResponse("<p>é</p>").body == "<p>é</p>".encode()
    assert HTMLResponse(b"<p></p>").header("content-type") == "text/html; charset=utf-8"


def test_json_response_is_compact_utf8() -> None:
    response = JSONResponse({"a": [1, "é"]}, headers=[("X-A", "1")])
    assert response.body == '{"a":[1,"é"]}'.encode()
    assert response.header("content-type") == "application/json"


@pytest.mark.parametrize("data", [
    {"message": "Hello, World!"}, [1, 2.5, -0.0, 1e300, None, True, False], "é\u2028\"\\\n\x00", 7,
    {1: "int key", 2.5: "float key", None: "null key", "nested": {"a": [{}], "b": []}}, float("nan"),
])
def test_json_response_body_is_what_json_dumps_gives(data: object) -> None:
    expected = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    assert JSONResponse(data).body == expected


def test_json_response_refuses_what_json_dumps_refuses() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):  # as json.dumps says it, not RecursionError
        JSONResponse({"a": cycle})
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONResponse({"a": object()})
    with pytest.raises(TypeError, match="keys must be"):
        JSONResponse({(1, 2): "tuple key"})
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        JSONResponse(deep)
    assert JSONResponse({"after": "errors"}).body == b'{"after":"errors"}'  # no state left behind


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_sets_location_and_status(status: int) -> None:
    response = RedirectResponse("/login?next=%2F", status)
    assert (response.status, response.header("location"), response.body) == (status, "/login?next=%2F", b"")


def test_redirect_defaults_to_307() -> None:
    assert RedirectResponse("/").status == 307


def test_redirect_allows_absolute_urls() -> None:
    assert RedirectResponse("https://other.example/a?b=c#d").header("location") == "https://other.example/a?b=c#d"


@pytest.mark.parametrize("status", [200, 300, 304, 305, 404])
def test_redirect_with_a_non_redirect_status_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match="redirect status"):
        RedirectResponse("/", status)


@pytest.mark.parametrize("url", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb", "/a\x00b", ""])
def test_redirect_with_cr_lf_nul_or_empty_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        RedirectResponse(url)


def test_redirect_percent_encodes_spaces_and_non_ascii_but_keeps_escapes() -> None:
    assert RedirectResponse("/caf\u00e9 menu?q=%20x\t\x1b\x7f").header("location") == "/caf%C3%A9%20menu?q=%20x%09%1B%7F"


def test_streaming_response_keeps_its_content() -> None:
    def gen() -> Iterator[bytes]:
        yield b"a"

    async def agen() -> AsyncIterator[str]:
        yield "a"

    assert StreamingResponse(gen()).header("content-type") == "text/plain; charset=utf-8"
    assert StreamingResponse(agen(), content_type="text/csv").header("content-type") == "text/csv"


# -- headers validated when set ----------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    [("X-A", "a\r\nEvil: 1")], [("X-A", "a\nb")], [("X-A", "a\x00b")], [("Bad Name", "v")], [("X:A", "v")],
    {"X-A": "a\rb"},
])
def test_bad_headers_are_refused_when_the_response_is_made(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        Response("x", headers=headers)


def test_header_errors_are_the_writers_header_error() -> None:
    # One validating function, shared with the protocol writer, not a copy of it.
    with pytest.raises(HeaderError):
        Response("x", headers=[("X-A", "\n")])


def test_bad_content_type_is_refused() -> None:
    with pytest.raises(ValueError):
        Response("x", content_type="text/plain\r\nX-Evil: 1")


def test_headers_may_be_a_dict_or_pairs() -> None:
    assert Response(b"", headers={"X-A": "1"}).headers == [("X-A", "1")]
    assert Response(b"", headers=[("X-A", "1"), ("X-A", "2")]).headers == [("X-A", "1"), ("X-A", "2")]


def test_add_and_set_header_validate() -> None:
    response = Response(b"")
    response.add_header("X-A", "1")
    response.add_header("x-a", "2")
    response.set_header("X-B", "3")
    response.set_header("X-A", "4")
    assert response.headers == [("X-B", "3"), ("X-A", "4")]
    with pytest.raises(ValueError):
        response.add_header("X-C", "a\r\nb")
    with pytest.raises(ValueError):
        response.set_header("X-C", "a\x00b")
    assert response.headers == [("X-B", "3"), ("X-A", "4")]


# -- cookies on any response -------------------------------------------------------------------


def test_each_cookie_is_its_own_set_cookie_header() -> None:
    response = JSONResponse({})
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", max_age=60, secure=True, httponly=False, samesite="strict")
    assert set_cookies(response) == [
        "a=1; Path=/; HttpOnly; SameSite=Lax", "b=2; Max-Age=60; Path=/; Secure; SameSite=Strict"]


def test_secure_none_means_secure_when_the_response_goes_out_over_https() -> None:
    for https, suffix in ((True, "; Secure"), (False, "")):
        response = Response(b"")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2", secure=False)
        response.delete_cookie("c")
        response.settle_cookies(https)
        assert set_cookies(response) == [
            "a=1; Path=/; HttpOnly; SameSite=Lax" + suffix, "b=2; Path=/; HttpOnly; SameSite=Lax",
            "c=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax" + suffix]


def test_names_and_attributes_that_need_secure_get_it_on_any_scheme() -> None:
    response = Response(b"")
    response.set_cookie("__Host-id", "1")
    response.set_cookie("__Secure-id", "2")
    response.set_cookie("x", "3", samesite="none")
    response.set_cookie("y", "4", partitioned=True)
    response.settle_cookies(False)
    assert all("; Secure" in value for value in set_cookies(response))
    with pytest.raises(ValueError, match="__Host-"):
        response.set_cookie("__Host-id", "1", secure=False)


def test_set_cookie_expires_is_an_imf_fixdate() -> None:
    response = Response(b"")
    response.set_cookie("a", "1", expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert set_cookies(response) == ["a=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/; HttpOnly; SameSite=Lax"]


def test_set_cookie_refuses_invalid_values_and_insecure_samesite_none() -> None:
    response = Response(b"")
    with pytest.raises(ValueError):
        response.set_cookie("a", "has space")
    with pytest.raises(ValueError):
        response.set_cookie("a", "1", samesite="none", secure=False)
    assert set_cookies(response) == []


def test_delete_cookie() -> None:
    response = RedirectResponse("/", 303)
    response.delete_cookie("sid", path="/app")
    assert set_cookies(response) == [
        "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; HttpOnly; SameSite=Lax"]


# -- what handlers may return ----------------------------------------------------------------------


def test_return_values_become_responses() -> None:
    assert to_response("hi").header("content-type") == "text/plain; charset=utf-8"
    assert to_response(b"\x00").header("content-type") == "application/octet-stream"
    assert json.loads(to_response({"a": 1}).body) == {"a": 1}
    assert json.loads(to_response([1, 2]).body) == [1, 2]
    assert to_response(None).status == 204
    response = Response("x")
    assert to_response(response) is response


def test_tuple_with_status() -> None:
    response = to_response(({"error": "gone"}, 410))
    assert (response.status, response.header("content-type")) == (410, "application/json")


@pytest.mark.parametrize("headers", [{"X-A": "1", "X-B": "2"}, [("X-A", "1"), ("X-B", "2")]])
def test_tuple_with_status_and_headers_as_dict_or_pairs(headers: object) -> None:
    response = to_response(("made", 201, headers))
    assert (response.status, response.header("x-a"), response.header("x-b")) == (201, "1", "2")
    assert response.header("content-type") == "text/plain; charset=utf-8"


def test_tuple_around_a_response_adds_to_its_headers() -> None:
    response = to_response((HTMLResponse("<p>"), 404, {"X-A": "1"}))
    assert (response.status, response.header("content-type"), response.header("x-a")) == (
        404, "text/html; charset=utf-8", "1")


def test_tuple_headers_are_validated() -> None:
    with pytest.raises(ValueError):
        to_response(("x", 200, {"X-A": "a\r\nb"}))


@pytest.mark.parametrize("result", [("x",), ("x", "200"), ("x", True), ("x", 200, {}, "extra")])
def test_malformed_tuples_are_refused(result: tuple[object, ...]) -> None:
    with pytest.raises(TypeError):
        to_response(result)


def test_unknown_return_type_is_refused() -> None:
    with pytest.raises(TypeError, match="handler returned int"):
        to_response(42)


def test_http_error_with_a_header_that_would_split_the_response_becomes_a_500() -> None:
    app = App()

    @app.get("/")
    async def bad(request: Request) -> str:
        raise HTTPError(401, headers=[("WWW-Authenticate", "Basic\r\nSet-Cookie: x=1")])

    class NoBody:
        async def read_chunk(self) -> bytes:
            return b""

        def take_if_complete(self) -> None:
            return None  # never whole at once: the body is read piece by piece

    head = RequestHead("GET", "/", "/", "", "1.1", [("Host", "t")], "t", True, False, 0, False)
    response = asyncio.run(app.handle(Request(head, NoBody())))
    assert response.status == 500
    assert all("\n" not in v for _, v in response.headers)
