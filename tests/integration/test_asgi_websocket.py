"""The ASGI ``websocket`` scope (ASGI WebSocket spec 2.4) as heron hosts it, over real loopback connections.

The app is tests/integration/apps/asgi_ws_probe.py, a plain ASGI callable;
the client is the ``websockets`` library. Frames, pings and limits are the
server's own and are tested in test_websocket.py: here, what the ASGI app
sees and what its messages become on the wire.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .conftest import Serve, ServerPool
from .support import ECHO_APPS, Server, app_spec, events, wait_events
from .test_tls import tls_flags

PROBE = app_spec("asgi_ws_probe")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("asgi-ws"))
    try:
        yield pool.start(app=PROBE)
    finally:
        pool.stop_all()


def open_ws(server: Server, target: str, **options: object) -> ClientConnection:
    url = f"ws://{server.host}:{server.port}{target}"
    return connect(url, open_timeout=5, close_timeout=5, **options)  # type: ignore[arg-type]


def refusal(server: Server, target: str) -> tuple[int, dict[str, str], bytes]:
    """The HTTP status, headers and body of a handshake the app does not accept."""
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, target)
    response = info.value.response
    return response.status_code, dict(response.headers.raw_items()), response.body or b""


# -- the scope ---------------------------------------------------------------------------------


def test_the_scope_says_websocket_and_carries_the_request(server: Server) -> None:
    with open_ws(server, "/scope?room=a%20b&x=1", subprotocols=["chat.v1", "chat.v2"],
                 additional_headers={"X-Hello": "world"}) as ws:
        scope = json.loads(ws.recv(timeout=5))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1000
    assert scope["type"] == "websocket" and scope["scheme"] == "ws"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/scope", "/scope", "room=a%20b&x=1")
    assert scope["http_version"] == "1.1" and scope["root_path"] == ""
    assert scope["subprotocols"] == ["chat.v1", "chat.v2"]
    assert scope["client"][0] == "127.0.0.1" and scope["server"] == ["127.0.0.1", server.port]
    headers = dict(scope["headers"])
    assert headers["x-hello"] == "world" and headers["upgrade"] == "websocket"
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert scope["types"]["raw_path"] == scope["types"]["query_string"] == "bytes"
    assert scope["types"]["subprotocols"] == "list"
    assert scope["state"] == ["started"]  # the lifespan's state, copied in
    assert scope["extensions"] == ["websocket.http.response"]


def test_the_scheme_is_wss_over_tls(serve: Serve, tmp_path: Path) -> None:
    ca = trustme.CA()
    server = serve(*tls_flags(ca, tmp_path), app=PROBE)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with connect(f"wss://localhost:{server.port}/scope", ssl=context, open_timeout=5, close_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["scheme"] == "wss"


# -- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_text_stays_text_and_bytes_stay_bytes(server: Server, compression: str | None) -> None:
    with open_ws(server, "/echo", compression=compression, max_size=2**20) as ws:
        assert ws.response.headers["X-Probe"] == "accepted"
        for message in ["", "héllo ✓ 𝄞", "t" * 70_000, b"", os.urandom(3), os.urandom(300_000)]:
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_the_subprotocol_the_app_accepts_is_the_one_agreed(server: Server) -> None:
    with open_ws(server, "/echo?subprotocol=chat.v2", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"


def test_connect_comes_first_and_disconnect_carries_the_clients_code_and_reason(server: Server, tag: str) -> None:
    with open_ws(server, f"/echo?tag={tag}") as ws:
        ws.send("one")
        assert ws.recv(timeout=5) == "one"
        ws.close(4100, "see you")
    found = wait_events(server, tag, lambda found: len(found) == 2)
    assert found == ["websocket.connect", {"type": "websocket.disconnect", "code": 4100, "reason": "see you"}]


def test_a_client_that_vanishes_is_a_disconnect_with_1006(server: Server, tag: str) -> None:
    with open_ws(server, f"/echo?tag={tag}") as ws:
        ws.socket.shutdown(socket.SHUT_RDWR)  # no closing handshake
    found = wait_events(server, tag, lambda found: len(found) == 2)
    assert found[1] == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


def test_the_apps_close_reaches_the_client_and_receive_then_says_disconnect(server: Server, tag: str) -> None:
    with open_ws(server, f"/server-close?tag={tag}") as ws:
        assert ws.recv(timeout=5) == b"bye"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert (ws.close_code, ws.close_reason) == (4001, "probe is done")
    assert wait_events(server, tag, lambda found: len(found) == 2)[1]["type"] == "websocket.disconnect"


def test_send_after_the_client_left_raises_an_oserror(server: Server, tag: str) -> None:
    with open_ws(server, f"/send-after-disconnect?tag={tag}") as ws:
        ws.close()
    assert wait_events(server, tag, lambda found: len(found) == 2)[1] == "OSError ClientDisconnected"


def test_a_client_leaving_mid_stream_surfaces_as_a_failed_send(server: Server, tag: str) -> None:
    with open_ws(server, f"/ticks?tag={tag}") as ws:
        assert ws.recv(timeout=5) == "tick 0"
    found = wait_events(server, tag, lambda found: len(found) == 3)
    assert found[1] == "send raised" and found[2]["type"] == "websocket.disconnect"


def test_an_app_failing_after_accept_closes_with_1011_logged_once(server: Server) -> None:
    with open_ws(server, "/raise-after-accept") as ws:
        assert ws.recv(timeout=5) == "about to fail"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1011
    logged = "ASGI app failed in a WebSocket session"
    server.wait_for_stderr("deliberate failure after accept")
    time.sleep(0.2)
    assert server.stderr().count(logged) == 1


def test_a_second_accept_is_an_error_in_the_app_and_the_session_goes_on(server: Server, tag: str) -> None:
    with open_ws(server, f"/accept-twice?tag={tag}") as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1000
    assert events(server, tag)[1].startswith("RuntimeError websocket.accept after")


# -- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "status"), [
    ("/close-before-accept", 403),
    ("/return-before-accept", 403),
    ("/raise-before-accept", 500),
    ("/no-such-path", 500),  # the probe's lookup fails: a KeyError before any answer
    ("/bad-accept-header", 500),  # the server refuses a header that would split the response
])
def test_a_handshake_the_app_does_not_accept_gets_an_http_error(server: Server, target: str, status: int) -> None:
    code, headers, body = refusal(server, target)
    assert code == status
    assert b"Traceback" not in body and b"stolen" not in body
    assert "stolen" not in str(headers)


def test_the_denial_response_extension_sends_the_apps_own_answer(server: Server) -> None:
    code, headers, body = refusal(server, "/denial")
    assert (code, body) == (401, b"members only\n")
    assert headers["www-authenticate"] == "Token" and headers["content-type"] == "text/plain"


def test_a_malformed_handshake_never_reaches_the_app(server: Server, tag: str) -> None:
    with server.connect() as sock:
        sock.sendall(f"GET /echo?tag={tag} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    assert events(server, tag) == []


# -- the server's limits hold for an ASGI app too (shutdown: test_websocket.py) --------------------------------


def test_a_message_over_max_websocket_message_closes_with_1009_and_the_app_sees_it(serve: Serve, tag: str) -> None:
    server = serve("--max-websocket-message", "1000", app=PROBE)
    with open_ws(server, f"/echo?tag={tag}", compression=None) as ws:
        ws.send(b"y" * 1000)
        assert ws.recv(timeout=5) == b"y" * 1000
        ws.send(b"y" * 1001)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1009
    found = wait_events(server, tag, lambda found: len(found) == 2)
    assert found[1]["code"] == 1009


def test_the_plain_asgi_echo_example_echoes_on_ws_and_refuses_elsewhere(serve: Serve) -> None:
    server = serve(app=ECHO_APPS["asgi"])
    with open_ws(server, "/ws") as ws:
        for message in ["text", b"bytes"]:
            ws.send(message)
            assert ws.recv(timeout=5) == message
    assert refusal(server, "/echo")[0] == 403
