"""heron.testing: ``TestClient.websocket``, a WebSocket to an app in-process, for heron and ASGI apps alike."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron import App, WebSocket, WebSocketDisconnect
from heron.testing import TestClient, WebSocketRefused

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "examples"), str(HERE / "integration" / "apps")]  # neither is a package
from echo_asgi import app as asgi_echo  # noqa: E402
from websockets_app import app as served_app  # noqa: E402  (the app the server's WebSocket tests run)

app = App()
seen: list[tuple[list[str | bytes], int | None, str]] = []


@app.websocket("/echo")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)


@app.websocket("/collect")
async def collect(ws: WebSocket) -> None:
    await ws.accept()
    seen.append(([message async for message in ws], ws.close_code, ws.close_reason))


@app.websocket("/rooms/{room:int}")
async def room(ws: WebSocket, room: int) -> None:
    await ws.accept(subprotocol="chat.v2" if "chat.v2" in ws.subprotocols else None, headers={"X-Room": str(room)})
    await ws.send_json({"room": room, "user": ws.request.cookies.get("user"), "lang": ws.request.query.get("lang")})
    await ws.send_json({"got": await ws.receive_json()})
    await ws.close(4000, "that is all")


@app.websocket("/wrong-subprotocol")
async def wrong_subprotocol(ws: WebSocket) -> None:
    await ws.accept(subprotocol="never-offered")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_messages_go_both_ways_whole_text_as_text_and_bytes_as_bytes(client: TestClient) -> None:
    with client.websocket("/echo") as ws:
        for message in ["hello", "ünïcödé ✓", b"\x00\xff" * 1000, ""]:
            ws.send(message)
            assert ws.receive() == message
        assert ws.headers["Upgrade"] == "websocket" and ws.subprotocol is None


def test_the_app_sees_the_clients_close_code_and_messages_sent_before_it(client: TestClient) -> None:
    seen.clear()
    ws = client.websocket("/collect")
    ws.send("first")
    ws.send(b"last words")
    ws.close(4321, "leaving")
    assert seen == [(["first", b"last words"], 4321, "leaving")]


def test_an_app_still_talking_when_the_client_leaves_ends_quietly(client: TestClient) -> None:
    ws = client.websocket("/echo")
    ws.send("one more")  # the echo of it meets a closed WebSocket: ClientDisconnected, as on a server
    ws.close()  # returns once the handler has ended; its ClientDisconnected does not leak into the test
    with client.websocket("/echo") as again:
        again.send("still serving")
        assert again.receive() == "still serving"


def test_route_parameters_subprotocols_cookies_query_and_the_apps_close(client: TestClient) -> None:
    with client.websocket("/rooms/7", subprotocols=["chat.v1", "chat.v2"], query={"lang": "en"},
                          cookies={"user": "ada"}) as ws:
        assert ws.subprotocol == "chat.v2" and ws.headers["X-Room"] == "7"
        assert ws.receive_json() == {"room": 7, "user": "ada", "lang": "en"}
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"got": {"a": [1, 2]}}
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
        assert (info.value.code, info.value.reason) == (4000, "that is all")
        assert (ws.close_code, ws.close_reason) == (4000, "that is all")


@pytest.mark.parametrize(("path", "status"), [("/nowhere", 404), ("/wrong-subprotocol", 500)])
def test_a_handshake_the_app_does_not_accept_is_its_http_answer(client: TestClient, path: str, status: int) -> None:
    with pytest.raises(WebSocketRefused) as info:
        client.websocket(path)
    assert info.value.response.status == status


def test_credentials_decide_between_the_apps_refusal_and_a_websocket() -> None:
    with TestClient(served_app) as client:
        with pytest.raises(WebSocketRefused) as info:
            client.websocket("/private")
        assert info.value.response.status == 401
        assert info.value.response.headers.get("WWW-Authenticate") == "Bearer"
        with client.websocket("/private", headers={"Authorization": "Bearer t0ken"}) as ws:
            assert ws.receive_text() == "welcome"


def test_an_app_that_fails_after_accept_closes_with_1011() -> None:
    with TestClient(served_app) as client, client.websocket("/fails") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert info.value.code == 1011


def test_an_asgi_app_is_driven_the_same_way() -> None:
    with TestClient(asgi_echo) as client:
        with client.websocket("/ws") as ws:
            ws.send(b"bytes")
            assert ws.receive_bytes() == b"bytes"
            ws.send("text")
            assert ws.receive_text() == "text"
        with pytest.raises(WebSocketRefused) as info:
            client.websocket("/elsewhere")
        assert info.value.response.status == 403


def test_a_plain_get_to_a_websocket_route_is_not_a_websocket(client: TestClient) -> None:
    assert client.get("/echo").status == 404
