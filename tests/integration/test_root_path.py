"""--root-path: an app behind a proxy that strips a path prefix, over a real socket.

The test plays the proxy that received ``/prefix/whoami`` and forwarded
``/whoami``: heron puts the prefix back in front of the path, so the app
routes what follows it and every path it builds carries it.
"""

from __future__ import annotations

import requests

from .conftest import Serve
from .support import app_spec

WHOAMI = app_spec("whoami")


def test_root_path_is_the_prefix_of_the_request_path_and_url(serve: Serve) -> None:
    server = serve("--root-path", "/prefix/", app=WHOAMI)
    seen = requests.get(server.url("/whoami?x=1"), headers={"Host": "example.com"}, timeout=5).json()
    assert seen["root_path"] == "/prefix"
    assert (seen["path"], seen["raw_path"]) == ("/prefix/whoami", "/prefix/whoami")
    assert seen["url"] == "http://example.com/prefix/whoami?x=1"
    assert seen["url_for"] == "/prefix/whoami"


def test_mounted_apps_add_their_prefix_to_the_root_path(serve: Serve) -> None:
    server = serve("--root-path", "/prefix", app=WHOAMI)
    seen = requests.get(server.url("/api/users/7"), timeout=5).json()
    assert (seen["root_path"], seen["path"], seen["url_for"]) == ("/prefix/api", "/prefix/api/users/7",
                                                                  "/prefix/api/users/7")


def test_redirects_carry_the_prefix(serve: Serve) -> None:
    server = serve("--root-path", "/prefix", app=WHOAMI)
    built = requests.get(server.url("/to-whoami"), allow_redirects=False, timeout=5)
    assert built.headers["Location"] == "/prefix/whoami"
    slash = requests.get(server.url("/folder?a=1"), allow_redirects=False, timeout=5)
    assert (slash.status_code, slash.headers["Location"]) == (308, "/prefix/folder/?a=1")


def test_access_log_shows_the_target_as_received(serve: Serve) -> None:
    server = serve("--root-path", "/prefix", app=WHOAMI, access_log=True)
    requests.get(server.url("/whoami"), timeout=5)
    server.wait_for_stderr(r'"GET /whoami HTTP/1\.1" 200 ')


def test_without_root_path_nothing_changes(serve: Serve) -> None:
    server = serve(app=WHOAMI)
    seen = requests.get(server.url("/whoami"), timeout=5).json()
    assert (seen["root_path"], seen["path"], seen["url_for"]) == ("", "/whoami", "/whoami")


def test_root_path_and_proxy_headers_together_give_the_public_url(serve: Serve) -> None:
    server = serve("--root-path", "/shop", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", app=WHOAMI)
    seen = requests.get(server.url("/whoami"), timeout=5,
                        headers={"Host": "example.com", "X-Forwarded-Proto": "https"}).json()
    assert seen["url"] == "https://example.com/shop/whoami"


def test_bad_root_path_stops_the_server(serve: Serve) -> None:
    server = serve("--root-path", "/a/../b", app=WHOAMI, wait_ready=False)
    assert server.wait_exit(10) != 0
    assert "is not a path prefix like /app" in server.stderr()
