"""The demo site's chat room (heron/demo/chat.py) over real WebSockets: what it sends, and its limits.

The ``websockets`` library plays the pages; raw sockets play the clients
that misbehave (a crowd that fills the room, a browser that stops reading).
test_demo_browser.py drives the page itself in two Chromium windows.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from heron.demo.chat import HISTORY, MAX_MEMBERS, MAX_NAME, MAX_TEXT

from .conftest import Serve
from .support import Server
from .test_websocket import UPGRADE, read_head


@pytest.fixture
def server(serve: Serve) -> Server:
    return serve(app=None)  # the demo site, as `python3 -m heron` serves it


def join(server: Server, name: str) -> ClientConnection:
    return connect(f"ws://{server.host}:{server.port}/chat/ws?name={name}", open_timeout=5, close_timeout=5)


def events(ws: ClientConnection) -> Iterator[dict[str, Any]]:
    while True:
        yield json.loads(ws.recv(timeout=5))


def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next event of type ``kind`` (others before it are skipped)."""
    return next(event for event in events(ws) if event["type"] == kind)


def test_a_message_reaches_everyone_in_the_room_and_joins_and_leaves_are_announced(server: Server) -> None:
    with join(server, "ada") as ada:
        assert next_of(ada, "welcome") == {"type": "welcome", "you": "ada", "members": ["ada"], "history": []}
        with join(server, "grace") as grace:
            assert next_of(grace, "welcome")["members"] == ["ada", "grace"]
            assert next_of(ada, "joined") == {"type": "joined", "name": "grace", "members": ["ada", "grace"]}
            grace.send("<script>alert('hi')</script> ünïcödé")
            for ws in (ada, grace):  # the sender gets its own message too, in the room's order
                message = next_of(ws, "message")
                assert (message["from"], message["text"]) == ("grace", "<script>alert('hi')</script> ünïcödé")
        assert next_of(ada, "left") == {"type": "left", "name": "grace", "members": ["ada"]}


def test_a_newcomer_gets_the_last_messages(server: Server) -> None:
    with join(server, "talker") as talker:
        next_of(talker, "welcome")
        for i in range(HISTORY + 5):
            talker.send(f"message {i}")
            next_of(talker, "message")
        with join(server, "late") as late:
            history = next_of(late, "welcome")["history"]
    assert [m["text"] for m in history] == [f"message {i}" for i in range(5, HISTORY + 5)]


@pytest.mark.parametrize(("wanted", "shown"), [
    ("", "guest"),
    ("%20%20", "guest"),
    ("a%07b%0Ac", "abc"),  # control characters are dropped
    ("x" * 40, "x" * MAX_NAME),
    ("Zo%C3%AB%20%20%20Smith", "Zoë Smith"),
])
def test_names_are_cleaned(server: Server, wanted: str, shown: str) -> None:
    with join(server, wanted) as ws:
        assert next_of(ws, "welcome")["you"] == shown


def test_a_name_already_taken_gets_a_number(server: Server) -> None:
    with join(server, "ada") as first, join(server, "ada") as second, join(server, "ada") as third:
        assert [next_of(ws, "welcome")["you"] for ws in (first, second, third)] == ["ada", "ada 2", "ada 3"]


def test_a_message_too_long_is_refused_to_its_sender_alone_and_binary_is_ignored(server: Server) -> None:
    with join(server, "ada") as ada, join(server, "grace") as grace:
        next_of(ada, "welcome")
        next_of(grace, "welcome")
        grace.send("x" * (MAX_TEXT + 1))
        assert next_of(grace, "error")["text"] == f"a message is at most {MAX_TEXT} characters"
        grace.send(b"binary is not chat")
        grace.send("x" * MAX_TEXT)
        assert next_of(ada, "message")["text"] == "x" * MAX_TEXT  # the first message Ada sees


def raw_member(server: Server, name: str, receive_buffer: int | None = None) -> socket.socket:
    """A member that completes the handshake and then never reads."""
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect((server.host, server.port))
    head = [f"GET /chat/ws?name={name} HTTP/1.1", "Host: t", *UPGRADE, "Sec-WebSocket-Version: 13", "", ""]
    sock.sendall("\r\n".join(head).encode())
    assert read_head(sock)[0] == 101
    return sock


def test_a_full_room_refuses_the_handshake_with_503(server: Server) -> None:
    with ExitStack() as stack:
        for i in range(MAX_MEMBERS):
            stack.enter_context(raw_member(server, f"m{i}"))
        with pytest.raises(InvalidStatus) as info:
            join(server, "one-too-many")
        assert info.value.response.status_code == 503


def test_a_member_that_stops_reading_is_dropped_and_the_room_goes_on(server: Server) -> None:
    with raw_member(server, "sleeper", receive_buffer=4096), join(server, "talker") as talker:
        next_of(talker, "welcome")
        deadline = time.monotonic() + 30
        while True:
            talker.send("z" * MAX_TEXT)
            event = next(event for event in events(talker) if event["type"] in ("message", "left"))
            if event["type"] == "left":
                break
            assert time.monotonic() < deadline, "the sleeper was never dropped"
        assert event == {"type": "left", "name": "sleeper", "members": ["talker"]}
        talker.send("still here")
        texts = (event["text"] for event in events(talker) if event["type"] == "message")
        assert set(itertools.takewhile(lambda text: text != "still here", texts)) <= {"z" * MAX_TEXT}
