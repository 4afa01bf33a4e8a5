"""Request and Response over a real server, driven by ``requests``: cookies, bodies, redirects."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from .conftest import ServerPool
from .support import Server, app_spec, exchange, parse_responses, post


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("reqresp"))
    try:
        yield pool.start(app=app_spec("reqresp"))
    finally:
        pool.stop_all()


# -- head ----------------------------------------------------------------------------------


def test_query_url_and_client(server: Server) -> None:
    response = requests.get(server.url("/inspect"), params=[("tag", "a"), ("q", "café"), ("tag", "b")], timeout=5)
    data = response.json()
    assert data["query"] == [["tag", "a"], ["q", "café"], ["tag", "b"]]
    assert data["first"] == {"tag": "a", "q": "café"}
    assert data["url"] == server.url("/inspect?tag=a&q=caf%C3%A9&tag=b")
    assert data["client_is_loopback"] is True


# -- cookies ---------------------------------------------------------------------------------


def test_cookies_round_trip_with_a_session(server: Server) -> None:
    with requests.Session() as session:
        assert session.get(server.url("/cookies/set"), timeout=5).status_code == 200
        assert session.cookies.get("sid") == "abc123"
        assert session.get(server.url("/inspect"), timeout=5).json()["cookies"] == {"sid": "abc123", "theme": "dark"}
        session.get(server.url("/cookies/clear"), timeout=5)
        assert "sid" not in session.cookies
        assert session.get(server.url("/inspect"), timeout=5).json()["cookies"] == {"theme": "dark"}


def test_each_cookie_is_its_own_set_cookie_field(server: Server) -> None:
    received = exchange(server, b"GET /cookies/set HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    (response,) = parse_responses(received.data)
    assert [v for n, v in response.headers if n == "set-cookie"] == [
        "sid=abc123; Path=/; HttpOnly; SameSite=Lax",
        "theme=dark; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax",
    ]


def test_set_cookie_attributes_on_the_wire(server: Server) -> None:
    received = exchange(server, b"GET /cookies/attributes HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    (response,) = parse_responses(received.data)
    assert [v for n, v in response.headers if n == "set-cookie"] == [
        "full=v; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/cookies; Secure; HttpOnly; "
        "SameSite=None; Partitioned",
        "plain=p; Path=/; HttpOnly",
    ]


def test_a_messy_cookie_header_still_yields_the_good_cookies(server: Server) -> None:
    response = requests.get(server.url("/inspect"), headers={"Cookie": 'junk; =x; a=1; b="2"; a=3'}, timeout=5)
    assert response.json()["cookies"] == {"a": "1", "b": "2"}


# -- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/json", "/json-sync"])
def test_json_body_is_parsed(server: Server, path: str) -> None:
    response = requests.post(server.url(path), json={"name": "héron", "n": [1, 2]}, timeout=5)
    assert response.json() == {"got": {"name": "héron", "n": [1, 2]}}


@pytest.mark.parametrize("path", ["/json", "/json-sync"])
def test_bad_json_is_400_without_echo(server: Server, path: str) -> None:
    response = requests.post(server.url(path), data=b'{"secret": ', headers={"Content-Type": "application/json"},
                             timeout=5)
    assert response.status_code == 400
    assert response.text.startswith("request body is not valid JSON")
    assert "secret" not in response.text


@pytest.mark.parametrize("path", ["/json", "/json-sync"])
def test_json_with_wrong_content_type_is_415(server: Server, path: str) -> None:
    response = requests.post(server.url(path), data=b"{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 415


# -- forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/form", "/form-sync"])
def test_urlencoded_form_keeps_repeated_fields(server: Server, path: str) -> None:
    response = requests.post(server.url(path), data=[("tag", "a"), ("name", "Zoë & co"), ("tag", "b")], timeout=5)
    assert response.json() == {"pairs": [["tag", "a"], ["name", "Zoë & co"], ["tag", "b"]]}


def test_a_json_body_is_not_a_form(server: Server) -> None:
    response = requests.post(server.url("/form"), json={"a": 1}, timeout=5)
    assert response.status_code == 415
    assert "multipart/form-data" in response.text


def test_form_with_too_many_fields_is_413(server: Server) -> None:
    body = "&".join(f"f{i}=1" for i in range(1001))
    response = requests.post(server.url("/form"), data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert response.status_code == 413


# -- text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/text", "/text-sync"])
@pytest.mark.parametrize(("charset", "text"), [(None, "café €"), ("utf-8", "café €"), ("iso-8859-1", "café"),
                                               ("utf-16", "café €"), ("windows-1252", "café €"), ("shift_jis", "日本")])
def test_text_is_decoded_by_the_charset(server: Server, path: str, charset: str | None, text: str) -> None:
    content_type = "text/plain" + (f"; charset={charset}" if charset else "")
    response = requests.post(server.url(path), data=text.encode(charset or "utf-8"),
                             headers={"Content-Type": content_type}, timeout=5)
    assert response.json()["text"] == text


def test_undecodable_text_is_400(server: Server) -> None:
    response = requests.post(server.url("/text"), data=b"caf\xe9", headers={"Content-Type": "text/plain"}, timeout=5)
    assert (response.status_code, response.text) == (400, "request body is not valid utf-8\n")


def test_unknown_charset_is_415(server: Server) -> None:
    response = requests.post(server.url("/text"), data=b"x", headers={"Content-Type": "text/plain; charset=klingon"},
                             timeout=5)
    assert response.status_code == 415
    assert "klingon" not in response.text


# -- redirects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_followed(server: Server, status: int) -> None:
    response = requests.get(server.url(f"/redirect/{status}"), timeout=5)
    assert response.json() == {"method": "GET", "from": str(status), "body": ""}
    assert [r.status_code for r in response.history] == [status]
    assert response.history[0].headers["Location"] == f"/landing?from={status}"


@pytest.mark.parametrize(("status", "method", "body"), [(303, "GET", ""), (307, "POST", "payload"),
                                                         (308, "POST", "payload")])
def test_post_redirects_keep_or_change_the_method_as_the_status_says(
        server: Server, status: int, method: str, body: str) -> None:
    response = requests.post(server.url(f"/redirect/{status}"), data=b"payload", timeout=5)
    assert response.json() == {"method": method, "from": str(status), "body": body}


def test_redirect_location_is_percent_encoded(server: Server) -> None:
    response = requests.get(server.url("/redirect-away"), allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (307, "/caf%C3%A9%20page")


# -- response family ----------------------------------------------------------------------------------


def test_html_response(server: Server) -> None:
    response = requests.get(server.url("/html"), timeout=5)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == "<h1>héron</h1>"


def test_tuple_with_dict_headers(server: Server) -> None:
    response = requests.get(server.url("/tuple"), timeout=5)
    assert (response.status_code, response.headers["X-Made"], response.json()) == (201, "yes", {"made": "yes"})


@pytest.mark.parametrize(("path", "text"), [("/stream-sync", "sync0\nsync1\nsync2\n"),
                                            ("/stream-async", "async0\nasync1\nasync2\n")])
def test_streaming_from_sync_and_async_generators(server: Server, path: str, text: str) -> None:
    response = requests.get(server.url(path), timeout=5)
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.text == text


def test_json_body_over_a_raw_socket_is_read_whole(server: Server) -> None:
    body = json.dumps({"k": "v" * 10_000}).encode()
    received = exchange(server, post("/json", body, ("Content-Type", "application/json"), ("Connection", "close")))
    (response,) = parse_responses(received.data)
    assert response.json() == {"got": {"k": "v" * 10_000}}
