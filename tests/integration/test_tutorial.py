"""The tutorial's own checks, run against ``python3 -m heron`` as it tests its MyHTTPServer.

The "build your own HTTP server" tutorial ends with a script that asks
the finished server for six addresses with ``requests``; heron's demo
site is that server made real, so it must pass them as written: the same
requests, the same exact header values. On 127.0.0.1:8080, as the
tutorial runs it, when that port is free (another port otherwise: the
checks do not depend on it).
"""

from __future__ import annotations

import requests

from .conftest import Serve
from .support import Server, ServerDied
from .test_demo import port_8080_is_free


def demo_server(serve: Serve) -> Server:
    """``python3 -m heron`` exactly (port 8080) if that port is free, else the demo on a free port."""
    if port_8080_is_free():
        try:
            return serve(app=None, port=None)
        except ServerDied as exc:
            if "cannot listen on 127.0.0.1:8080" not in str(exc):  # taken since the check: any port will do
                raise
    return serve(app=None)


def test_the_tutorials_test_script_passes(serve: Serve) -> None:
    server = demo_server(serve)
    base = f"http://127.0.0.1:{server.port}"

    response = requests.get(f"{base}/", timeout=5)
    assert response.status_code == 200
    assert "MyHTTPServer" in response.text

    assert requests.get(f"{base}/about", timeout=5).status_code == 200

    response = requests.get(f"{base}/user/testuser", timeout=5)
    assert response.status_code == 200
    assert "testuser" in response.text

    response = requests.get(f"{base}/static/demo.html", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"

    response = requests.get(f"{base}/api/data", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert isinstance(data, dict) and "message" in data

    assert requests.get(f"{base}/nonexistent", timeout=5).status_code == 404
