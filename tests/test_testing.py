"""heron.testing: the in-process TestClient and the live server fixture."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import requests

from heron import App, Request, Response, StreamingResponse, UploadFile
from heron.protocol.writer import HeaderError
from heron.testing import TestClient, live_server

app = App()
events: list[str] = []


@app.get("/hello/{name}")
async def hello(request: Request, name: str) -> str:
    return f"Hello, {name}!"


@app.post("/echo-json")
async def echo_json(request: Request) -> dict[str, object]:
    return {"got": json.loads(await request.body()), "type": request.headers.get("content-type")}


@app.post("/sync-length")
def sync_length(request: Request) -> str:
    return str(len(request.read()))


@app.get("/login")
async def login(request: Request) -> Response:
    return Response("in", headers=[("Set-Cookie", "session=abc123; Path=/; HttpOnly")])


@app.get("/logout")
async def logout(request: Request) -> Response:
    return Response("out", headers=[("Set-Cookie", "session=; Path=/; Max-Age=0")])


@app.get("/whoami")
async def whoami(request: Request) -> str:
    return request.headers.get("cookie", "nobody")


@app.get("/bad-header")
async def bad_header(request: Request) -> Response:
    return Response("x", headers=[("X-Evil", "a\r\nInjected: 1")])


@app.get("/stream")
async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[str]:
        for i in range(3):
            yield f"part{i};"

    return StreamingResponse(parts())


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_client_routes_and_returns_text(client: TestClient) -> None:
    response = client.get("/hello/ada")
    assert (response.status, response.text) == (200, "Hello, ada!")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_client_sends_json_bodies(client: TestClient) -> None:
    response = client.post("/echo-json", json={"a": [1, 2]})
    assert response.json() == {"got": {"a": [1, 2]}, "type": "application/json"}


def test_client_runs_sync_handlers_in_a_thread(client: TestClient) -> None:
    assert client.post("/sync-length", body=b"12345").text == "5"


def test_cookie_jar_keeps_and_deletes_cookies(client: TestClient) -> None:
    assert client.get("/whoami").text == "nobody"
    client.get("/login")
    assert client.get("/whoami").text == "session=abc123"
    client.get("/logout")
    assert client.get("/whoami").text == "nobody"


def test_response_with_an_injected_header_is_a_500(client: TestClient) -> None:
    response = client.get("/bad-header")
    assert response.status == 500
    assert "injected" not in response.headers


def test_header_the_server_would_refuse_fails_in_the_client_too() -> None:
    tampered = App()

    @tampered.get("/")
    async def index(request: Request) -> str:
        return "ok"

    @tampered.after_request
    def tamper(request: Request, response: Response) -> Response:
        response.headers.append(("X-Evil", "a\r\nInjected: 1"))  # bypasses any checks in Response
        return response

    with TestClient(tampered) as client, pytest.raises(HeaderError):
        client.get("/")


def test_streaming_body_is_collected_and_head_has_none(client: TestClient) -> None:
    assert client.get("/stream").text == "part0;part1;part2;"
    assert client.head("/stream").body == b""


def test_unknown_path_is_404(client: TestClient) -> None:
    assert client.get("/nope").status == 404


def test_live_server_serves_real_clients() -> None:
    with live_server(app) as url:
        assert requests.get(url + "/hello/bob", timeout=5).text == "Hello, bob!"
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("POST", "/sync-length", body=b"abc")
        assert conn.getresponse().read() == b"3"
        conn.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/hello/bob", timeout=2)


def test_pytest_fixture_gives_a_server_per_call(heron_server: Callable[..., str]) -> None:
    first, second = heron_server(app), heron_server(app)
    assert first != second
    assert requests.get(first + "/hello/x", timeout=5).text == requests.get(second + "/hello/x", timeout=5).text


def test_live_server_hosts_wsgi_and_asgi_apps_with_their_lifespan() -> None:
    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"wsgi " + environ["PATH_INFO"].encode("latin-1")]

    events: list[str] = []

    async def asgi_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                events.append(message["type"])
                scope["state"]["greeting"] = "asgi"
                await send({"type": "lifespan.startup.complete"})
            events.append(message["type"])
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"{scope['state']['greeting']} {scope['path']}".encode()})

    with live_server(wsgi_app) as url:
        assert requests.get(url + "/x", timeout=5).text == "wsgi /x"
    with live_server(asgi_app) as url:
        assert requests.get(url + "/y", timeout=5).text == "asgi /y"
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_files_are_sent_as_a_multipart_form_with_the_data_fields() -> None:
    app = App()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, object]:
        form = await request.form()
        photo = form["photo"]
        assert isinstance(photo, UploadFile)
        return {"title": form["title"], "name": photo.filename, "type": photo.content_type,
                "content": (await photo.read()).decode()}

    client = TestClient(app)
    response = client.post("/upload", data={"title": "Sea"}, files={"photo": ("../sea.jpg", b"jpeg", "image/jpeg")})
    assert response.json() == {"title": "Sea", "name": "sea.jpg", "type": "image/jpeg", "content": "jpeg"}
