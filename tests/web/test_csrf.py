"""CSRF protection: what browsers say about where a request comes from, the session's token in forms and
headers, and the routes exempted from both."""

from __future__ import annotations

from typing import Any

import pytest

from heron import App, Request, WebSocket
from heron.testing import TestClient, WebSocketRefused
from heron.web.csrf import csrf_protection
from heron.web.sessions import sessions

KEY = "csrf-test-key-0123456789abcdef"


def make_app(**options: Any) -> App:
    app = App()
    app.add_middleware(sessions(KEY))
    app.add_middleware(csrf_protection(**options))

    @app.get("/form")
    async def form(request: Request) -> str:
        return request.session.csrf_token()

    @app.route("/change", methods=["POST", "PUT", "DELETE", "PATCH"])
    async def change(request: Request) -> str:
        return "changed"

    @app.post("/hooks/{provider}")
    async def hook(request: Request, provider: str) -> str:
        return f"hook {provider}"

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(exempt=["/hooks/{provider}"], trusted_origins=["https://admin.example.com"]))


def test_a_form_with_the_token_is_accepted(client: TestClient) -> None:
    token = client.get("/form").text
    assert client.post("/change", data={"csrf_token": token, "x": "1"}).status == 200


def test_the_token_in_a_multipart_form_or_a_header_is_accepted(client: TestClient) -> None:
    token = client.get("/form").text
    assert client.post("/change", data={"csrf_token": token}, files={"f": ("a.txt", b"hi", "text/plain")}).status == 200
    assert client.request("DELETE", "/change", headers={"X-CSRF-Token": token}).status == 200


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
def test_a_missing_or_wrong_token_is_403(client: TestClient, token: str | None) -> None:
    client.get("/form")
    data = {"csrf_token": token} if token is not None else {"x": "1"}
    response = client.post("/change", data=data)
    assert (response.status, response.text) == (403, "CSRF token missing or wrong\n")


def test_a_token_from_another_session_is_403(client: TestClient) -> None:
    other = TestClient(make_app())
    token = other.get("/form").text
    client.get("/form")
    assert client.post("/change", data={"csrf_token": token}).status == 403


def test_a_new_session_after_login_has_a_new_token() -> None:
    app = make_app()

    @app.post("/login")
    async def login(request: Request) -> str:
        request.session.regenerate()
        return request.session.csrf_token()

    client = TestClient(app)
    before = client.get("/form").text
    after = client.post("/login", data={"csrf_token": before}).text
    assert after != before
    assert client.post("/change", data={"csrf_token": before}).status == 403
    assert client.post("/change", data={"csrf_token": after}).status == 200


@pytest.mark.parametrize("headers, detail", [
    ({"Sec-Fetch-Site": "cross-site"}, "cross-site request refused"),
    ({"Sec-Fetch-Site": "same-site"}, "same-site request refused"),
    ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, "cross-site request refused"),
    ({"Origin": "https://evil.example"}, "cross-origin request refused"),
    ({"Origin": "http://testserver.evil"}, "cross-origin request refused"),
    ({"Origin": "null"}, "request from an opaque origin refused"),
])
def test_a_request_another_site_made_is_403_even_with_the_token(client: TestClient, headers: dict[str, str],
                                                                 detail: str) -> None:
    token = client.get("/form").text
    response = client.post("/change", data={"csrf_token": token}, headers=headers)
    assert (response.status, response.text) == (403, detail + "\n")


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {"Origin": "http://testserver"},
    {"Origin": "http://TestServer:80"}, {"Sec-Fetch-Site": "same-site", "Origin": "https://admin.example.com"},
    {"Origin": "https://admin.example.com:443"},
])
def test_same_origin_and_trusted_origins_pass_on_to_the_token(client: TestClient, headers: dict[str, str]) -> None:
    token = client.get("/form").text
    assert client.post("/change", data={"csrf_token": token}, headers=headers).status == 200


def test_safe_methods_are_never_checked(client: TestClient) -> None:
    assert client.get("/form", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}).status == 200


def test_an_exempt_route_takes_cross_site_posts_without_a_token(client: TestClient) -> None:
    response = client.post("/hooks/stripe", body=b"{}", headers={"Sec-Fetch-Site": "cross-site"})
    assert (response.status, response.text) == (200, "hook stripe")
    assert client.post("/change", headers={"Sec-Fetch-Site": "cross-site"}).status == 403


def test_without_tokens_the_browser_fields_alone_decide() -> None:
    client = TestClient(make_app(require_token=False))
    assert client.post("/change", headers={"Sec-Fetch-Site": "same-origin"}).status == 200
    assert client.post("/change").status == 200  # no browser fields: not a browser
    assert client.post("/change", headers={"Sec-Fetch-Site": "cross-site"}).status == 403


def test_token_checks_without_the_session_middleware_are_a_configuration_error() -> None:
    app = App()
    app.add_middleware(csrf_protection())

    @app.post("/change")
    async def change(request: Request) -> str:
        return "changed"

    assert TestClient(app).post("/change").status == 500


def test_a_websocket_handshake_from_another_site_is_refused() -> None:
    app = make_app(trusted_origins=["https://admin.example.com"])

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")

    client = TestClient(app)
    with pytest.raises(WebSocketRefused) as info:
        client.websocket("/ws", headers={"Origin": "https://evil.example"})
    assert (info.value.response.status, info.value.response.text) == (403, "cross-origin request refused\n")
    for headers in ({"Origin": "http://testserver"}, {"Origin": "https://admin.example.com"}, {}):
        with client.websocket("/ws", headers=headers) as socket:
            assert socket.receive_text() == "hello"
