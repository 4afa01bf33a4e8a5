"""A closed connection is freed at once: it leaves no reference cycle behind for the garbage collector.

Short connections are the common case behind a proxy; each one left in a
cycle would stay in memory until the collector found it, and the
collector's passes would grow with the connections served. The app turns
the collector off, so a connection still in memory after its client left
is one that only the collector could have freed.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

from .conftest import Serve
from .support import app_spec, get


def _alive(port: int) -> int:
    """How many connection objects the server holds, this request's own included."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/alive", headers={"Connection": "close"})
        return int(json.loads(conn.getresponse().read())["connections"])
    finally:
        conn.close()


def _settled(port: int, timeout: float = 5.0) -> int:
    """The count once the server has seen every earlier close (``connection_lost`` comes a turn later)."""
    deadline = time.monotonic() + timeout
    while True:
        count = _alive(port)
        if count <= 1 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_closed_connections_leave_nothing_behind(serve: Serve) -> None:
    server = serve(app=app_spec("connections_alive"))
    for _ in range(20):  # the server closes: Connection: close
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", "/plaintext", headers={"Connection": "close"})
        assert conn.getresponse().read() == b"Hello, World!"
        conn.close()
    for _ in range(10):  # the client closes after two requests on a kept-alive connection
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        for _ in range(2):
            conn.request("GET", "/plaintext")
            assert conn.getresponse().read() == b"Hello, World!"
        conn.close()
    for _ in range(10):  # the client leaves before a whole request: its header timer was running
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(get("/plaintext")[:10])
    assert _settled(server.port) == 1
