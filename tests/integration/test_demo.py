"""``python3 -m heron`` with no arguments serves the demo site on 127.0.0.1:8080."""

from __future__ import annotations

import socket

import pytest
import requests

from .conftest import Serve
from .support import ServerDied


def port_8080_is_free() -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", 8080))
        except OSError:
            return False
    return True


def test_no_arguments_serve_the_demo_site_on_port_8080(serve: Serve) -> None:
    if not port_8080_is_free():
        pytest.skip("port 8080 is in use")
    try:
        server = serve(app=None, port=None, access_log=True)  # exactly `python3 -m heron`
    except ServerDied as exc:
        if "cannot listen on 127.0.0.1:8080" in str(exc):  # taken since the check above
            pytest.skip("port 8080 is in use")
        raise
    assert (server.host, server.port) == ("127.0.0.1", 8080)
    assert "serving the demo site" in server.stderr()
    home = requests.get("http://127.0.0.1:8080/", timeout=5)
    assert home.status_code == 200
    assert home.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>heron</h1>" in home.text
    user = requests.get("http://127.0.0.1:8080/user/ada", timeout=5)
    assert "Hello, ada!" in user.text
    escaped = requests.get("http://127.0.0.1:8080/user/%3Cb%3E", timeout=5)
    assert "Hello, &lt;b&gt;!" in escaped.text
    data = requests.get("http://127.0.0.1:8080/api/data", timeout=5)
    assert data.headers["Content-Type"] == "application/json"
    assert data.json() == {"server": "heron", "path": "/api/data", "items": [1, 2, 3]}
    server.wait_for_stderr(r'"GET /api/data HTTP/1\.1" 200')
