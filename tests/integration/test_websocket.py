"""WebSocket routes over real connections: the ``websockets`` library as the client, raw sockets for what it will not send.

The app is tests/integration/apps/websockets_app.py; it notes on stderr
what its handlers saw, which the tests wait for.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .conftest import Serve, ServerPool
from .support import Server, app_spec, recv_until_close

APP = app_spec("websockets_app")
KEY = base64.b64encode(os.urandom(16)).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("ws"))
    try:
        yield pool.start(app=APP)
    finally:
        pool.stop_all()


def ws_url(server: Server, path: str) -> str:
    return f"ws://{server.host}:{server.port}{path}"


def open_ws(server: Server, path: str, **options: object) -> ClientConnection:
    return connect(ws_url(server, path), open_timeout=5, close_timeout=5, **options)  # type: ignore[arg-type]


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_text_and_binary_messages_of_every_size_come_back_as_sent(server: Server, compression: str | None) -> None:
    with open_ws(server, "/echo", compression=compression, max_size=2**20) as ws:
        negotiated = ws.response.headers.get("Sec-WebSocket-Extensions")
        assert (negotiated is not None) == (compression == "deflate")
        for message in ["", "héllo wörld ✓ 𝄞", "x" * 125, "y" * 126, "z" * 65536, os.urandom(1), os.urandom(70_000),
                        b"\x00" * 500_000]:
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_the_client_sees_its_close_code_and_the_handler_sees_it_too(server: Server) -> None:
    with open_ws(server, "/echo") as ws:
        ws.send("one")
        assert ws.recv(timeout=5) == "one"
        ws.close(4321, "leaving now")
    assert ws.close_code == 4321
    server.wait_for_stderr(r"wsapp: closed 4321 'leaving now'")


def test_a_ping_is_answered_with_a_pong_carrying_its_payload(server: Server) -> None:
    with open_ws(server, "/echo") as ws:
        assert ws.ping(b"are you there").wait(5)


def test_route_parameters_subprotocols_query_and_headers_reach_the_handler(server: Server) -> None:
    with open_ws(server, "/rooms/42?lang=en", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.response.headers["X-Room"] == "42"
        assert ws.recv(timeout=5) == '{"room":42,"subprotocol":"chat.v2","query":"lang=en"}'
        ws.send('{"a": [1, 2]}')
        assert ws.recv(timeout=5) == '{"got":{"a":[1,2]}}'
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 4000 and ws.close_reason == "done"


def test_the_same_path_answers_plain_http_from_its_http_route(server: Server) -> None:
    import requests

    assert requests.get(server.url("/rooms/7"), timeout=5).text == "room 7 over HTTP\n"


def test_a_binary_only_route_closes_with_1003_on_text(server: Server) -> None:
    with open_ws(server, "/binary-only") as ws:
        ws.send("text, not bytes")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1003


def test_a_handler_that_fails_after_accept_closes_with_1011(server: Server) -> None:
    with open_ws(server, "/fails") as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1011
    server.wait_for_stderr("deliberate failure after accept")


def test_a_burst_of_small_messages_arrives_whole_in_order_and_before_the_close(server: Server) -> None:
    """Small frames sent in one turn of the loop leave together; control frames keep their place."""
    with open_ws(server, "/burst?count=2000") as ws:
        texts = [ws.recv(timeout=5) for _ in range(2000)]
        assert texts == [f"{i:05d}" + "." * 95 for i in range(2000)]
        assert ws.recv(timeout=5) == b"end"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (1000, "burst done")


def test_the_server_starts_the_closing_handshake_and_the_handler_sees_it_answered(server: Server) -> None:
    with open_ws(server, "/server-closes") as ws:
        assert ws.recv(timeout=5) == "bye"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert (ws.close_code, ws.close_reason) == (1000, "server says bye")
    server.wait_for_stderr(r"wsapp: close answered 1000")


# -- refusing the handshake ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/refuse", 403), ("/teapot", 418), ("/private", 401), ("/nowhere", 404)])
def test_a_handshake_refused_before_accept_gets_an_http_answer(server: Server, path: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, path)
    assert info.value.response.status_code == status


def test_a_handshake_with_credentials_is_accepted(server: Server) -> None:
    with open_ws(server, "/private", additional_headers={"Authorization": "Bearer t0ken"}) as ws:
        assert ws.recv(timeout=5) == "welcome"


def raw_handshake(server: Server, *fields: str, path: str = "/echo") -> socket.socket:
    sock = server.connect()
    head = [f"GET {path} HTTP/1.1", "Host: t", *fields, "", ""]
    sock.sendall("\r\n".join(head).encode("latin-1"))
    return sock


def read_head(sock: socket.socket) -> tuple[int, str, bytes]:
    """(status, head, what came after it) of the response that starts on ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed before a whole head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode("latin-1"), rest


