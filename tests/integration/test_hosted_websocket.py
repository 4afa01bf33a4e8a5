"""WebSocket endpoints of hosted Starlette and FastAPI apps, written as their documentation writes them.

The apps are tests/integration/apps/hosted/starlette_app.py and
fastapi_app.py; the client is the ``websockets`` library, with cookies from
a ``requests`` login where a flow needs one. Both apps have the same
endpoints under ``/ws/``: an echo, a room that knows the logged-in user, a
members-only endpoint that refuses with an HTTP answer of its own, one that
closes before accepting, and one that crashes after accepting.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .hosted_support import FASTAPI, STARLETTE, module_server
from .support import Server

server = module_server(STARLETTE, FASTAPI)


def open_ws(server: Server, target: str, **options: object) -> ClientConnection:
    url = f"ws://{server.host}:{server.port}{target}"
    return connect(url, open_timeout=5, close_timeout=5, **options)  # type: ignore[arg-type]


def login_cookies(server: Server) -> str:
    """The Cookie header of a user logged in over HTTP as ada, oatmeal flavour."""
    with requests.Session() as session:
        r = session.get(server.url("/login?user=ada&flavour=oatmeal"), timeout=5)
        assert r.status_code == 200, r.text
        return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def closes(server: Server, who: str) -> list[dict[str, object]]:
    """What the echo endpoint recorded when the client ``who`` closed, once it has."""
    deadline = time.monotonic() + 5
    while not (found := [c for c in requests.get(server.url("/ws-closes"), timeout=5).json() if c["id"] == who]):
        assert time.monotonic() < deadline, "the app never saw the close"
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_echo_keeps_text_and_bytes_apart_at_every_size(server: Server, compression: str | None) -> None:
    with open_ws(server, "/ws/echo", compression=compression, max_size=2**20) as ws:
        for message in ["hello", "ünïcödé ✓", "w" * 100_000, os.urandom(10), os.urandom(500_000)]:
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_the_subprotocol_the_app_picks_is_agreed(server: Server) -> None:
    with open_ws(server, "/ws/echo", subprotocols=["other", "echo.v1"]) as ws:
        assert ws.subprotocol == "echo.v1"
    with open_ws(server, "/ws/echo", subprotocols=["other"]) as ws:
        assert ws.subprotocol is None


def test_the_app_sees_the_clients_close_code_and_reason(server: Server) -> None:
    who = f"closer-{os.urandom(4).hex()}"
    with open_ws(server, f"/ws/echo?id={who}") as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
        ws.close(4200, "gone fishing")
    assert closes(server, who) == [{"id": who, "code": 4200, "reason": "gone fishing"}]


def test_a_room_knows_the_user_logged_in_over_http(server: Server) -> None:
    with open_ws(server, "/ws/rooms/lobby?lang=en", additional_headers={"Cookie": login_cookies(server)}) as ws:
        assert ws.recv(timeout=5) == '{"room":"lobby","user":"ada","flavour":"oatmeal","lang":"en"}'
        ws.send('{"text": "hello all"}')
        assert ws.recv(timeout=5) == '{"from":"ada","said":{"text":"hello all"}}'


def test_members_only_refuses_with_the_apps_own_http_answer(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, "/ws/members")
    response = info.value.response
    assert (response.status_code, response.body) == (401, b"members only\n")
    assert response.headers["WWW-Authenticate"] == "Token"
    with open_ws(server, "/ws/members", additional_headers={"Authorization": "Token let-me-in"}) as ws:
        assert ws.recv(timeout=5) == "welcome, member"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert (ws.close_code, ws.close_reason) == (4000, "that is all")


@pytest.mark.parametrize("target", ["/ws/closed", "/ws/no-such-endpoint"])
def test_closing_before_accept_is_a_403(server: Server, target: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, target)
    assert info.value.response.status_code == 403


def test_a_crash_after_accept_closes_with_1011_and_tells_the_client_nothing(server: Server) -> None:
    with open_ws(server, "/ws/crash") as ws:
        assert ws.recv(timeout=5) == "about to crash"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1011 and "secret" not in ws.close_reason
    server.wait_for_stderr("the websocket handler failed")


def test_a_plain_http_request_to_a_websocket_endpoint_is_not_a_websocket(server: Server) -> None:
    assert requests.get(server.url("/ws/echo"), timeout=5).status_code in (403, 404)
