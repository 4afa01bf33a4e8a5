"""``--loop``: the same connection behaviour on the asyncio loop and on uvloop."""

from __future__ import annotations

import pytest
import requests

from .conftest import Serve
from .support import ResponseReader, app_spec, get, post, request

pytest.importorskip("uvloop")

LOOPS = [("asyncio", "asyncio"), ("uvloop", "uvloop")]


@pytest.mark.parametrize(("flag", "module"), LOOPS)
def test_loop_flag_selects_the_event_loop(serve: Serve, flag: str, module: str) -> None:
    server = serve("--loop", flag, app=app_spec("slow"))
    text = requests.get(server.url("/loop"), timeout=5).text
    assert text.strip().split(".")[0] == module


def test_auto_prefers_uvloop_when_installed(serve: Serve) -> None:
    server = serve("--loop", "auto", app=app_spec("slow"))
    assert requests.get(server.url("/loop"), timeout=5).text.startswith("uvloop")


@pytest.mark.parametrize("flag", [flag for flag, _ in LOOPS])
def test_pipelined_keepalive_exchange_is_the_same_on_every_loop(serve: Serve, flag: str) -> None:
    server = serve("--loop", flag)
    chunked = request("POST", "/echo", [("Transfer-Encoding", "chunked")], b"3\r\nabc\r\n0\r\n\r\n")
    expect = request("POST", "/echo", [("Content-Length", "4"), ("Expect", "100-continue")], b"wxyz")
    with server.connect() as sock:
        sock.sendall(get("/plaintext") + post("/echo", b"hello") + chunked + request("HEAD", "/plaintext"))
        reader = ResponseReader(sock)
        plain, echoed, dechunked, head = (reader.read(), reader.read(), reader.read(), reader.read("HEAD"))
        sock.sendall(expect)
        continued = reader.read()
    assert plain.body == b"Hello, World!"
    assert echoed.json()["body_len"] == 5
    assert dechunked.json()["body_len"] == 3
    assert head.status == 200 and head.body == b""
    assert continued.status == 200 and continued.json()["body_len"] == 4