UPGRADE = ("Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}")


@pytest.mark.parametrize(("fields", "status", "says"), [
    ((*UPGRADE, "Sec-WebSocket-Version: 8"), 426, "Sec-WebSocket-Version must be 13"),
    (UPGRADE, 426, "Sec-WebSocket-Version must be 13"),
    (("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"), 400, "Sec-WebSocket-Key"),
    (("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: c2hvcnQ=", "Sec-WebSocket-Version: 13"),
     400, "Sec-WebSocket-Key"),
    (("Upgrade: websocket", "Connection: keep-alive", f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13"),
     400, "Connection"),
    ((*UPGRADE, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: chat, caf\xe9"), 400, "Sec-WebSocket-Protocol"),
    ((*UPGRADE, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Extensions: ;;"), 400, "Sec-WebSocket-Extensions"),
])
def test_a_malformed_handshake_gets_400_or_426_saying_what_is_wrong(server: Server, fields: tuple[str, ...],
                                                                    status: int, says: str) -> None:
    with raw_handshake(server, *fields) as sock:
        code, head, rest = read_head(sock)
        body = rest if b"\n" in rest else rest + sock.recv(4096)
    assert code == status and says in body.decode("latin-1")
    if status == 426:
        assert "Sec-WebSocket-Version: 13" in head


# -- frames that break the protocol ------------------------------------------------------------------


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    length = bytes([n]) if n < 126 else (bytes([126]) + struct.pack("!H", n) if n < 65536
                                         else bytes([127]) + struct.pack("!Q", n))
    if not masked:
        return bytes([first, length[0]]) + length[1:] + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([first, length[0] | 0x80]) + length[1:] + key + body


def opened(server: Server, path: str = "/echo") -> tuple[socket.socket, bytes]:
    """A raw socket past the 101, and what came right after the head (frames the handler sent at once)."""
    sock = raw_handshake(server, *UPGRADE, "Sec-WebSocket-Version: 13", path=path)
    code, _, rest = read_head(sock)
    assert code == 101
    return sock, rest


def close_code_of(data: bytes) -> int:
    """The code of the server's close frame at the end of ``data``."""
    at = data.rfind(b"\x88")
    assert at >= 0, f"no close frame in {data!r}"
    return int.from_bytes(data[at + 2:at + 4], "big")


@pytest.mark.parametrize(("frame", "code"), [
    (client_frame(1, b"not masked", masked=False), 1002),
    (client_frame(1, b"x", rsv=0x20), 1002),
    (client_frame(3, b"reserved opcode"), 1002),
    (client_frame(9, b"p" * 126), 1002),
    (client_frame(9, b"p", fin=False), 1002),
    (client_frame(0, b"nothing to continue"), 1002),
    (client_frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 1007),
    (client_frame(8, b"\x03\xed"), 1002),  # close code 1005 may not be sent
    (client_frame(2, b"x", rsv=0x40), 1002),  # RSV1 without permessage-deflate
], ids=["unmasked", "rsv2", "opcode-3", "long-ping", "fragmented-ping", "stray-continuation", "bad-utf8",
        "close-1005", "rsv1"])
def test_a_frame_that_breaks_the_protocol_closes_with_its_code_and_the_server_serves_on(
        server: Server, frame: bytes, code: int) -> None:
    sock, _ = opened(server)
    with sock:
        sock.sendall(frame)
        received = recv_until_close(sock, 5.0)
    assert received.closed and close_code_of(received.data) == code
    with open_ws(server, "/echo") as ws:  # everyone else is still served
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked, short server frame in ``data``."""
    frames = []
    while data:
        opcode, length = data[0] & 0x0F, data[1]
        assert length < 126, data[:16]
        frames.append((opcode, data[2:2 + length]))
        data = data[2 + length:]
    return frames


def test_messages_that_came_before_a_broken_frame_are_still_answered_then_the_close_says_why(
        server: Server) -> None:
    """Autobahn 3.2 and 4.1.3: the app takes what arrived whole; nothing after the broken frame is read."""
    sock, _ = opened(server)
    with sock:
        sock.sendall(client_frame(1, b"first") + client_frame(2, b"second") + client_frame(1, b"x", rsv=0x20)
                     + client_frame(9, b"never read"))
        received = recv_until_close(sock, 5.0)
    assert received.closed
    assert server_frames(received.data) == [(1, b"first"), (2, b"second"),
                                            (8, (1002).to_bytes(2, "big") + b"reserved bits RSV2 or RSV3 set")]


def test_a_broken_frame_behind_messages_the_app_never_takes_closes_after_websocket_close_timeout(
        serve: Serve) -> None:
    server = serve("--websocket-close-timeout", "0.4", app=APP)
    sock, _ = opened(server, "/sleepy")
    server.wait_for_stderr("wsapp: sleepy accepted")
    with sock:
        started = time.monotonic()
        sock.sendall(client_frame(1, b"unread") + client_frame(3, b"reserved opcode"))
        received = recv_until_close(sock, 5.0)
        elapsed = time.monotonic() - started
    assert received.closed and close_code_of(received.data) == 1002
    assert 0.3 <= elapsed < 2.0


def test_a_message_over_max_websocket_message_closes_with_1009_before_it_is_held(serve: Serve) -> None:
    server = serve("--max-websocket-message", "1000", app=APP)
    sock, _ = opened(server)
    with sock:
        sock.sendall(client_frame(2, b"x" * 1001)[:20])  # the header says enough
        received = recv_until_close(sock, 5.0)
    assert received.closed and close_code_of(received.data) == 1009
    with open_ws(server, "/echo", compression=None) as ws:
        ws.send(b"y" * 1000)
        assert ws.recv(timeout=5) == b"y" * 1000


# -- timeouts, back-pressure, shutdown --------------------------------------------------------------


def test_a_quiet_client_is_pinged_and_dropped_with_1011_when_it_does_not_answer(serve: Serve) -> None:
    server = serve("--websocket-ping-interval", "0.3", "--websocket-ping-timeout", "0.3", app=APP)
    sock, _ = opened(server)
    with sock:
        started = time.monotonic()
        received = recv_until_close(sock, 5.0)
        elapsed = time.monotonic() - started
    assert received.data.startswith(b"\x89\x00")  # the ping, empty
    assert received.closed and close_code_of(received.data) == 1011
    assert 0.5 <= elapsed < 2.0


def test_a_client_that_answers_pings_stays_connected(serve: Serve) -> None:
    server = serve("--websocket-ping-interval", "0.2", "--websocket-ping-timeout", "0.2", app=APP)
    with open_ws(server, "/echo") as ws:  # the websockets client answers pings by itself
        time.sleep(1.0)
        ws.send("alive")
        assert ws.recv(timeout=5) == "alive"


def test_a_close_the_client_never_answers_ends_after_websocket_close_timeout(serve: Serve) -> None:
    server = serve("--websocket-close-timeout", "0.4", app=APP)
    sock, rest = opened(server, "/server-closes")
    with sock:
        started = time.monotonic()
        received = recv_until_close(sock, 5.0)
        elapsed = time.monotonic() - started
    assert received.closed and close_code_of(rest + received.data) == 1000
    assert 0.3 <= elapsed < 2.0


def test_a_handshake_the_app_never_answers_is_dropped_after_websocket_handshake_timeout(serve: Serve) -> None:
    server = serve("--websocket-handshake-timeout", "0.4", app=APP)
    with raw_handshake(server, *UPGRADE, "Sec-WebSocket-Version: 13", path="/slow-accept") as sock:
        started = time.monotonic()
        received = recv_until_close(sock, 5.0)
        elapsed = time.monotonic() - started
    assert received.closed and received.data == b""
    assert 0.3 <= elapsed < 2.0


def test_messages_the_app_does_not_read_stop_the_reading_instead_of_piling_up(serve: Serve) -> None:
    """max_websocket_queue messages wait for the app; then the socket is not read, and the client must wait."""
    server = serve("--max-websocket-queue", "4", app=APP)
    sock, _ = opened(server, "/sleepy")
    server.wait_for_stderr("wsapp: sleepy accepted")
    frame = client_frame(2, b"m" * 65536)
    sent = 0
    with sock:
        sock.settimeout(1.0)
        try:
            while sent < 256 * 1024 * 1024:
                sent += sock.send(frame)
        except TimeoutError:  # the server stopped reading: the kernel's buffers are full
            pass
    assert sent < 64 * 1024 * 1024, f"the server took {sent} bytes the app never read"


@pytest.mark.parametrize("app", [APP, app_spec("asgi_ws_probe")], ids=["heron", "asgi"])
def test_graceful_shutdown_closes_every_websocket_with_1001(serve: Serve, app: str) -> None:
    server = serve(app=app)
    with open_ws(server, "/echo") as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        server.signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1001
    assert server.wait_exit(10) == 0


def test_websockets_count_against_max_connections(serve: Serve) -> None:
    server = serve("--max-connections", "2", app=APP)
    with open_ws(server, "/echo"), open_ws(server, "/echo"):
        with pytest.raises(InvalidStatus) as info:
            open_ws(server, "/echo")
        assert info.value.response.status_code == 503


def test_the_access_log_records_a_websocket_as_101(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=APP, access_log=True)
    with open_ws(server, "/echo") as ws:
        ws.send("x")
        ws.recv(timeout=5)
    server.wait_for_stderr(r'"GET /echo HTTP/1\.1" 101 - ')
